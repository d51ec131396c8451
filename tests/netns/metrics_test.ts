/**
 * `mcast mesh --metrics` on real namespaced nodes: three nodes on one
 * bridge, node 1 serving its metrics on its own 127.0.0.1; while they run,
 * its page (fetched inside its namespace) holds the matrix of its latest
 * interval: every ordered pair's multicast and unicast loss ratio and
 * round trips, the 3 hosts, the probes it sent; promtool passes the page.
 *
 * Network safety: everything runs in namespaces the lab makes and removes
 * (lab addresses 10.77.1.0/24), TTL 1, every run bounded in count and time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host } from "../../lab/lab.ts";
import { meshAddress, meshHosts } from "../../lab/mesh_hosts.ts";
import { ROOT } from "../support/cli_process.ts";
import { HAS_PROMETHEUS, promtoolCheck } from "../support/prometheus.ts";

const DENO = Deno.execPath();
const RUN_MS = 60_000;

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
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const hosts = await meshHosts(lab, lan, 3);
    const addresses = hosts.map((_, i) => meshAddress(i + 1));
    const group = "239.77.23.1";
    const procs = hosts.map((host, i) =>
      host.spawn([
        ...[DENO, "run", "-A", "--unstable-net", `${ROOT}/cli.ts`, "mesh"],
        ...["--json", "-g", group, "-p", "42301", "-i", "eth0"],
        ...["--interval", "300ms", "-c", "60", "--expect", "3"],
        ...(i === 0 ? ["--metrics", "127.0.0.1:9464"] : []),
      ], { timeoutMs: RUN_MS })
    );
    // Node 1 has measured every pair both ways.
    await procs[0].waitForLine((line) => {
      if (!line.startsWith('{"event":"interval"')) return false;
      const event = JSON.parse(line);
      return event.hosts.length === 3 &&
        event.pairs.every((pair: Record<string, unknown>) =>
          pair.multicastLossPercent !== null && pair.multicastRttMs !== null
        );
    }, 30_000);
    const page = await scrapeIn(hosts[0], "http://127.0.0.1:9464/metrics");
    const loss = samples(page, "mcast_mesh_loss_ratio");
    const p50 = samples(page, "mcast_mesh_rtt_p50_seconds");
    for (const from of addresses) {
      for (const to of addresses) {
        if (from === to) continue;
        const labels = `{from="${from}",to="${to}",kind="multicast"}`;
        const ratio = loss.get(labels);
        assert.ok(
          ratio !== undefined && ratio >= 0 && ratio <= 1,
          `${labels} ${ratio}\n${page}`,
        );
        const rtt = p50.get(labels);
        assert.ok(
          rtt !== undefined && rtt > 0 && rtt < 1,
          `${labels} rtt ${rtt}`,
        );
      }
    }
    assert.equal(
      [...loss.keys()].filter((labels) => labels.includes('kind="multicast"'))
        .length,
      6,
    );
    assert.equal(samples(page, "mcast_mesh_hosts").get(""), 3);
    assert.equal(samples(page, "mcast_mesh_pairs_left_out").get(""), 0);
    assert.ok(samples(page, "mcast_mesh_probes_sent_total").get("")! > 0);
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
