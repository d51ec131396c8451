/**
 * The `mcast` command line as a real subprocess of this Deno binary: spawn
 * it, run it to completion (bounded), or start `mcast listen --json` pinned
 * to 127.0.0.1 and wait for its ready event.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { LOOPBACK } from "./loopback.ts";
import { type Finished, Subprocess } from "./subprocess.ts";

/** The checkout's root directory (no trailing slash). */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url))
  .replace(/\/$/, "");
/** The CLI entry point. */
export const CLI: string = `${ROOT}/cli.ts`;
/** The permissions the CLI runs with. */
const PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-sys",
];

/** How to start the CLI. */
export interface McastOptions {
  /** The working directory. @default {ROOT} */
  cwd?: string;
  /** Variables added to the inherited environment. */
  env?: Record<string, string>;
  /** A host (`name:port`) the CLI may import modules from (`--allow-import`). */
  allowImport?: string;
}

/** `-g group -p port -i 127.0.0.1`: the CLI flags for a group and port on loopback. */
export function onLoopback(group: string, port: number): string[] {
  return ["-g", group, "-p", String(port), "-i", LOOPBACK];
}

/** Spawns `mcast ARGS...`; the caller waits for it, stops it or disposes of it. */
export function spawnMcast(
  args: string[],
  options: McastOptions = {},
): Subprocess {
  const allowImport = options.allowImport === undefined
    ? []
    : [`--allow-import=${options.allowImport}`];
  return new Subprocess(
    Deno.execPath(),
    ["run", ...PERMISSIONS, ...allowImport, CLI, ...args],
    { cwd: options.cwd ?? ROOT, env: options.env, name: "mcast" },
  );
}

/** Runs `mcast ARGS...` to completion; kills it and throws after `timeoutMs`. */
export async function runMcast(
  args: string[],
  options: McastOptions & { timeoutMs: number },
): Promise<Finished> {
  await using proc = spawnMcast(args, options);
  return await proc.wait(options.timeoutMs);
}

/** A running `mcast listen --json`; disposal kills it. */
export interface ListenerProcess extends AsyncDisposable {
  /** The process. */
  proc: Subprocess;
  /** Its parsed ready event. */
  ready: Record<string, unknown>;
  /** The group it joined. */
  group: string;
  /** Its port. */
  port: number;
}

/**
 * Starts `mcast listen --json` on `group`/`port` via 127.0.0.1 with the
 * `extra` flags, and waits at most `readyTimeoutMs` for its ready event;
 * when that does not come, kills it and throws with its output.
 */
export async function startListener(
  group: string,
  port: number,
  extra: string[],
  options: McastOptions & { readyTimeoutMs: number },
): Promise<ListenerProcess> {
  const proc = spawnMcast(
    ["listen", "--json", ...onLoopback(group, port), ...extra],
    options,
  );
  const line = await proc.waitForLine(
    (line) => line.startsWith('{"event":"ready"'),
    `the ready event of a listener on ${group}:${port}`,
    options.readyTimeoutMs,
  );
  let ready: Record<string, unknown>;
  try {
    ready = JSON.parse(line);
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
  return {
    proc,
    ready,
    group,
    port,
    [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
  };
}
