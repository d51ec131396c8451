/**
 * The bench's clients (`clients/*.ts`): what they print (one JSON line on
 * standard output when they finish) and how the orchestrator runs one as
 * a subprocess. Each client has its own limits in count and time; the
 * orchestrator kills one that overruns.
 *
 * @module
 */

import { assertBenchEndpoint } from "./addresses.ts";
import { fileURLToPath } from "node:url";
import { type Command, placed } from "./cpu_placement.ts";
import { pythonExecutable } from "./implementations.ts";
import { runJsonProgram } from "./json_program.ts";
import type { Metrics } from "./results.ts";

/** Result of a ping-pong run: send, wait for the reply, repeat. */
export interface PingPongResult {
  /** Completed round trips (warm-up excluded). */
  roundTrips: number;
  /** Requests whose reply did not come within the per-request timeout. */
  timeouts: number;
  /** Wall time of the counted round trips. */
  seconds: number;
  /** Median round-trip time, ms. */
  p50Ms: number;
  /** 99th percentile round-trip time, ms. */
  p99Ms: number;
}

/**
 * A ping-pong result as a row's figures: round trips, round trips a
 * second, p50 and p99 in ms, timeouts.
 *
 * @param result What the client printed.
 * @returns The metrics.
 */
export function pingPongMetrics(result: PingPongResult): Metrics {
  return {
    roundTrips: result.roundTrips,
    roundTripsPerSecond: Math.round(result.roundTrips / result.seconds),
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    timeouts: result.timeouts,
  };
}

/**
 * Result of a load run: sequence-numbered requests sent back to back
 * (each send awaited, as `send()` does), replies matched by number.
 */
export interface LoadResult {
  /** Requests sent. */
  sent: number;
  /** First replies to distinct requests. */
  replies: number;
  /** From the first send to the last reply. */
  seconds: number;
  /** Median round-trip time of the replies, ms. */
  p50Ms: number;
  /** 99th percentile round-trip time, ms. */
  p99Ms: number;
}

/** Result of a fan-in run: one request, replies from K listeners, repeated. */
export interface FanInResult {
  /** Rounds counted (warm-up excluded). */
  rounds: number;
  /** Counted rounds that ended in the timeout before all K replies came. */
  incomplete: number;
  /** Median time from the start of a round to its K-th reply, ms. */
  p50Ms: number;
  /** 90th percentile of the same, ms. */
  p90Ms: number;
}

/**
 * Prints a client's result line (client side).
 *
 * @param result The result.
 */
export function printResult(
  result: PingPongResult | FanInResult | LoadResult,
): void {
  console.log(JSON.stringify(result));
}

/** One client mode: takes the group, the port and the numeric arguments. */
export type ClientMode = (
  group: string,
  port: number,
  ...numbers: number[]
) => Promise<void>;

/** A client's modes: every client has these three, and may have more. */
export type ClientModes = Record<"pingpong" | "fanin" | "load", ClientMode> & {
  [mode: string]: ClientMode;
};

/**
 * A client script's entry point (client side): checks the endpoint is the
 * bench's, then runs the mode named by the first argument.
 *
 * @param name The script's name, for the error message.
 * @param modes Its modes.
 * @throws {RangeError} for an unknown mode or an endpoint outside the bench's range.
 */
export async function clientMain(
  name: string,
  modes: ClientModes,
): Promise<void> {
  const [mode, group, port, ...numbers] = Deno.args;
  assertBenchEndpoint({ group, port: Number(port) });
  const run = Object.hasOwn(modes, mode) ? modes[mode] : undefined;
  if (run === undefined) throw new RangeError(`${name}: unknown mode ${mode}`);
  await run(group, Number(port), ...numbers.map(Number));
}

/**
 * Runs a client script in a Deno subprocess (on the load generators' CPU,
 * `cpu_placement.ts`) and parses its result line (orchestrator side).
 *
 * @param script File name under `bench/clients/`.
 * @param args Its arguments.
 * @param timeoutMs Kill it after this long.
 * @returns Its result.
 * @throws {Error} with its standard error when it fails or prints no result.
 */
export function runClient<
  T extends PingPongResult | FanInResult | LoadResult,
>(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<T> {
  const path = fileURLToPath(new URL(`./clients/${script}`, import.meta.url));
  return runClientProgram<T>(`${script} ${args.join(" ")}`, {
    command: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-net",
      "--allow-read",
      "--allow-sys=networkInterfaces,hostname",
      path,
      ...args,
    ],
  }, timeoutMs);
}

/**
 * Runs a compiled client (`clients/pingpong.c`, built by `c_program.ts`)
 * on the load generators' CPU and parses its result line, as
 * {@linkcode runClient} does for a script. Its arguments are a script
 * mode's without the mode: `GROUP PORT ...`.
 *
 * @param name The client's name, for the error message.
 * @param path The executable.
 * @param args Its arguments, starting with the group and the port.
 * @param timeoutMs Kill it after this long.
 * @returns Its result.
 * @throws {RangeError} for an endpoint outside the bench's range.
 * @throws {Error} with its standard error when it fails or prints no result.
 */
export function runCompiledClient<T extends PingPongResult>(
  name: string,
  path: string,
  args: string[],
  timeoutMs: number,
): Promise<T> {
  assertBenchEndpoint({ group: args[0], port: Number(args[1]) });
  return runClientProgram<T>(
    `${name} ${args.join(" ")}`,
    { command: path, args },
    timeoutMs,
  );
}

/**
 * Runs a Python client (`clients/pingpong.py`) with the run's Python
 * interpreter on the load generators' CPU and parses its result line, as
 * {@linkcode runCompiledClient} does. Its arguments start with the group
 * and the port.
 *
 * @param script File name under `bench/clients/`.
 * @param args Its arguments, starting with the group and the port.
 * @param timeoutMs Kill it after this long.
 * @returns Its result.
 * @throws {RangeError} for an endpoint outside the bench's range.
 * @throws {Error} with its standard error when it fails or prints no result.
 */
export function runPythonClient<T extends PingPongResult>(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<T> {
  assertBenchEndpoint({ group: args[0], port: Number(args[1]) });
  const path = fileURLToPath(new URL(`./clients/${script}`, import.meta.url));
  return runClientProgram<T>(
    `${script} ${args.join(" ")}`,
    { command: pythonExecutable(), args: [path, ...args] },
    timeoutMs,
  );
}

function runClientProgram<
  T extends PingPongResult | FanInResult | LoadResult,
>(
  description: string,
  command: Command,
  timeoutMs: number,
): Promise<T> {
  return runJsonProgram<T>(
    `client ${description}`,
    placed(command, "load"),
    timeoutMs,
  );
}
