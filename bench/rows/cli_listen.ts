/**
 * Row 7: the CLI listener under a flood of 64-byte and of 1,400-byte
 * datagrams, as users run it: `deno task
 * listen --plugin silent` (through the launcher, so the ffi transport with
 * built-ins) with `-q`, with the default human output (a line per message
 * until more than 20 a second come) and with `--json` (every event),
 * against the C recvmmsg receiver, each flooded in turn with the same
 * datagrams by the C sender, paced at `plan.cliListenRate` (250,000 a
 * second: the million in 4 s) so that the flood is the same for each, in
 * count and in rate. Each batch leaves as one UDP GSO send (`segments`,
 * `senders/flood.c`): on loopback the sender's CPU delivers every
 * datagram into the receiver's socket, and with `sendmmsg` that capped a
 * flood at ~100k-200k datagrams a second on a 2-core VM (570k-920k of
 * the million in 5 s), below what the CLI takes, and slower against an
 * idle receiver (the C one: a wake-up per batch) than against a busy one;
 * segmented and unpaced it sent 460k-790k a second, depending on the
 * receiver again. The CLI's stdout goes to a file
 * (`listen > FILE`): no reader competes for either CPU. After the flood
 * and a drain the CLI gets SIGINT and its summary gives `received`; each
 * receiver's CPU time over the flood and drain (`/proc/PID/stat`) gives
 * its microseconds a datagram.
 *
 * Network safety: 127.0.0.1 only, groups and ports from `addresses.ts`,
 * every flood bounded in count and time, every wait bounded.
 *
 * @module
 */

import type { Endpoint } from "../addresses.ts";
import { type CliOutcome, withCliListener } from "../cli_listener.ts";
import type { FloodReport } from "../flooder.ts";
import { C_RECVMMSG, type Implementation } from "../implementations.ts";
import { cpuSeconds } from "../process_cpu.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics, RowId } from "../results.ts";
import type { RowContext } from "./context.ts";

/** After the flood, before SIGINT: the socket's buffer drains, ms. */
const DRAIN_MS = 1_000;

/** The flood's datagrams, segmented by the kernel (`FloodOptions`). */
const FLOOD_OPTIONS = { segments: true };

/** The figures of one flood, whoever received it. */
function floodMetrics(
  flood: FloodReport,
  received: number,
  cpu: number | undefined,
): Metrics {
  return {
    offered: flood.sent,
    offeredPerSecond: Math.round(flood.sent / flood.seconds),
    received,
    lossPercent: 100 * (1 - received / flood.sent),
    cpuMicrosPerDatagram: cpu === undefined || received === 0
      ? NaN
      : 1e6 * cpu / received,
  };
}

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
  flood: () => Promise<FloodReport>,
): Promise<CliOutcome & { flood: FloodReport }> {
  const { result, outcome } = await withCliListener(
    endpoint,
    ["--plugin", "silent", ...mode.flags],
    flood,
    { settleMs: DRAIN_MS, stdout: "file" },
  );
  return { ...outcome, flood: result };
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
      plan.cliListenRate,
      FLOOD_OPTIONS,
    ));
  return {
    ...floodMetrics(outcome.flood, outcome.received, outcome.cpuSeconds),
    kernelDrops: outcome.kernelDrops,
    linesPrinted: outcome.lines,
  };
}

/**
 * The C receiver, cold as the CLI is, with the same flood and the same
 * drain; its CPU time from its ready line to its stop.
 */
async function measureC(
  c: Implementation,
  size: number,
  context: RowContext,
): Promise<Metrics> {
  const { plan, endpoints, flooder } = context;
  const endpoint = endpoints.next();
  const receiver = await ReceiverProcess.start(
    c.command("sink", endpoint, plan.cliListenSeconds + 30, 1),
  );
  try {
    const before = await cpuSeconds(receiver.pid);
    const flood = await flooder.flood(
      endpoint,
      plan.cliListenCount,
      size,
      plan.cliListenSeconds,
      plan.cliListenRate,
      FLOOD_OPTIONS,
    );
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    const after = await cpuSeconds(receiver.pid);
    const report = await receiver.stop();
    const cpu = before === undefined || after === undefined
      ? undefined
      : after - before;
    return floodMetrics(flood, report.received, cpu);
  } finally {
    await receiver.kill();
  }
}

/**
 * Row 7 for each flood size (`cli-listen` at 64 bytes, `cli-listen-1400`
 * at 1,400), `plan.repeats` times, alternating: the C receiver, then the
 * CLI with `-q`, with human lines and with `--json`.
 *
 * @param context The run's shared state.
 */
export async function cliListenRow(context: RowContext): Promise<void> {
  const { plan, recorder } = context;
  const c = context.implementations.find((i) => i.id === C_RECVMMSG.id);
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const size of plan.cliListenSizes) {
      const row: RowId = size === 64 ? "cli-listen" : "cli-listen-1400";
      if (c !== undefined) {
        await recorder.record(
          row,
          c,
          () => measureC(c, size, context),
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
