/**
 * `mcast mesh --metrics` on real namespaced nodes: three nodes on one
 * bridge, node 1 serving its metrics on its own 127.0.0.1; while they run,
 * its page (fetched inside its namespace) is the matrix of an interval it
 * printed around the scrape: every ordered pair's multicast and unicast
 * loss ratio and round trips as that interval said them, the 3 hosts, the
 * probes it sent; promtool passes the page.
 *
 * Network safety: everything runs in namespaces the lab makes and removes
 * (lab addresses 10.77.1.0/24), TTL 1, every run bounded in count and time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host } from "../../lab/lab.ts";
import type { MeshIntervalEvent } from "../../lib/mesh/events.ts";
import { ROOT } from "../support/cli_process.ts";
import { HAS_PROMETHEUS, promtoolCheck } from "../support/prometheus.ts";

const DENO = Deno.execPath();
const CLI = `${ROOT}/cli.ts`;
/** The longest a node may run: 100 probes 500 ms apart, and its start. */
const RUN_MS = 90_000;

/** The page at `url`, fetched inside `host`'s namespace. */
async function scrapeIn(host: Host, url: string): Promise<string> {
  const result = await host.run([
    DENO,
    "eval",
    `const r = await fetch(${JSON.stringify(url)}); ` +
    `if (!r.ok) Deno.exit(1); await Deno.stdout.write(new TextEncoder().encode(await r.text()));`,
  ], { timeoutMs: 30_000 });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

/** The value of each sample of `metric` on `page`, by its label text. */
function samples(page: string, metric: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of page.split("\n")) {
    const match = new RegExp(`^${metric}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) found.set(match[1] ?? "", Number(match[2]));
  }
  return found;
}

netnsTest(
  "metrics: mesh --metrics serves the latest matrix of 3 namespaced nodes: loss ratio and RTT per pair and kind, promtool passes",
  async () => {
    // Compiled once before three nodes start at once on a busy machine.
    const warm = await new Deno.Command(DENO, {
      args: ["run", "-A", "--unstable-net", CLI, "mesh", "--help"],
      stdout: "null",
    }).output();
    assert.equal(warm.code, 0);
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const addresses = ["10.77.1.1", "10.77.1.2", "10.77.1.3"];
    const hosts: Host[] = [];
    for (const [i, address] of addresses.entries()) {
      hosts.push(
        await lab.host(`n${i + 1}`, { segment: lan, address: `${address}/24` }),
      );
    }
    const group = "239.77.23.1";
    const procs = hosts.map((host, i) =>
      host.spawn([
        ...[DENO, "run", "-A", "--unstable-net", CLI, "mesh"],
        ...["--json", "-g", group, "-p", "42301", "-i", "eth0"],
        ...["--interval", "500ms", "-c", "100", "--expect", "3"],
        ...(i === 0 ? ["--metrics", "127.0.0.1:9464"] : []),
      ], { timeoutMs: RUN_MS })
    );
    const ready = (line: string) => line.startsWith('{"event":"ready"');
    await Promise.all(procs.map((proc) => proc.waitForLine(ready, 30_000)));
    // Node 1 has heard the other two.
    await procs[0].waitForLine((line) => {
      if (!line.startsWith('{"event":"interval"')) return false;
      const event = JSON.parse(line);
      return event.hosts.length === 3 &&
        event.pairs.some((pair: Record<string, unknown>) =>
          pair.multicastLossPercent !== null
        );
    }, 45_000);
    const intervals = () =>
      procs[0].lines.filter((line) => line.startsWith('{"event":"interval"'));
    const before = intervals().length;
    const page = await scrapeIn(hosts[0], "http://127.0.0.1:9464/metrics");
    // The page is one of the intervals node 1 printed around the scrape:
    // every pair's loss ratio and round trips as that interval said.
    const around = intervals().slice(before - 1).map((line) =>
      JSON.parse(line) as MeshIntervalEvent
    );
    const loss = samples(page, "mcast_mesh_loss_ratio");
    const p50 = samples(page, "mcast_mesh_rtt_p50_seconds");
    const expected = (event: MeshIntervalEvent) => {
      const ratios = new Map<string, number>();
      const rtts = new Map<string, number>();
      for (const pair of event.pairs) {
        for (const kind of ["multicast", "unicast"] as const) {
          const labels = `{from="${pair.from}",to="${pair.to}",kind="${kind}"}`;
          const percent = pair[`${kind}LossPercent`];
          if (percent !== null) ratios.set(labels, percent / 100);
          const rtt = pair[`${kind}RttMs`];
          if (rtt !== null) rtts.set(labels, rtt.p50 / 1000);
        }
      }
      return { ratios, rtts };
    };
    const same = (a: Map<string, number>, b: Map<string, number>) =>
      a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
    assert.ok(
      around.some((event) => {
        const { ratios, rtts } = expected(event);
        return same(ratios, loss) && same(rtts, p50) &&
          samples(page, "mcast_mesh_hosts").get("") === event.hosts.length &&
          samples(page, "mcast_mesh_probes_sent_total").get("") ===
            event.probesSent;
      }),
      `the page matches none of the ${around.length} intervals around it\n${page}`,
    );
    assert.ok(loss.size > 0, page);
    for (const labels of loss.keys()) {
      assert.ok(
        addresses.some((a) => labels.includes(`from="${a}"`)),
        labels,
      );
    }
    assert.equal(samples(page, "mcast_mesh_hosts").get(""), 3);
    assert.equal(samples(page, "mcast_mesh_pairs_left_out").get(""), 0);
    assert.equal(
      samples(page, "mcast_mesh_info").get(`{self="${addresses[0]}"}`),
      1,
    );
    if (HAS_PROMETHEUS) {
      const check = await promtoolCheck(page);
      assert.ok(check.ok, `${check.output}\n${page}`);
    }
    // Every node ends with its matrix, node 1 closing its endpoint.
    for (const proc of procs) {
      const stopped = await proc.stop("SIGINT", 10_000);
      assert.ok(stopped.code <= 1, stopped.stderr);
      assert.match(stopped.stdout, /"event":"matrix"/);
    }
  },
);
