/**
 * Row 7: the CLI listener under a flood of 64-byte and of 1,400-byte
 * datagrams, as users run it: `deno task
 * listen --plugin silent` (through the launcher, so the ffi transport with
 * built-ins) with `-q`, with the default human output (a line per message
 * until more than 20 a second come) and with `--json` (every event),
 * against the C recvmmsg receiver, each flooded in turn with the same
 * datagrams by the C sendmmsg sender. The CLI's stdout is a pipe this
 * process empties as fast as it can (bytes counted, not parsed); after
 * the flood and a drain it gets SIGINT and its summary gives `received`.
 *
 * Network safety: 127.0.0.1 only, groups and ports from `addresses.ts`,
 * every flood bounded in count and time, every wait bounded.
 *
 * @module
 */

import type { Endpoint } from "../addresses.ts";
import { type CliOutcome, withCliListener } from "../cli_listener.ts";
import type { Flooder } from "../flooder.ts";
import { C_RECVMMSG, type Implementation } from "../implementations.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics, RowId } from "../results.ts";
import type { RowContext } from "./context.ts";
import { measureOneWay } from "./one_way.ts";

/** After the flood, before SIGINT: the socket's buffer drains, ms. */
const DRAIN_MS = 1_000;

/** One way of running the CLI listener. */
interface CliMode {
  /** The measurement. */
  subject: Subject;
  /** Flags besides the group, port, interface and plugin. */
  flags: string[];
}

const MODES: readonly CliMode[] = [
  { id: "cli-listen-quiet", label: "deno task listen -q", flags: ["-q"] },
  {
    id: "cli-listen-human",
    label: "deno task listen (human lines)",
    flags: [],
  },
  {
    id: "cli-listen-json",
    label: "deno task listen --json",
    flags: ["--json"],
  },
].map(({ id, label, flags }) => ({
  subject: { id, label, side: "mcast", required: true },
  flags,
}));

/**
 * Starts the CLI listener with the `silent` responder, floods it, lets it
 * drain, stops it and reads its summary.
 */
async function floodCli(
  mode: CliMode,
  endpoint: Endpoint,
  flood: () => Promise<{ sent: number; seconds: number }>,
): Promise<CliOutcome & { sent: number }> {
  const { result, outcome } = await withCliListener(
    endpoint,
    ["--plugin", "silent", ...mode.flags],
    flood,
    DRAIN_MS,
  );
  return { ...outcome, sent: result.sent };
}

/** One CLI measurement's figures, for a flood of `size`-byte datagrams. */
async function measureCli(
  mode: CliMode,
  size: number,
  context: RowContext,
): Promise<Metrics> {
  const { plan, endpoints, flooder } = context;
  const endpoint = endpoints.next();
  const outcome = await floodCli(mode, endpoint, () =>
    flooder.flood(
      endpoint,
      plan.cliListenCount,
      size,
      plan.cliListenSeconds,
    ));
  return {
    offered: outcome.sent,
    received: outcome.received,
    lossPercent: 100 * (1 - outcome.received / outcome.sent),
    kernelDrops: outcome.kernelDrops,
    linesPrinted: outcome.lines,
  };
}

/** The C receiver, cold as the CLI is, with the same flood. */
async function measureC(
  c: Implementation,
  size: number,
  context: RowContext,
  flooder: Flooder,
): Promise<Metrics> {
  const { plan, endpoints } = context;
  const metrics = await measureOneWay(
    {
      implementation: c,
      size,
      count: plan.cliListenCount,
      seconds: plan.cliListenSeconds,
      warmupSeconds: 0,
    },
    flooder,
    endpoints,
  );
  const { offered, received, lossPercent } = metrics;
  return { offered, received, lossPercent };
}

/**
 * Row 7 for each flood size (`cli-listen` at 64 bytes, `cli-listen-1400`
 * at 1,400), `plan.repeats` times, alternating: the C receiver, then the
 * CLI with `-q`, with human lines and with `--json`.
 *
 * @param context The run's shared state.
 */
export async function cliListenRow(context: RowContext): Promise<void> {
  const { plan, flooder, recorder } = context;
  const c = context.implementations.find((i) => i.id === C_RECVMMSG.id);
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const size of plan.cliListenSizes) {
      const row: RowId = size === 64 ? "cli-listen" : "cli-listen-1400";
      if (c !== undefined) {
        await recorder.record(
          row,
          c,
          () => measureC(c, size, context, flooder),
        );
      }
      for (const mode of MODES) {
        await recorder.record(
          row,
          mode.subject,
          () => measureCli(mode, size, context),
        );
      }
    }
  }
}
