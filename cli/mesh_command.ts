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
import { errorText } from "../lib/errors.ts";
import type { MeshEvent, MeshMatrixEvent } from "../lib/mesh/events.ts";
import { mesh, type MeshOptions } from "../lib/mesh/mesh.ts";
import { readKeyFile } from "../lib/safety/auth.ts";
import { painter } from "./colour.ts";
import { helpText, parseFlags } from "./flag_table.ts";
import type { Io } from "./io.ts";
import { MESH_TABLE, type MeshFlags, meshFlags } from "./mesh_flags.ts";
import { MeshOutput } from "./mesh_output.ts";
import { MetricsEndpoint } from "./metrics/endpoint.ts";
import { type MeshMetricsSource, meshPage } from "./metrics/mesh_metrics.ts";
import { MeshRecorder, meshReportPage } from "./mesh_report_html.ts";
import { chooseTransport } from "./transport_choice.ts";
import { UsageError } from "./usage_error.ts";

/** Help for `mesh`, from its flag table. */
export const MESH_HELP: string = helpText(MESH_TABLE);

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

/** Starts `mesh()` with the checked flags, its key and its transport. */
function startMesh(
  flags: MeshFlags,
  extra: Pick<MeshOptions, "key" | "transport" | "signal">,
): AsyncGenerator<MeshEvent, void, undefined> {
  return mesh({
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
    ...extra,
  });
}

/**
 * Prints every event as it comes, keeps what the report and the metrics
 * read; returns the final matrix (`undefined` if the run ended without).
 */
async function followMesh(
  events: AsyncGenerator<MeshEvent, void, undefined>,
  output: MeshOutput,
  recorder: MeshRecorder | undefined,
  scraped: MeshMetricsSource,
): Promise<MeshMatrixEvent | undefined> {
  let matrix: MeshMatrixEvent | undefined;
  for await (const event of events) {
    if (event.event === "ready") scraped.self = event.self;
    if (event.event === "interval") {
      scraped.latest = event;
      recorder?.interval(event);
    }
    if (event.event === "matrix") matrix = event;
    output.event(event);
  }
  return matrix;
}

/** Runs `mesh` until its count, duration or `signal` ends it; returns the exit code. */
export async function meshCommand(
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const parsed = parseFlags(MESH_TABLE, args);
  if (parsed.help) {
    io.out(MESH_HELP);
    return 0;
  }
  const flags = meshFlags(parsed);
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
  // The latest interval, read at each scrape; bound before the join.
  const scraped: MeshMetricsSource = { self: "" };
  await using metrics = flags.metrics &&
    MetricsEndpoint.start(flags.metrics, () => meshPage(scraped));
  if (metrics) io.err(`metrics at ${metrics.url}`);
  const recorder = report === undefined ? undefined : new MeshRecorder();
  const events = startMesh(flags, { key, transport, signal });
  const matrix = await followMesh(events, output, recorder, scraped);
  if (matrix === undefined) {
    io.err("mcast mesh: the run ended without a matrix");
    return 1;
  }
  if (report !== undefined) {
    await Deno.writeTextFile(
      report,
      meshReportPage(matrix, recorder!, {
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
