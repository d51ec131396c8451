/**
 * The V8 flag the launcher runs every command with, so that a command
 * left running for weeks reaches its size within its first minute and
 * stays there.
 *
 * V8 makes new objects in its young generation (two semi-spaces) and
 * grows it in steps, doubling a semi-space each time as much has
 * survived its scavenges as the space holds, from 4 MiB up to 32 MiB on
 * 64-bit Linux: under steady load a process keeps growing for minutes
 * and then stops. Measured with `--trace-gc` under bench row 11's loads
 * (docs/performance.md): `listen --metrics` at 1,000 requests/s from
 * 10,000 sources allocates ~2 MB/s, and its semi-space doubled at 40,
 * 114 and 273 s (RSS 81.9 MiB at 1 minute, 126.7 at 6.5); `send -c 0
 * --seq --metrics` against 50 responders reached 32 MiB at 204 s (RSS
 * 91.6 MiB at 1 minute, 144.7 at 5). What a full collection left live
 * was 8.4-9.9 MiB in both.
 * With the semi-space held at the size V8 starts it with
 * ({@linkcode MAX_SEMI_SPACE_MIB}), both stay within a few MiB of their
 * 1-minute size.
 *
 * What a smaller young generation costs (more scavenges at high rates)
 * is in docs/performance.md ("V8's young generation held at its starting
 * size"): nothing measurable for the CLI listener at 100,000
 * datagrams/s, 9% in row 5's in-process loop of the text `ack`.
 *
 * @module
 */

/** V8's largest semi-space for a command, MiB: the size V8 starts it with. */
export const MAX_SEMI_SPACE_MIB = 4;

/**
 * The `deno run` flags that set V8's heap for a command: the launcher
 * puts them before the script, and bench row 11 runs `cli.ts` with them
 * as the launcher would.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMAND_V8_FLAGS } from "./heap_limits.ts";
 * assert.deepEqual(COMMAND_V8_FLAGS, ["--v8-flags=--max-semi-space-size=4"]);
 * ```
 */
export const COMMAND_V8_FLAGS: readonly string[] = [
  `--v8-flags=--max-semi-space-size=${MAX_SEMI_SPACE_MIB}`,
];
