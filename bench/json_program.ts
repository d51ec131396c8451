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
  const lines = await runJsonLinesProgram(description, command, timeoutMs);
  return lines[lines.length - 1] as T;
}

/**
 * Runs `command` as {@linkcode runJsonProgram} does and returns every
 * standard-output line that is a JSON object, in order (an NDJSON
 * stream such as `send --json`'s interval events and summary); the last
 * line must be one.
 *
 * @param description What it is, for the error message.
 * @param command The program and its arguments (already placed).
 * @param timeoutMs Kill it after this long.
 * @returns The parsed lines.
 * @throws {Error} with its standard error when it fails or its last line is no JSON object.
 *
 * @example
 * ```ts ignore
 * import { runJsonLinesProgram } from "./json_program.ts";
 * const events = await runJsonLinesProgram("send", { command: "echo", args: ["{}"] }, 1000);
 * ```
 */
export async function runJsonLinesProgram(
  description: string,
  command: Command,
  timeoutMs: number,
): Promise<unknown[]> {
  const child = new Deno.Command(command.command, {
    args: command.args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const output = await child.output();
  clearTimeout(killer);
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  if (!output.success || !last.startsWith("{")) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(
      `${description} failed (${output.signal ?? `exit ${output.code}`}): ${
        stderr.split("\n").slice(0, 6).join("\n")
      }`,
    );
  }
  return lines.filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line)
  );
}
