/**
 * `mcast mesh`: the same command on every node of a cluster; each probes
 * the group and every peer by unicast, answers the others' probes, and
 * shares what it hears, so every node prints the whole matrix of who
 * hears whom, multicast beside unicast, and exits 1 naming every pair
 * whose multicast fails. The library half is `lib/mesh/` (`mesh()`);
 * this file reads the flags, runs it, prints (`mesh_output.ts`) and
 * writes the report (`mesh_report_html.ts`).
 *
 * @module
 */

import { resolve } from "node:path";
import { DEFAULT_GROUP, DEFAULT_PORT } from "../lib/defaults.ts";
import { errorText } from "../lib/errors.ts";
import type { MeshMatrixEvent } from "../lib/mesh/events.ts";
import { mesh } from "../lib/mesh/mesh.ts";
import { readKeyFile } from "../lib/safety/auth.ts";
import { parse } from "./args.ts";
import { painter } from "./colour.ts";
import type { Io } from "./io.ts";
import { MATRIX_MAX_HOSTS } from "./mesh_matrix_text.ts";
import { MESH_FLAGS, meshFlags } from "./mesh_flags.ts";
import { MeshOutput } from "./mesh_output.ts";
import { METRICS_EXAMPLE_ADDRESS } from "./metrics/address.ts";
import { MetricsEndpoint } from "./metrics/endpoint.ts";
import { type MeshMetricsSource, meshPage } from "./metrics/mesh_metrics.ts";
import { MeshRecorder, meshReportPage } from "./mesh_report_html.ts";
import { chooseTransport, SEND_TRANSPORT_HELP } from "./transport_choice.ts";
import { UsageError } from "./usage_error.ts";

/** Help for `mesh`. */
export const MESH_HELP = `Usage: mcast mesh [options]

Run the same command on every node: each joins the group, sends a numbered
probe to it every interval and by unicast to every peer it knows, answers the
probes of the others, and shares what it hears, so that every node prints the
whole matrix of who hears whom, multicast beside unicast. Exit status: 0 when
every pair among the expected nodes lost at most --max-loss of its multicast
probes (after the join window), 1 otherwise, naming every failing pair and
whether unicast works for it; 2 for bad usage. Ctrl-C, SIGTERM or SIGHUP ends
the run with the matrix.

Options:
  -g, --group ADDR       multicast group (default ${DEFAULT_GROUP}); IPv4, or IPv6
                         (ff02::... with -i, ff05::...)
  -p, --port N           UDP port (default ${DEFAULT_PORT})
  -i, --interface IF     interface, address or name (default: OS choice; needed
                         for ff02::)
  -t, --ttl N            multicast TTL / hop limit 0-255 (default 1: this
                         segment; more to cross multicast routers)
      --interval D       time between probes (default 1s)
  -c, --count N          send N probes, then end with the matrix (default: until
                         Ctrl-C or --duration)
      --duration D       end after D (such as 30s or 5m) with the matrix
      --peer ADDR        probe this peer by unicast from the start (repeatable);
                         the peers listed (and this host) are then the nodes
                         expected
      --expect N         expect N nodes, counting this one; a node expected and
                         never heard is a failure
      --max-loss P       multicast loss allowed per pair, percent (default 0)
      --watch            only listen and show the matrix: send nothing (no
                         probes, answers or rows); not a node of the mesh
  -q, --quiet            print only the ready line and the matrix
      --json             NDJSON: every event (ready, peer, interval, drop) and a
                         final "matrix" line with hosts and pairs
      --report FILE.html write one self-contained HTML page: a heatmap of both
                         matrices and each pair's round-trip times over the run
      --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics
                         (such as ${METRICS_EXAMPLE_ADDRESS}): each pair's loss ratio
                         and round trips as of the latest interval
${SEND_TRANSPORT_HELP}
  -h, --help             show this help

Output: a line per interval while the mesh has at most ${MATRIX_MAX_HOSTS} hosts (naming
the pairs that are not ok), then a line a second with counts; at the end the
matrix (rows: sender, columns: receiver, each cell multicast loss % / unicast
loss %) and every failing pair in words.

Safety (as listen's): probes are answered only for senders on a directly
connected subnet unless --allow-from widens it, an answer is never larger than
its probe, and each source and the whole are rate-limited.
      --allow-from CIDR  answer and count senders in this range too (repeatable)
      --key-file FILE    sign every datagram with this key (HMAC-SHA256) and
                         refuse unsigned or badly signed ones

Durations: 500ms, 2s, 1m, or a bare number of milliseconds.`;

/**
 * Creates (or empties) the report file before anything is sent, so a path
 * that cannot be written is refused at once.
 */
function prepareReport(path: string): void {
  try {
    Deno.writeTextFileSync(path, "");
  } catch (error) {
    throw new UsageError(
      `Invalid --report "${path}": cannot write it (${errorText(error)})`,
    );
  }
}

/** Runs `mesh` until its count, duration or `signal` ends it; returns the exit code. */
export async function meshCommand(
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const { values, positionals } = parse(args, MESH_FLAGS);
  if (values.help) {
    io.out(MESH_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `mesh: unexpected argument "${
        positionals[0]
      }" (mesh takes only options; a peer is --peer ADDR)`,
    );
  }
  const flags = meshFlags(values);
  const transport = chooseTransport(flags.transport, "send");
  const key = flags.keyFile === undefined
    ? undefined
    : await readKeyFile(resolve(io.cwd, flags.keyFile));
  const report = flags.report === undefined
    ? undefined
    : resolve(io.cwd, flags.report);
  if (report !== undefined) prepareReport(report);
  const output = new MeshOutput(io, {
    json: flags.json,
    quiet: flags.quiet,
    maxLossPercent: flags.maxLossPercent,
    paintOut: painter(!flags.json && io.colourOut === true),
    paintErr: painter(!flags.json && io.colourErr === true),
  });
  output.intervalMs = flags.intervalMs;
  const recorder = new MeshRecorder();
  let matrix: MeshMatrixEvent | undefined;
  // The latest interval, read at each scrape; bound before the join.
  const scraped: MeshMetricsSource = { self: "" };
  await using metrics = flags.metrics &&
    MetricsEndpoint.start(flags.metrics, () => meshPage(scraped));
  if (metrics) io.err(`metrics at ${metrics.url}`);
  const events = mesh({
    group: flags.group,
    port: flags.port,
    interface: flags.interface,
    ttl: flags.ttl,
    intervalMs: flags.intervalMs,
    count: flags.count,
    durationMs: flags.durationMs,
    peers: flags.peers,
    expect: flags.expect,
    maxLossPercent: flags.maxLossPercent,
    watch: flags.watch,
    allowFrom: flags.allowFrom,
    key,
    transport,
    signal,
  });
  for await (const event of events) {
    if (event.event === "ready") scraped.self = event.self;
    if (event.event === "interval") scraped.latest = event;
    if (event.event === "interval" && report !== undefined) {
      recorder.interval(event);
    }
    if (event.event === "matrix") matrix = event;
    output.event(event);
  }
  if (matrix === undefined) {
    io.err("mcast mesh: the run ended without a matrix");
    return 1;
  }
  if (report !== undefined) {
    await Deno.writeTextFile(
      report,
      meshReportPage(matrix, recorder, {
        group: flags.group,
        port: flags.port,
        command: ["mcast", "mesh", ...args].join(" "),
        maxLossPercent: flags.maxLossPercent,
      }),
    );
    io.err(`report written to ${report}`);
  }
  // 0 when every expected pair is within --max-loss, else 1.
  return matrix.ok ? 0 : 1;
}
