/**
 * sockperf 3.7 (Debian's `sockperf`), the C reference of rows 2s: its
 * server as a responder (on the measured CPU) and its ping-pong client
 * (on the load CPU), multicast on 127.0.0.1 with TTL 0, the server
 * replying to the sender (`--force-unicast-reply`, as mcast's listeners
 * do). The client's figures are read from its report: the round trips
 * of its valid duration (its 400 ms warm-up left out), and its
 * percentiles of the round trip (`--full-rtt`, microseconds).
 *
 * @module
 */

import { assertBenchEndpoint, type Endpoint, LOOPBACK } from "../addresses.ts";
import type { PingPongResult } from "../client_protocol.ts";
import { placed } from "../cpu_placement.ts";
import type { Plan } from "../plan.ts";

/** How long the server may take to say it listens, ms. */
const READY_MS = 10_000;

/** The multicast options both ends take: loopback only, TTL 0. */
function multicastArgs(endpoint: Endpoint): string[] {
  assertBenchEndpoint(endpoint);
  return [
    ...["-i", endpoint.group, "-p", String(endpoint.port)],
    ...["--mc-rx-if", LOOPBACK, "--mc-tx-if", LOOPBACK, "--mc-ttl", "0"],
  ];
}

/** Without the terminal's colour codes. */
function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/**
 * Reads a client's report: round trips and time of the valid duration,
 * drops, p50 and p99 (microseconds in the report, ms here).
 *
 * @param report What `sockperf ping-pong --full-rtt` printed.
 * @returns The figures, as the bench's clients report theirs.
 * @throws {Error} when the report lacks them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSockperfReport } from "./sockperf.ts";
 * const result = readSockperfReport([
 *   "sockperf: [Valid Duration] RunTime=2.550 sec; SentMessages=85047; ReceivedMessages=85047",
 *   "sockperf: # dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0",
 *   "sockperf: ---> percentile 99.000 =   83.626",
 *   "sockperf: ---> percentile 50.000 =   23.183",
 * ].join("\n"));
 * assert.equal(result.roundTrips, 85047);
 * assert.equal(result.p50Ms, 0.023183);
 * ```
 */
export function readSockperfReport(report: string): PingPongResult {
  const text = plain(report);
  const valid =
    /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/
      .exec(text);
  const dropped = /# dropped messages = (\d+)/.exec(text);
  const p50 = /percentile 50\.000 =\s*([\d.]+)/.exec(text);
  const p99 = /percentile 99\.000 =\s*([\d.]+)/.exec(text);
  if (valid === null || p50 === null || p99 === null) {
    throw new Error(`no figures in sockperf's report: ${text.slice(-1500)}`);
  }
  return {
    roundTrips: Number(valid[3]),
    seconds: Number(valid[1]),
    timeouts: Number(dropped?.[1] ?? 0),
    p50Ms: Number(p50[1]) / 1000,
    p99Ms: Number(p99[1]) / 1000,
  };
}

/**
 * `sockperf ping-pong` of 64-byte (`plan.requestSize`) messages to
 * `endpoint` for about twice `plan.cPingPongSeconds` (whole seconds, at
 * least 1), on the load CPU.
 *
 * @param endpoint The group and port.
 * @param plan The run's plan.
 * @returns Its figures.
 */
export async function runSockperfClient(
  endpoint: Endpoint,
  plan: Plan,
): Promise<PingPongResult> {
  const seconds = Math.max(1, Math.round(plan.cPingPongSeconds * 2));
  const run = placed({
    command: "sockperf",
    args: [
      "ping-pong",
      ...multicastArgs(endpoint),
      ...["-m", String(plan.requestSize), "-t", String(seconds), "--full-rtt"],
    ],
  }, "load");
  const child = new Deno.Command(run.command, {
    args: run.args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(
    () => child.kill("SIGKILL"),
    seconds * 1000 + 30_000,
  );
  const output = await child.output();
  clearTimeout(killer);
  const decoder = new TextDecoder();
  const report = decoder.decode(output.stdout) + decoder.decode(output.stderr);
  if (!output.success) {
    throw new Error(`sockperf ping-pong failed: ${plain(report).slice(-400)}`);
  }
  return readSockperfReport(report);
}

/** `sockperf server` on an endpoint; disposing of it stops it. */
export class SockperfServer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<string>;

  private constructor(child: Deno.ChildProcess, output: Promise<string>) {
    this.#child = child;
    this.#output = output;
  }

  /**
   * Whether sockperf runs here: true, or why not.
   *
   * @returns True, or the reason.
   */
  static async available(): Promise<true | string> {
    try {
      const version = await new Deno.Command("sockperf", {
        args: ["--version"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return version.success ? true : "sockperf --version failed";
    } catch {
      return "no sockperf (Debian package sockperf): rows 2s have no C reference";
    }
  }

  /**
   * Starts the server on the measured CPU and waits until it listens.
   *
   * @param endpoint The group and port.
   * @returns The running server.
   * @throws {Error} when it does not start in time.
   */
  static async start(endpoint: Endpoint): Promise<SockperfServer> {
    const run = placed({
      command: "sockperf",
      args: ["server", ...multicastArgs(endpoint), "--force-unicast-reply"],
    }, "measured");
    const child = new Deno.Command(run.command, {
      args: run.args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let ready: () => void = () => {};
    const listening = new Promise<void>((resolve) => ready = resolve);
    const output = (async () => {
      let text = "";
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        text = (text + decoder.decode(chunk, { stream: true })).slice(-4096);
        if (text.includes("to block on socket")) ready();
      }
      return text;
    })();
    const server = new SockperfServer(child, output);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), READY_MS)
    );
    const first = await Promise.race([listening, late, child.status]);
    clearTimeout(timer);
    if (first !== undefined) {
      await server[Symbol.asyncDispose]();
      throw new Error(`sockperf server did not start: ${await output}`);
    }
    return server;
  }

  /** Stops the server and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#output.catch(() => "");
  }
}
