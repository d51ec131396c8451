/**
 * Where the bench's processes run. On a machine with two or more CPUs and
 * `taskset`, load generators (the flooder, the clients) are pinned to CPU
 * 0 and what is measured (receivers, responders, the in-process hot-path
 * run) to CPU 1: one core each, so the figures do not swing with the
 * scheduler's placement (unpinned, one receiver measured 9k-44k datagrams
 * per second from run to run on the same 2-core machine; pinned, 38k-46k).
 * The price: a receiver's helper threads (V8's, the pool thread the FFI
 * transport waits on) share its one core. `--no-pin` turns this off.
 *
 * @module
 */

/** A program and its arguments. */
export interface Command {
  /** The executable. */
  command: string;
  /** Its arguments. */
  args: string[];
}

/** `load`: generates traffic (CPU 0). `measured`: is measured (CPU 1). */
export type Role = "load" | "measured";

let enabled = false;

/**
 * Turns pinning on when asked and possible: two CPUs or more and a
 * working `taskset`.
 *
 * @param wanted Whether the run asks for pinning.
 * @returns Whether pinning is on, or why not.
 */
export async function setupPinning(wanted: boolean): Promise<true | string> {
  enabled = false;
  if (!wanted) return "turned off (--no-pin)";
  if (navigator.hardwareConcurrency < 2) return "one CPU only";
  try {
    const probe = await new Deno.Command("taskset", {
      args: ["-c", "1", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!probe.success) return "taskset -c 1 failed";
  } catch {
    return "no taskset";
  }
  enabled = true;
  return true;
}

/**
 * The command, pinned to its role's CPU when pinning is on.
 *
 * @param command What to run.
 * @param role Load generator or measured.
 * @returns The command to spawn.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { placed } from "./cpu_placement.ts";
 * const run = placed({ command: "python3", args: ["-V"] }, "measured");
 * assert.match(run.command, /^(python3|taskset)$/);
 * ```
 */
export function placed(command: Command, role: Role): Command {
  if (!enabled) return command;
  return {
    command: "taskset",
    args: ["-c", role === "load" ? "0" : "1", command.command, ...command.args],
  };
}
