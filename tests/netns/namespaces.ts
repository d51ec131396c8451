/**
 * The network namespaces the harness owns: how they are named, and how they
 * are configured, listed and deleted, also when a killed test run left them
 * behind.
 *
 * Every name starts with `mc-<pid>-<tag>`: the pid of the process that made
 * it, and 4 random hex digits per module instance, since `deno test
 * --parallel` runs test files as workers of one process. The commands here
 * are the only ones the harness runs in the root namespace, and they are all
 * `ip netns ...` or `ip -n NS ...`.
 *
 * @module
 */

import { runChecked } from "./process.ts";

const PREFIX = "mc";
/**
 * Tells apart the namespaces of one process: `deno test --parallel` runs test
 * files as workers of one process, so the pid alone is not unique.
 */
const INSTANCE = Array.from(
  crypto.getRandomValues(new Uint8Array(2)),
  (b) => b.toString(16).padStart(2, "0"),
).join("");

/** `mc-<pid>-<tag>` followed by `suffix`: a name no other process uses. */
export function ownNamespaceName(suffix: string): string {
  return `${PREFIX}-${Deno.pid}-${INSTANCE}${suffix}`;
}

/** Names of all network namespaces (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const out = await runChecked(["ip", "netns", "list"]);
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((n) => n);
}

/** Writes `value` to the sysctl `key` (`net.ipv4.ip_forward`) inside `ns`. */
export async function sysctl(
  ns: string,
  key: string,
  value: string,
): Promise<void> {
  const path = `/proc/sys/${key.replaceAll(".", "/")}`;
  await runChecked([
    "ip",
    "netns",
    "exec",
    ns,
    "sh",
    "-c",
    'printf "%s\\n" "$2" > "$1"',
    "sh",
    path,
    value,
  ]);
}

/** Kills every process inside `ns` (bounded), then deletes it. */
export async function deleteNamespace(ns: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const pids = (await runChecked(["ip", "netns", "pids", ns]).catch(() => ""))
      .split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await runChecked(["ip", "netns", "del", ns]);
}

/**
 * Deletes namespaces named `mc-<pid>-...` whose creating process no longer
 * exists (left behind by a killed test run). Returns the names deleted.
 */
export async function removeStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    const m = /^mc-(\d+)-/.exec(ns);
    if (!m || Number(m[1]) === Deno.pid) continue;
    if (await pathExists(`/proc/${m[1]}`)) continue;
    await deleteNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
