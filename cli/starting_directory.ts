/**
 * The directory the user ran mcast from, against which paths on the
 * command line resolve (a plugin's path, the file of `--report`).
 *
 * `deno task` runs a task in mcast's own directory and says where the user
 * was in `INIT_CWD`. The installed `mcast` command runs where the user is,
 * and an `INIT_CWD` it finds there was left by some outer npm or deno task
 * (for example `npx ... task test` running a test that runs `mcast`): it is
 * not where this command was typed. So `INIT_CWD` counts only while this
 * process runs in mcast's own directory.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/**
 * mcast's own directory: where `deno task` runs its tasks. None when mcast
 * was loaded from a URL (no task runs there).
 */
const ROOT = new URL("../", import.meta.url);
const TASK_DIRECTORY = ROOT.protocol === "file:"
  ? fileURLToPath(ROOT).replace(/\/$/, "")
  : undefined;

/**
 * Where the user ran mcast from.
 *
 * @param cwd This process's working directory. @default {Deno.cwd()}
 * @param initCwd `INIT_CWD`, when set. @default {the environment's, where readable}
 * @returns `initCwd` when running in mcast's own directory (a task), else `cwd`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startingDirectory } from "./starting_directory.ts";
 * assert.equal(startingDirectory("/home/me/project", "/elsewhere"), "/home/me/project");
 * ```
 */
export function startingDirectory(
  cwd: string = Deno.cwd(),
  initCwd: string | undefined = readInitCwd(),
): string {
  const inTaskDirectory = cwd.replace(/\/$/, "") === TASK_DIRECTORY;
  return inTaskDirectory && initCwd ? initCwd : cwd;
}

function readInitCwd(): string | undefined {
  try {
    return Deno.env.get("INIT_CWD");
  } catch {
    return undefined; // no --allow-env: the process's own directory it is
  }
}
