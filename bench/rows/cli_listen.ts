/**
 * Row 7: the CLI listener under a flood, as users run it: `deno task
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

import { fileURLToPath } from "node:url";
import { assertBenchEndpoint, type Endpoint, LOOPBACK } from "../addresses.ts";
import { placed } from "../cpu_placement.ts";
import type { Flooder } from "../flooder.ts";
import { C_RECVMMSG } from "../implementations.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics } from "../results.ts";
import type { RowContext } from "./context.ts";
import { measureOneWay } from "./one_way.ts";

const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** How long the CLI may take to print its ready line, ms. */
const READY_MS = 20_000;
/** After the flood, before SIGINT: the socket's buffer drains, ms. */
const DRAIN_MS = 1_000;
/** How long the CLI may take to exit after SIGINT, ms. */
const EXIT_MS = 10_000;
/** The tail of the output kept, to read the summary from, characters. */
const TAIL_CHARS = 16_384;

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

/** What a stopped CLI listener said. */
interface CliOutcome {
  /** Its summary's `received`. */
  received: number;
  /** Its summary's `kernelDrops` (0 when absent). */
  kernelDrops: number;
  /** Lines it printed in all. */
  lines: number;
}

/** The summary's counters, from the human summary or the NDJSON event. */
function readSummary(tail: string): { received: number; kernelDrops: number } {
  const json = /\{"event":"summary".*\}/.exec(tail);
  if (json !== null) {
    const summary = JSON.parse(json[0]);
    return {
      received: summary.received,
      kernelDrops: summary.kernelDrops ?? 0,
    };
  }
  const human = /^--- .* ---\n(\d+) received,.*$/m.exec(tail);
  if (human === null) {
    throw new Error(`no summary in the CLI's output: ...${tail.slice(-300)}`);
  }
  const drops = /(\d+) dropped by the kernel/.exec(human[0]);
  return { received: Number(human[1]), kernelDrops: Number(drops?.[1] ?? 0) };
}

/**
 * Starts the CLI listener, floods it, stops it with SIGINT and reads its
 * summary. Kills it when any step overruns.
 */
async function floodCli(
  mode: CliMode,
  endpoint: Endpoint,
  flood: () => Promise<{ sent: number; seconds: number }>,
): Promise<CliOutcome & { sent: number }> {
  assertBenchEndpoint(endpoint);
  const run = placed({
    command: Deno.execPath(),
    args: [
      "task",
      "--quiet",
      "--config",
      CONFIG,
      "listen",
      ...["-g", endpoint.group, "-p", String(endpoint.port)],
      ...["-i", LOOPBACK, "--plugin", "silent", ...mode.flags],
    ],
  }, "measured");
  const child = new Deno.Command(run.command, {
    args: run.args,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(
    () => child.kill("SIGKILL"),
    READY_MS + EXIT_MS + 60_000,
  );
  const stderr = new Response(child.stderr).text();
  let tail = "";
  let lines = 0;
  let ready: () => void = () => {};
  const isReady = new Promise<void>((resolve) => ready = resolve);
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      for (const byte of chunk) if (byte === 10) lines++;
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(
        -TAIL_CHARS,
      );
      if (/listening on |"event":"ready"/.test(tail)) ready();
    }
  })();
  try {
    const readyTimer = new Promise<"timeout">((resolve) =>
      setTimeout(() => resolve("timeout"), READY_MS)
    );
    const first = await Promise.race([
      isReady.then(() => "ready" as const),
      readyTimer,
      child.status.then(() => "exited" as const),
    ]);
    if (first !== "ready") {
      if (first === "timeout") child.kill("SIGKILL");
      await child.status;
      throw new Error(`the CLI listener ${first}: ${await stderr}`);
    }
    const flooded = await flood();
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    child.kill("SIGINT");
    const status = await child.status;
    await reading;
    if (!status.success) {
      throw new Error(
        `the CLI listener exited with ${status.code}: ${await stderr}`,
      );
    }
    return { ...readSummary(tail), lines, sent: flooded.sent };
  } finally {
    clearTimeout(killer);
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await stderr.catch(() => "");
  }
}

/** One CLI measurement's figures. */
async function measureCli(
  mode: CliMode,
  context: RowContext,
  flooder: Flooder,
): Promise<Metrics> {
  const { plan, endpoints } = context;
  const endpoint = endpoints.next();
  const outcome = await floodCli(mode, endpoint, () =>
    flooder.flood(
      endpoint,
      plan.cliListenCount,
      64,
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

/**
 * Row 7, `plan.repeats` times, alternating: the C receiver, then the CLI
 * with `-q`, with human lines and with `--json`.
 *
 * @param context The run's shared state.
 */
export async function cliListenRow(context: RowContext): Promise<void> {
  const { plan, flooder, endpoints, recorder } = context;
  const c = context.implementations.find((i) => i.id === C_RECVMMSG.id);
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    if (c !== undefined) {
      await recorder.record("cli-listen", c, async () => {
        const metrics = await measureOneWay(
          {
            implementation: c,
            size: 64,
            count: plan.cliListenCount,
            seconds: plan.cliListenSeconds,
            warmupSeconds: 0,
          },
          flooder,
          endpoints,
        );
        const { offered, received, lossPercent } = metrics;
        return { offered, received, lossPercent };
      });
    }
    for (const mode of MODES) {
      await recorder.record(
        "cli-listen",
        mode.subject,
        () => measureCli(mode, context, flooder),
      );
    }
  }
}
