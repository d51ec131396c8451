// --metrics HOST:PORT: the page in Prometheus's text format (checked by
// promtool), the endpoint (a taken port, a bad address), the launcher's
// grant, and the real Prometheus server scraping a listener every second
// and answering queries on what the test made happen. Loopback only:
// groups 239.64.x.x, ports 64001-64099 (UDP); metrics on free TCP ports
// of 127.0.0.1; Prometheus on 127.0.0.1, its files removed after.
import assert from "node:assert/strict";
import { parseMetricsAddress } from "../cli/metrics/address.ts";
import {
  MetricsEndpoint,
  MetricsEndpointError,
} from "../cli/metrics/endpoint.ts";
import { Exposition } from "../cli/metrics/exposition.ts";
import { listenPage } from "../cli/metrics/listen_metrics.ts";
import { meshPage } from "../cli/metrics/mesh_metrics.ts";
import {
  MAX_RESPONDERS_TRACKED,
  RTT_BOUNDS_SECONDS,
  sendPage,
} from "../cli/metrics/send_metrics.ts";
import type { MeshIntervalEvent, MeshPair } from "../lib/mesh/events.ts";
import { RoundTripStats } from "../lib/sender/round_trip_stats.ts";
import { permissionsFor } from "../cli/launch.ts";
import { UsageError } from "../cli/usage_error.ts";
import { newListenerStats } from "../lib/plugin.ts";
import { onLoopback, runMcast, startListener } from "./support/cli_process.ts";
import { tempDir } from "./support/temp_dir.ts";
import {
  freeTcpPort,
  HAS_PROMETHEUS,
  PrometheusServer,
  promtoolCheck,
} from "./support/prometheus.ts";
import { denoTask, TaskRun } from "./support/task_process.ts";

const ON_CI = Deno.env.get("CI") === "true";
if (!HAS_PROMETHEUS) {
  console.warn(
    `metrics_test: no prometheus/promtool on PATH: their tests are ${
      ON_CI ? "run and fail (CI must install them)" : "skipped"
    } (apt-get install prometheus)`,
  );
}
/** Tests that need Prometheus's programs: skipped without them, except on CI. */
const needsPrometheus = { ignore: !HAS_PROMETHEUS && !ON_CI };

/** A page with every kind of metric, label values that need escaping. */
function samplePage(): string {
  const page = new Exposition();
  page.counter("mcast_test_total", "A counter.\nSecond line \\ backslash.", [
    { labels: { reason: 'quote " backslash \\ newline \n' }, value: 2 },
    { labels: { reason: "plain" }, value: 1e21 },
  ]);
  page.gauge("mcast_test_ratio", "A gauge.", [{ value: 0.125 }]);
  page.histogram("mcast_test_seconds", "A histogram.", [{
    labels: { responder: "[::1]:10000" },
    bounds: [0.00002, 0.001, 1],
    cumulative: [1, 3, 4],
    count: 5,
    sum: 12.5,
  }]);
  return page.text();
}

Deno.test("metrics: the page's lines, escaped as the format says", () => {
  const lines = samplePage().split("\n");
  assert.deepEqual(lines.slice(0, 5), [
    "# HELP mcast_test_total A counter.\\nSecond line \\\\ backslash.",
    "# TYPE mcast_test_total counter",
    'mcast_test_total{reason="quote \\" backslash \\\\ newline \\n"} 2',
    'mcast_test_total{reason="plain"} 1e+21',
    "# HELP mcast_test_ratio A gauge.",
  ]);
  assert.deepEqual(lines.slice(7), [
    "# HELP mcast_test_seconds A histogram.",
    "# TYPE mcast_test_seconds histogram",
    'mcast_test_seconds_bucket{responder="[::1]:10000",le="0.00002"} 1',
    'mcast_test_seconds_bucket{responder="[::1]:10000",le="0.001"} 3',
    'mcast_test_seconds_bucket{responder="[::1]:10000",le="1"} 4',
    'mcast_test_seconds_bucket{responder="[::1]:10000",le="+Inf"} 5',
    'mcast_test_seconds_sum{responder="[::1]:10000"} 12.5',
    'mcast_test_seconds_count{responder="[::1]:10000"} 5',
    "",
  ]);
});

Deno.test("metrics: the writer refuses what the format does not allow", () => {
  const page = new Exposition();
  assert.throws(() => page.counter("mcast_x", "no _total", 1), /_total/);
  assert.throws(() => page.gauge("9lives", "bad name", 1), /metric name/);
  assert.throws(
    () =>
      page.gauge("mcast_y", "bad label", [{ labels: { "a-b": "" }, value: 1 }]),
    /label name "a-b"/,
  );
  page.gauge("mcast_z", "once", 1);
  assert.throws(() => page.gauge("mcast_z", "twice", 1), /twice/);
});

Deno.test({
  name:
    "metrics: promtool check metrics passes the page, and fails a broken one",
  ...needsPrometheus,
  async fn() {
    const good = await promtoolCheck(samplePage());
    assert.ok(good.ok, good.output);
    const listen = await promtoolCheck(listenPage({
      stats: { ...newListenerStats(), kernelDrops: 0 },
      groups: ["239.64.0.1", "ff05::64"],
      info: { port: 64001, plugin: "ack", codec: "text", transport: "ffi" },
    }));
    assert.ok(listen.ok, listen.output);
    // The check can fail: a counter without _total, a histogram without +Inf.
    const bad = await promtoolCheck(
      "# HELP x_seconds h\n# TYPE x_seconds histogram\n" +
        'x_seconds_bucket{le="1"} 1\nx_seconds_sum 1\nx_seconds_count 1\n' +
        "# HELP y h\n# TYPE y counter\ny 1\n",
    );
    assert.equal(bad.ok, false, bad.output);
  },
});

Deno.test("metrics: --metrics takes HOST:PORT and names a bad value", () => {
  assert.deepEqual(parseMetricsAddress("127.0.0.1:9464"), {
    hostname: "127.0.0.1",
    port: 9464,
    hostPort: "127.0.0.1:9464",
  });
  assert.equal(parseMetricsAddress("localhost:1").hostPort, "localhost:1");
  assert.equal(parseMetricsAddress("[::]:65535").hostname, "::");
  for (
    const [bad, why] of [
      ["9464", /"9464": expected HOST:PORT/],
      [":9464", /expected HOST:PORT/],
      ["127.0.0.1:", /port "" is not 1-65535/],
      ["127.0.0.1:0", /port "0"/],
      ["127.0.0.1:65536", /port "65536"/],
      ["127.0.0.1:94a", /port "94a"/],
      ["300.0.0.1:9464", /"300.0.0.1" is not an address/],
      ["::1:9464", /IPv6 address goes in brackets/],
      ["[nope]:9464", /"nope" is not an IPv6 address/],
      ["http://x:9464", /"http:\/\/x" is not an address/],
    ] as const
  ) {
    assert.throws(
      () => parseMetricsAddress(bad),
      (error: Error) =>
        error instanceof UsageError && error.message.includes(`"${bad}"`) &&
        why.test(error.message),
      bad,
    );
  }
});

Deno.test("metrics: the endpoint serves the page at /metrics, points there from /, 404 elsewhere", async () => {
  const port = freeTcpPort();
  let scrapes = 0;
  await using endpoint = MetricsEndpoint.start(
    parseMetricsAddress(`127.0.0.1:${port}`),
    () =>
      `# TYPE mcast_scrapes_total counter\nmcast_scrapes_total ${++scrapes}\n`,
  );
  assert.equal(endpoint.url, `http://127.0.0.1:${port}/metrics`);
  const page = await fetch(endpoint.url);
  assert.equal(
    page.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  assert.match(await page.text(), /mcast_scrapes_total 1/);
  // Built at each scrape.
  assert.match(await (await fetch(endpoint.url)).text(), /total 2/);
  const head = await fetch(endpoint.url, { method: "HEAD" });
  assert.equal(head.status, 200);
  await head.body?.cancel();
  const root = await fetch(`http://127.0.0.1:${port}/`);
  assert.match(await root.text(), /\/metrics/);
  const other = await fetch(`http://127.0.0.1:${port}/nope`);
  assert.equal(other.status, 404);
  await other.body?.cancel();
  const post = await fetch(endpoint.url, { method: "POST" });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("metrics: a port that is taken is said so, naming the address", async () => {
  const port = freeTcpPort();
  const address = parseMetricsAddress(`127.0.0.1:${port}`);
  await using first = MetricsEndpoint.start(address, () => "");
  assert.throws(
    () => MetricsEndpoint.start(address, () => ""),
    (error: Error) =>
      error instanceof MetricsEndpointError &&
      error.code === "ERR_METRICS_ADDRESS_IN_USE" &&
      error.message.includes(
        `--metrics 127.0.0.1:${port}: port ${port} is already taken`,
      ),
  );
  // The CLI: exit 1 with that sentence, before joining anything.
  const taken = await runMcast([
    "listen",
    ...onLoopback("239.64.0.9", 64009),
    "--metrics",
    `127.0.0.1:${port}`,
  ], { timeoutMs: 20_000 });
  assert.equal(taken.code, 1, taken.stderr.join("\n"));
  assert.match(taken.stderr.join("\n"), /port \d+ is already taken/);
  assert.ok(first.url.endsWith(`:${port}/metrics`));
});

Deno.test("metrics: a bad --metrics is bad usage (exit 2 naming it); the launcher lets the child listen there", async () => {
  const bad = await runMcast(["listen", "--metrics", "localhost"], {
    timeoutMs: 20_000,
  });
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr[0],
    /Invalid --metrics "localhost": expected HOST:PORT/,
  );
  // The launcher lets the child listen there: send and listen hold the
  // whole network already (any group and port), so --allow-net covers it.
  for (const command of ["send", "listen"]) {
    const granted = permissionsFor(command, ["--metrics", "[::1]:9464"], "/w");
    assert.ok(granted.includes("--allow-net"), granted.join(" "));
  }
});

Deno.test({
  name:
    "metrics: Prometheus scrapes deno task listen --metrics every second: datagrams, replies and drops by reason as sent",
  ...needsPrometheus,
  async fn() {
    const group = "239.64.0.1";
    const metricsPort = freeTcpPort();
    await using prometheus = await PrometheusServer.start([
      `127.0.0.1:${metricsPort}`,
    ]);
    // status answers ~150 bytes: a padded request gets it, a bare one is
    // refused as oversize (replies are at most 3x the request).
    await using listener = new TaskRun(
      denoTask("listen", [
        "--json",
        ...onLoopback(group, 64001),
        "--plugin",
        "status",
        "--rate-limit",
        "0",
        "--metrics",
        `127.0.0.1:${metricsPort}`,
      ]),
      { marker: group },
    );
    const { ready } = await listener.ready(20_000);
    assert.equal(ready.metrics, `http://127.0.0.1:${metricsPort}/metrics`);
    for (const args of [["-c", "10", "--pad", "512"], ["-c", "5"]]) {
      const sent = await runMcast([
        "send",
        ...onLoopback(group, 64001),
        "--interval",
        "10ms",
        "-w",
        "300ms",
        "-q",
        ...args,
      ], { timeoutMs: 20_000 });
      assert.ok(sent.code <= 1, sent.stderr.join("\n"));
    }
    const value = (samples: { value: number }[]) => samples[0]?.value;
    const query = (expression: string, expected: number) =>
      prometheus.waitFor(
        expression,
        (samples) => value(samples) === expected,
        15_000,
      );
    await query(`mcast_listen_datagrams_total{group="${group}"}`, 15);
    await query(`mcast_listen_replies_total{group="${group}"}`, 10);
    await query(`mcast_listen_dropped_total{reason="oversize"}`, 5);
    await query(`sum(mcast_listen_dropped_total)`, 5);
    await query(`up{job="mcast"}`, 1);
    const page = await (await fetch(ready.metrics as string)).text();
    const check = await promtoolCheck(page);
    assert.ok(check.ok, `${check.output}\n${page}`);
  },
});

/** A live run over a real RoundTripStats, as `send` hands it out. */
function liveRun(stats: RoundTripStats, sent: number) {
  return { sent, responders: () => stats.live() };
}

Deno.test("metrics: send's page reads the run's counters and histogram: replies, losses, RTT buckets per responder", () => {
  const stats = new RoundTripStats();
  // 10.0.0.2 answers requests 0-9 in 2 ms; 10.0.0.3 answers 0-4 in 30 ms
  // and one twice, then loses 5-9.
  for (let seq = 0; seq < 10; seq++) stats.reply("10.0.0.2", 10000, seq, 2);
  for (let seq = 0; seq < 5; seq++) stats.reply("10.0.0.3", 10000, seq, 30);
  stats.reply("10.0.0.3", 10000, 4, 31);
  for (let seq = 0; seq < 10; seq++) stats.expire(seq, () => {});
  const page = sendPage([{ group: "239.64.1.1", live: liveRun(stats, 10) }]);
  const value = (series: string) => {
    const line = page.split("\n").find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} in\n${page}`);
    return Number(line.split(" ")[1]);
  };
  const of = (responder: string) =>
    `group="239.64.1.1",responder="${responder}"`;
  assert.equal(value('mcast_send_requests_total{group="239.64.1.1"}'), 10);
  assert.equal(value(`mcast_send_replies_total{${of("10.0.0.2:10000")}}`), 10);
  assert.equal(value(`mcast_send_replies_total{${of("10.0.0.3:10000")}}`), 6);
  assert.equal(value(`mcast_send_lost_total{${of("10.0.0.2:10000")}}`), 0);
  assert.equal(value(`mcast_send_lost_total{${of("10.0.0.3:10000")}}`), 5);
  assert.equal(
    value(`mcast_send_duplicates_total{${of("10.0.0.3:10000")}}`),
    1,
  );
  // 2 ms is in le=0.002 and above; 30 ms in le=0.03 and above.
  const two = of("10.0.0.2:10000");
  assert.equal(value(`mcast_send_rtt_seconds_bucket{${two},le="0.0015"}`), 0);
  assert.equal(value(`mcast_send_rtt_seconds_bucket{${two},le="0.002"}`), 10);
  assert.equal(value(`mcast_send_rtt_seconds_bucket{${two},le="+Inf"}`), 10);
  assert.equal(value(`mcast_send_rtt_seconds_count{${two}}`), 10);
  assert.equal(value(`mcast_send_rtt_seconds_sum{${two}}`), 0.02);
  const thirty = of("10.0.0.3:10000");
  assert.equal(value(`mcast_send_rtt_seconds_bucket{${thirty},le="0.02"}`), 0);
  assert.equal(value(`mcast_send_rtt_seconds_bucket{${thirty},le="0.03"}`), 5);
  assert.equal(value('mcast_send_responders{group="239.64.1.1"}'), 2);
  assert.equal(value('mcast_send_responders_left_out{group="239.64.1.1"}'), 0);
  assert.deepEqual(
    RTT_BOUNDS_SECONDS.slice(0, 7),
    [0.00001, 0.000015, 0.00002, 0.00003, 0.00005, 0.00007, 0.0001],
  );
});

Deno.test('metrics: past 100 responders the rest are summed as responder="other" and counted as left out', () => {
  const stats = new RoundTripStats();
  const responders = MAX_RESPONDERS_TRACKED + 5;
  for (let i = 0; i < responders; i++) {
    stats.reply(`10.1.${i >> 8}.${i & 255}`, 10000, 0, 1 + i / 100);
  }
  const page = sendPage([{ group: "239.64.1.2", live: liveRun(stats, 1) }]);
  const replies = page.split("\n").filter((l) =>
    l.startsWith("mcast_send_replies_total{")
  );
  assert.equal(replies.length, MAX_RESPONDERS_TRACKED + 1);
  assert.equal(
    replies.at(-1),
    'mcast_send_replies_total{group="239.64.1.2",responder="other"} 5',
  );
  assert.match(
    page,
    /^mcast_send_responders_left_out\{group="239.64.1.2"\} 5$/m,
  );
  assert.match(page, /^mcast_send_responders\{group="239.64.1.2"\} 105$/m);
  assert.match(
    page,
    /^mcast_send_rtt_seconds_count\{group="239.64.1.2",responder="other"\} 5$/m,
  );
});

/** A mesh interval event of three nodes, one pair failing over multicast. */
function meshInterval(): MeshIntervalEvent {
  const hosts = ["10.77.1.1", "10.77.1.2", "10.77.1.3"];
  const pairs: MeshPair[] = [];
  for (const from of hosts) {
    for (const to of hosts) {
      if (from === to) continue;
      const fails = from === "10.77.1.3" && to === "10.77.1.1";
      pairs.push({
        from,
        to,
        multicastLossPercent: fails ? 100 : 2.5,
        unicastLossPercent: 0,
        multicastRttMs: fails ? null : { p50: 1.5, p99: 4 },
        unicastRttMs: { p50: 1, p99: 2 },
        joinMissed: 0,
        duplicates: 0,
        reordered: 0,
        received: fails ? 0 : 39,
        expected: 40,
        state: fails ? "multicast-fails" : "ok",
      });
    }
  }
  return {
    event: "interval",
    time: new Date(0).toISOString(),
    probesSent: 40,
    hosts,
    pairs,
  };
}

Deno.test("metrics: mesh's page is the latest matrix: loss ratio and RTT per pair and kind", () => {
  const page = meshPage({ self: "10.77.1.1", latest: meshInterval() });
  assert.match(
    page,
    /^mcast_mesh_loss_ratio\{from="10.77.1.3",to="10.77.1.1",kind="multicast"\} 1$/m,
  );
  assert.match(
    page,
    /^mcast_mesh_loss_ratio\{from="10.77.1.1",to="10.77.1.2",kind="multicast"\} 0.025$/m,
  );
  assert.match(
    page,
    /^mcast_mesh_loss_ratio\{from="10.77.1.3",to="10.77.1.1",kind="unicast"\} 0$/m,
  );
  assert.doesNotMatch(
    page,
    /mcast_mesh_rtt_p50_seconds\{from="10.77.1.3",to="10.77.1.1",kind="multicast"\}/,
  );
  assert.match(
    page,
    /^mcast_mesh_rtt_p50_seconds\{from="10.77.1.1",to="10.77.1.2",kind="multicast"\} 0.0015$/m,
  );
  assert.match(
    page,
    /^mcast_mesh_pair_ok\{from="10.77.1.3",to="10.77.1.1",state="multicast-fails"\} 0$/m,
  );
  assert.match(page, /^mcast_mesh_hosts 3$/m);
  assert.match(page, /^mcast_mesh_probes_sent_total 40$/m);
});

Deno.test({
  name: "metrics: promtool check metrics passes send's and mesh's pages",
  ...needsPrometheus,
  async fn() {
    const stats = new RoundTripStats();
    for (let i = 0; i < MAX_RESPONDERS_TRACKED + 2; i++) {
      stats.reply(`fd77::${i.toString(16)}`, 10000, 0, 0.2 * (i + 1));
    }
    for (
      const page of [
        sendPage([
          { group: "ff05::64", live: liveRun(stats, 1) },
          { group: "239.64.1.3" },
        ]),
        meshPage({ self: "10.77.1.1", latest: meshInterval() }),
        meshPage({ self: "" }),
      ]
    ) {
      const check = await promtoolCheck(page);
      assert.ok(check.ok, `${check.output}\n${page.slice(0, 2000)}`);
    }
  },
});

Deno.test("metrics: listen's page says how long after the join the first datagram came, once one did", () => {
  const source = {
    stats: newListenerStats(),
    groups: ["239.64.0.2"],
    info: { port: 64002, plugin: "ack", codec: "text", transport: "deno" },
  };
  const joined: { ms?: number } = {};
  const page = () =>
    listenPage({ ...source, firstDatagramAfterMs: () => joined.ms });
  assert.doesNotMatch(page(), /^mcast_listen_first_datagram_seconds /m);
  joined.ms = 250;
  assert.match(page(), /^mcast_listen_first_datagram_seconds 0.25$/m);
});

/** A responder that answers "ack" after `delayMs`. */
function slowResponder(delayMs: number): string {
  return `export default {
  name: "slow",
  async respond() {
    await new Promise((resolve) => setTimeout(resolve, ${delayMs}));
    return "ack";
  },
};
`;
}

Deno.test({
  name:
    "metrics: Prometheus scrapes deno task send -c 40 --seq --metrics: requests and replies as sent, histogram_quantile(0.5) of the RTT in the bucket of a responder that takes 40 ms",
  ...needsPrometheus,
  async fn() {
    const group = "239.64.0.3";
    const port = 64003;
    await using dir = await tempDir("mcast-slow-");
    await Deno.writeTextFile(`${dir.path}/slow.ts`, slowResponder(40));
    await using listener = await startListener(group, port, [
      "--plugin",
      `${dir.path}/slow.ts`,
      "--rate-limit",
      "0",
    ], { readyTimeoutMs: 20_000 });
    const metricsPort = freeTcpPort();
    await using prometheus = await PrometheusServer.start([
      `127.0.0.1:${metricsPort}`,
    ]);
    // 40 numbered requests 50 ms apart, then a long wait: the run stays up
    // (and scraped) until the test has asked Prometheus.
    await using sender = new TaskRun(
      denoTask("send", [
        ...onLoopback(group, port),
        ...["-c", "40", "--interval", "50ms", "--seq", "-w", "30s", "--json"],
        ...["--metrics", `127.0.0.1:${metricsPort}`],
      ]),
      { marker: group },
    );
    const value = (samples: { value: number }[]) => samples[0]?.value;
    const responder = `127.0.0.1:${port}`;
    const exactly = (expression: string, expected: number) =>
      prometheus.waitFor(
        expression,
        (samples) => value(samples) === expected,
        20_000,
      );
    await exactly(`mcast_send_requests_total{group="${group}"}`, 40);
    await exactly(`mcast_send_replies_total{responder="${responder}"}`, 40);
    await exactly(`mcast_send_lost_total{responder="${responder}"}`, 0);
    await exactly(`mcast_send_rtt_seconds_count{responder="${responder}"}`, 40);
    // Every answer took 40 ms and a little more: all in (0.03, 0.05], where
    // the quantile is read by linear interpolation.
    const [p50] = await prometheus.query(
      `histogram_quantile(0.5, mcast_send_rtt_seconds_bucket{responder="${responder}"})`,
    );
    assert.ok(p50.value >= 0.03 && p50.value <= 0.05, `p50 ${p50.value}`);
    const page = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`))
      .text();
    const check = await promtoolCheck(page);
    assert.ok(check.ok, check.output);
    // The summary's exact median is in that bucket too.
    sender.proc.child.kill("SIGINT");
    const done = await sender.proc.wait(20_000);
    assert.equal(done.code, 0, done.stderr.join("\n"));
    const summary = JSON.parse(done.stdout.at(-1)!);
    assert.equal(summary.event, "summary");
    const { p50: exactMs } = summary.perResponder[0].rttMs;
    assert.ok(exactMs > 30 && exactMs <= 50, `summary p50 ${exactMs} ms`);
    assert.ok(listener.proc.exited === false);
  },
});
