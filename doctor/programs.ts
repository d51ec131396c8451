/**
 * Runs the programs doctor asks about the host (`ip`, `nft`,
 * `iptables-save`, `ip6tables-save`): bounded in time, output as text,
 * and a failure as one line that says why (not found, not allowed,
 * or what the program said).
 *
 * @module
 */

import { type Read, readFailed, readOk } from "./facts.ts";

/** The programs doctor runs, and nothing else. */
export const DOCTOR_PROGRAMS: readonly string[] = [
  "ip",
  "nft",
  "iptables-save",
  "ip6tables-save",
];

/** How long one program may take. */
const PROGRAM_TIMEOUT_MS = 5000;

/**
 * Runs `program args...` and returns its standard output, or why it
 * failed: `PROGRAM: not found on PATH`, `PROGRAM: not allowed`, or the first
 * line of what it wrote to standard error.
 *
 * @example
 * ```ts ignore
 * import { runProgram } from "./programs.ts";
 * const routes = await runProgram("ip", ["-j", "route", "show", "default"]);
 * ```
 */
export async function runProgram(
  program: string,
  args: string[],
): Promise<Read<string>> {
  if (!DOCTOR_PROGRAMS.includes(program)) {
    return readFailed(`${program}: doctor does not run it`);
  }
  try {
    const output = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(PROGRAM_TIMEOUT_MS),
    }).output();
    const decoder = new TextDecoder();
    if (output.success) return readOk(decoder.decode(output.stdout));
    const said = decoder.decode(output.stderr).trim().split("\n")[0];
    return readFailed(
      `${program}: ${said || `exit status ${output.code}`}`,
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return readFailed(`${program}: not found on PATH`);
    }
    if (error instanceof Deno.errors.NotCapable) {
      return readFailed(`${program}: not allowed (--allow-run=${program})`);
    }
    return readFailed(`${program}: ${(error as Error).message}`);
  }
}
