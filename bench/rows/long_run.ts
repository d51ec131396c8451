/**
 * Row 11: long runs stay small. Two commands that people leave running
 * for days, each under steady load for `plan.longRunSeconds` (10 minutes
 * in the full plan) with `--metrics` scraped every
 * `plan.longRunScrapeMs`, as Prometheus would:
 *
 * - `long-run-listen`: `listen --metrics` under `plan.longRunListenRate`
 *   requests/s from `plan.longRunSources` rotating source addresses
 *   (10.77.64.0 onwards, each back every sources/rate seconds: the
 *   per-source rate-limit table and anything else kept per sender must not
 *   grow with them). A raw-socket sender in a namespace writes the source
 *   addresses into its packets (`senders/rotating_sources.py`); the
 *   listener, in another namespace on the same bridge, routes its replies
 *   back through it (`--allow-from` the range, `--global-rate 0`).
 * - `long-run-send`: `send -c 0 --seq --metrics` at
 *   `plan.longRunSendRate` requests/s against `plan.longRunResponders`
 *   namespaced responders (`lab/fan_in_hosts.ts`, which answer numbered
 *   requests as mcast's listeners do): per-responder counters and RTT
 *   histograms for the whole run.
 *
 * Figures: RSS (`/proc/PID/status`) when the command is ready, after
 * `plan.longRunWarmupSeconds` (1 minute in the full plan), at the end,
 * the growth between the last two (flat is the target) and the peak; the
 * /metrics scrape time (median, p99, max) and page size; requests and
 * replies from the command's summary. The baseline is the same command
 * without `--metrics` under the same load for
 * `plan.longRunBaselineSeconds`: its RSS says what metrics add.
 *
 * Runs only as root where namespaces work, with `python3` and `gcc`;
 * otherwise skipped with the reason. Network safety: every socket lives in
 * namespaces this row creates (lab addresses 10.77.0.0/16), groups and
 * ports from `addresses.ts`, TTL 1, every load bounded in rate and time.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { COMMAND_V8_FLAGS } from "../../cli/heap_limits.ts";
import { hasProgram, netnsAvailable } from "../../lab/availability.ts";
import { FAN_IN_PROGRAMS, withFanInHosts } from "../../lab/fan_in_hosts.ts";
import { createLab, type Host } from "../../lab/lab.ts";
import { senderAndListener } from "../../lab/topologies.ts";
import { assertBenchEndpoint, type Endpoint } from "../addresses.ts";
import { placed, type Role } from "../cpu_placement.ts";
import { MemorySampler } from "../memory_sampler.ts";
import type { ScrapeReport } from "../metrics_scraper.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics, RowId } from "../results.ts";
import type { RowContext } from "./context.ts";
import { backlogDrops } from "../../lab/backlog_drops.ts";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));
const SCRAPER = fileURLToPath(
  new URL("../metrics_scraper.ts", import.meta.url),
);
const ROTATING = fileURLToPath(
  new URL("../senders/rotating_sources.py", import.meta.url),
);
/** The rotating sources: 10.77.64.0 onwards, within this /18 (16,384). */
const SOURCES_FIRST = "10.77.64.0";
const SOURCES_RANGE = "10.77.64.0/18";
/** Where the command serves its metrics, in its own namespace. */
const METRICS_AT = "127.0.0.1:9464";
/** Start-up and stop of a command, on top of its run, at most, ms. */
const SLACK_MS = 60_000;

/** What the launcher grants each command with built-in plugins (ffi transport). */
const PERMISSIONS: Record<"listen" | "send", string[]> = {
  listen: [
    "--unstable-net",
    "--allow-net",
    "--allow-sys=networkInterfaces,hostname",
    "--allow-ffi",
  ],
  send: ["--allow-net", "--allow-sys=networkInterfaces", "--allow-ffi"],
};

/** `argv` pinned to its role's CPU when pinning is on. */
function pinned(argv: string[], role: Role): string[] {
  const run = placed({ command: argv[0], args: argv.slice(1) }, role);
  return [run.command, ...run.args];
}

/** One long run of a command in `host`'s namespace. */
interface LongRun {
  /** Where the command runs. */
  host: Host;
  /** `listen` or `send`, and its flags (without `--metrics`). */
  command: "listen" | "send";
  args: string[];
  /** Whether it serves (and the row scrapes) metrics. */
  metrics: boolean;
  /** How long it runs under load, seconds. */
  seconds: number;
  /** Starts the load once the command is ready; resolves when it is over. */
  load?: () => Promise<Metrics>;
}

/** The requests and replies of a stopped command's human summary. */
function summaryFigures(stdout: string): Metrics {
  const listen = /^(\d+) received, (\d+) replied/m.exec(stdout);
  if (listen !== null) {
    const drops = /(\d+) dropped by the kernel/.exec(stdout);
    return {
      received: Number(listen[1]),
      replied: Number(listen[2]),
      kernelDrops: Number(drops?.[1] ?? 0),
    };
  }
  const send = /^(\d+) sent, (\d+) repl(?:y|ies) from (\d+) responders?/m
    .exec(stdout);
  if (send !== null) {
    return {
      sent: Number(send[1]),
      replies: Number(send[2]),
      responders: Number(send[3]),
    };
  }
  throw new Error(`no summary in: ...${stdout.slice(-400)}`);
}

/** Runs one long run: the command, its load, RSS samples and scrapes. */
async function longRun(run: LongRun, context: RowContext): Promise<Metrics> {
  const { plan } = context;
  const argv = [
    Deno.execPath(),
    "run",
    "--quiet",
    // As the launcher runs it (V8's young generation capped).
    ...COMMAND_V8_FLAGS,
    ...PERMISSIONS[run.command],
    CLI,
    run.command,
    ...run.args,
    ...(run.metrics ? ["--metrics", METRICS_AT] : []),
  ];
  await using proc = run.host.spawn(pinned(argv, "measured"), {
    timeoutMs: run.seconds * 1000 + SLACK_MS,
  });
  // listen -q prints its ready line; send, its first reply or count line.
  await proc.waitForLine(() => true, 30_000);
  const sampler = await MemorySampler.start(proc.pid, plan.longRunSampleMs);
  const backlogBefore = await backlogDrops();
  const scraper = run.metrics
    ? run.host.spawn([
      Deno.execPath(),
      "run",
      "--quiet",
      `--allow-net=${METRICS_AT}`,
      SCRAPER,
      `http://${METRICS_AT}/metrics`,
      String(plan.longRunScrapeMs),
      String(run.seconds),
    ], { timeoutMs: run.seconds * 1000 + SLACK_MS })
    : undefined;
  const [load] = await Promise.all([
    run.load?.() ?? Promise.resolve({}),
    new Promise((resolve) => setTimeout(resolve, run.seconds * 1000)),
  ]);
  await sampler.sample();
  sampler.stop();
  const scraped = scraper && await scraper.done;
  const stopped = await proc.stop("SIGINT", 10_000);
  const backlog = await backlogDrops() - backlogBefore;
  const warm = sampler.rssAt(plan.longRunWarmupSeconds);
  const middle = sampler.rssAt(run.seconds / 2);
  const memory = {
    rssAtStartMiB: sampler.samples[0]?.rss ?? NaN,
    rssAtWarmupMiB: warm,
    rssAtMiddleMiB: middle,
    rssAtEndMiB: sampler.lastRss,
    growthAfterWarmupMiB: sampler.lastRss - warm,
    growthSecondHalfMiB: sampler.lastRss - middle,
    peakRssMiB: sampler.peakRss,
  };
  return {
    seconds: run.seconds,
    ...load,
    machineBacklogDrops: backlog,
    ...summaryFigures(stopped.stdout),
    ...memory,
    ...(scraped === undefined ? {} : scrapeFigures(scraped.stdout)),
  };
}

/** The scraper's report as figures. */
function scrapeFigures(stdout: string): Metrics {
  const report = JSON.parse(stdout.trim().split("\n").at(-1)!) as ScrapeReport;
  if (report.scrapes === 0) {
    throw new Error(`no scrape answered (${report.failures} failed)`);
  }
  return {
    scrapes: report.scrapes,
    scrapeFailures: report.failures,
    scrapeP50Ms: report.p50Ms,
    scrapeP99Ms: report.p99Ms,
    scrapeMaxMs: report.maxMs,
    pageBytes: report.pageBytes,
    // The JavaScript heap in use at the last scrape: what is live, against
    // RSS, which also holds what V8 freed and kept.
    heapUsedAtEndMiB: Number(
      /^mcast_heap_used_bytes (\d+)$/m.exec(report.page)?.[1] ?? NaN,
    ) / 2 ** 20,
  };
}

/** The mcast measurement (with metrics) and its baseline (without) of a row. */
function subjects(row: RowId, label: string): [Subject, Subject] {
  return [
    {
      id: `${row}-metrics`,
      label: `${label} --metrics`,
      side: "mcast",
      required: true,
    },
    {
      id: `${row}-plain`,
      label: `${label}, no metrics (shorter)`,
      side: "baseline",
      required: true,
    },
  ];
}

/** `long-run-listen`: the rotating-sources load against listen, with and without metrics. */
async function listenRow(context: RowContext): Promise<void> {
  const { plan, recorder } = context;
  const endpoint = context.endpoints.next();
  assertBenchEndpoint(endpoint);
  const row = "long-run-listen";
  const [withMetrics, plain] = subjects(row, "listen -q");
  const measure = async (subject: Subject, seconds: number) => {
    await using lab = await createLab();
    const { sender, listener } = await senderAndListener(lab);
    await routeSources(sender, listener);
    return await longRun({
      host: listener,
      command: "listen",
      args: listenArgs(endpoint, listener.address),
      metrics: subject === withMetrics,
      seconds,
      load: () => rotatingLoad(sender, endpoint, plan, seconds),
    }, context);
  };
  await recorder.record(
    row,
    withMetrics,
    () => measure(withMetrics, plan.longRunSeconds),
  );
  await recorder.record(
    row,
    plain,
    () => measure(plain, plan.longRunBaselineSeconds),
  );
}

/** The listener's flags: the group on its address, the sources allowed, no global cap. */
function listenArgs(endpoint: Endpoint, address: string): string[] {
  return [
    ...["-g", endpoint.group, "-p", String(endpoint.port), "-i", address],
    ...["--allow-from", SOURCES_RANGE, "--global-rate", "0", "-q"],
  ];
}

/** Replies to the rotating sources go back through the sender; its multicast leaves by eth0. */
async function routeSources(sender: Host, listener: Host): Promise<void> {
  for (
    const [host, route] of [
      [listener, ["ip", "route", "add", SOURCES_RANGE, "via", sender.address]],
      [sender, ["ip", "route", "replace", "224.0.0.0/4", "dev", "eth0"]],
    ] as const
  ) {
    const result = await host.run([...route]);
    if (result.code !== 0) {
      throw new Error(`${route.join(" ")}: ${result.stderr.trim()}`);
    }
  }
}

/** The rotating-sources sender for `seconds`; its figures when it ends. */
async function rotatingLoad(
  sender: Host,
  endpoint: Endpoint,
  plan: RowContext["plan"],
  seconds: number,
): Promise<Metrics> {
  await using proc = sender.spawn(
    pinned([
      "python3",
      ROTATING,
      endpoint.group,
      String(endpoint.port),
      sender.address,
      SOURCES_FIRST,
      String(plan.longRunSources),
      String(plan.longRunListenRate),
      String(seconds),
    ], "load"),
    { timeoutMs: seconds * 1000 + SLACK_MS },
  );
  const done = await proc.done;
  if (done.code !== 0) {
    throw new Error(`rotating_sources.py: ${done.stderr.trim()}`);
  }
  const { sent } = JSON.parse(done.stdout.trim());
  return { offered: sent, sources: plan.longRunSources };
}

/** `long-run-send`: send -c 0 --seq against the namespaced responders, with and without metrics. */
async function sendRow(context: RowContext): Promise<void> {
  const { plan, recorder } = context;
  const endpoint = context.endpoints.next();
  assertBenchEndpoint(endpoint);
  const row = "long-run-send";
  const [withMetrics, plain] = subjects(row, "send -c 0 --seq");
  const args = [
    ...["-g", endpoint.group, "-p", String(endpoint.port), "-i", "eth0"],
    ...["-c", "0", "--seq", "--rate", String(plan.longRunSendRate)],
  ];
  const lifetime = plan.longRunSeconds + plan.longRunBaselineSeconds + 300;
  try {
    await withFanInHosts({
      hosts: plan.longRunResponders,
      group: endpoint.group,
      port: endpoint.port,
      lifetimeSeconds: Math.ceil(lifetime),
      launch: (argv) => pinned(argv, "load"),
    }, async ({ sender }) => {
      for (
        const [subject, seconds] of [
          [withMetrics, plan.longRunSeconds],
          [plain, plan.longRunBaselineSeconds],
        ] as const
      ) {
        await recorder.record(row, subject, () =>
          longRun({
            host: sender,
            command: "send",
            args,
            metrics: subject === withMetrics,
            seconds,
          }, context));
      }
    });
  } catch (error) {
    // Building or removing the hosts failed: both fail with it.
    for (const subject of [withMetrics, plain]) {
      await recorder.record(row, subject, () => Promise.reject(error));
    }
  }
}

/** Why the row cannot run here, or undefined when it can. */
async function unavailable(): Promise<string | undefined> {
  const netns = await netnsAvailable();
  if (!netns.ok) return netns.reason;
  const missing = ["python3", ...FAN_IN_PROGRAMS].filter((program) =>
    !hasProgram(program)
  );
  return missing.length === 0 ? undefined : `no ${missing.join(", ")}`;
}

/** Runs `half` unless the row cannot run here (then says why, once). */
async function unlessUnavailable(
  context: RowContext,
  half: (context: RowContext) => Promise<void>,
): Promise<void> {
  const why = await unavailable();
  if (why === undefined) return await half(context);
  if (!context.skipped.some((s) => s.id === "long-run")) {
    context.skipped.push({ id: "long-run", reason: `row 11 not run: ${why}` });
  }
  console.error(`  long-run: skipped (${why})`);
}

/**
 * Row 11's listen half (`--rows=long-run-listen`), once (a long run is
 * its own repeat); skipped, with the reason in the run's skipped list,
 * without root, namespaces, `python3` or `gcc`.
 *
 * @param context The run's shared state.
 */
export function longRunListenRow(context: RowContext): Promise<void> {
  return unlessUnavailable(context, listenRow);
}

/**
 * Row 11's send half (`--rows=long-run-send`), as
 * {@linkcode longRunListenRow}.
 *
 * @param context The run's shared state.
 */
export function longRunSendRow(context: RowContext): Promise<void> {
  return unlessUnavailable(context, sendRow);
}
