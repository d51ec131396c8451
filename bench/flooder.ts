/**
 * The fixed sender of the one-way rows: `senders/flood.c` (sendmmsg,
 * batches of 64, unpaced or paced at a given rate; or each batch one UDP
 * GSO send, `segments`) compiled at run time (`c_program.ts`), or
 * `senders/flood.py` when there is no compiler. No binary is kept.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { assertBenchEndpoint, type Endpoint } from "./addresses.ts";
import { compileC } from "./c_program.ts";
import { placed } from "./cpu_placement.ts";

/** What one flood did. */
export interface FloodReport {
  /** Datagrams handed to the kernel. */
  sent: number;
  /** How long sending took. */
  seconds: number;
  /**
   * Whether the batches left as UDP GSO sends (asked with `segments` and
   * the kernel could); absent from the Python sender.
   */
  segmented?: boolean;
}

/** How a flood is sent, besides its count, size, time and rate. */
export interface FloodOptions {
  /**
   * Each batch as one UDP GSO send (`UDP_SEGMENT`) that the kernel cuts
   * into datagrams: ~4x the datagrams a second of `sendmmsg` on loopback,
   * where the sender's CPU also delivers them (`senders/flood.c`). The C
   * sender only, and only where the kernel can (it falls back to
   * `sendmmsg` and reports `segmented: false`). @default false
   */
  segments?: boolean;
}

/** A ready sender; call {@linkcode Flooder.dispose} when done. */
export interface Flooder {
  /** `c-sendmmsg` or `python`. */
  kind: string;
  /**
   * Sends up to `count` datagrams of `size` bytes to the group, for at
   * most `seconds`; a sender that overruns by 5 s is killed. With `rate`
   * (datagrams per second) the sender is paced: each millisecond it sends
   * what brings its total to `rate` x elapsed time (50 a millisecond at
   * 50,000/s); without, it sends as fast as it can.
   */
  flood(
    endpoint: Endpoint,
    count: number,
    size: number,
    seconds: number,
    rate?: number,
    options?: FloodOptions,
  ): Promise<FloodReport>;
  /** Removes the compiled sender. */
  dispose(): Promise<void>;
}

const PYTHON_SENDER = fileURLToPath(
  new URL("./senders/flood.py", import.meta.url),
);

/**
 * Builds the C sender, or falls back to Python.
 *
 * @param prefer `auto` (C when gcc works), or force `python`.
 * @returns The sender, and why C was not used when it was not.
 */
export async function prepareFlooder(
  prefer: "auto" | "python" = "auto",
): Promise<Flooder & { fallbackReason?: string }> {
  const built = prefer === "python"
    ? "python forced"
    : await compileC("senders/flood.c");
  const c = typeof built === "string" ? undefined : built;
  const command = c?.path ?? "python3";
  const prefix = c === undefined ? [PYTHON_SENDER] : [];
  return {
    kind: c === undefined ? "python" : "c-sendmmsg",
    fallbackReason: typeof built === "string" ? built : undefined,
    async flood(endpoint, count, size, seconds, rate = 0, options = {}) {
      assertBenchEndpoint(endpoint);
      if (!(Number.isInteger(rate) && rate >= 0)) {
        throw new RangeError(`Flood rate must be a whole number, not ${rate}`);
      }
      const run = placed({
        command,
        args: [
          ...prefix,
          ...(options.segments && c !== undefined ? ["--segments"] : []),
          endpoint.group,
          String(endpoint.port),
          String(count),
          String(size),
          String(seconds),
          ...(rate > 0 ? [String(rate)] : []),
        ],
      }, "load");
      const child = new Deno.Command(run.command, {
        args: run.args,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const killer = setTimeout(
        () => child.kill("SIGKILL"),
        (seconds + 5) * 1000,
      );
      const output = await child.output();
      clearTimeout(killer);
      const text = new TextDecoder().decode(output.stdout).trim();
      if (!output.success || !text.startsWith("{")) {
        throw new Error(
          `flooder failed: ${new TextDecoder().decode(output.stderr).trim()}`,
        );
      }
      return JSON.parse(text) as FloodReport;
    },
    async dispose() {
      await c?.dispose();
    },
  };
}
