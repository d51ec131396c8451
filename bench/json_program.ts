/**
 * Runs one of the bench's subprocesses (a client, the hot-path probe),
 * already placed on its CPU, and parses the JSON line it prints last.
 *
 * @module
 */

import type { Command } from "./cpu_placement.ts";

/**
 * Runs `command`, kills it after `timeoutMs`, and returns its last
 * standard-output line parsed as JSON.
 *
 * @param description What it is, for the error message.
 * @param command The program and its arguments (already placed).
 * @param timeoutMs Kill it after this long.
 * @returns The parsed line.
 * @throws {Error} with its standard error when it fails or prints no JSON line.
 *
 * @example
 * ```ts ignore
 * import { runJsonProgram } from "./json_program.ts";
 * const result = await runJsonProgram("probe", { command: "echo", args: ["{}"] }, 1000);
 * ```
 */
export async function runJsonProgram<T>(
  description: string,
  command: Command,
  timeoutMs: number,
): Promise<T> {
  const child = new Deno.Command(command.command, {
    args: command.args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const output = await child.output();
  clearTimeout(killer);
  const line = new TextDecoder().decode(output.stdout).trim().split("\n")
    .pop() ?? "";
  if (!output.success || !line.startsWith("{")) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(
      `${description} failed (${output.signal ?? `exit ${output.code}`}): ${
        stderr.split("\n").slice(0, 6).join("\n")
      }`,
    );
  }
  return JSON.parse(line) as T;
}
