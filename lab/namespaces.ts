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

import { removeFrrRuntime } from "./frr.ts";
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

/**
 * Kills every process inside `ns` (bounded), then deletes it, and the
 * runtime folders FRR keeps outside the namespace for the daemons killed.
 */
export async function deleteNamespace(ns: string): Promise<void> {
  const killed: number[] = [];
  for (let round = 0; round < 5; round++) {
    const pids = (await runChecked(["ip", "netns", "pids", ns]).catch(() => ""))
      .split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) {
      killed.push(pid);
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Before the delete, which fails if another process deleted it first.
  await removeFrrRuntime(killed);
  await runChecked(["ip", "netns", "del", ns]);
}

/**
 * Deletes namespaces named `mc-<pid>-...` whose creating process no longer
 * exists (left behind by a killed test run), and their routers' temporary
 * folders (`mc-<pid>-<tag><n>-<router>-XXXX` in the temporary directory).
 * Returns the names deleted.
 */
export async function removeStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    if (!(await isStale(ns))) continue;
    await deleteNamespace(ns);
    removed.push(ns);
  }
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  for await (const entry of Deno.readDir(tmp)) {
    const name = entry.name;
    if (!entry.isDirectory || !LAB_TEMP_DIR.test(name)) continue;
    if (!(await isStale(name))) continue;
    try {
      await Deno.remove(`${tmp}/${name}`, { recursive: true });
      removed.push(`${tmp}/${name}`);
    } catch (error) {
      // Another test process starting now may have removed it first.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return removed;
}

/** A router's temporary folder, as lab.ts names it. */
const LAB_TEMP_DIR = /^mc-\d+-[0-9a-f]{4}\d+-[a-z][a-z0-9]{0,11}-/;

/** Whether `name` (`mc-<pid>-...`) was made by a process that is gone. */
async function isStale(name: string): Promise<boolean> {
  const m = /^mc-(\d+)-/.exec(name);
  if (!m || Number(m[1]) === Deno.pid) return false;
  return !(await pathExists(`/proc/${m[1]}`));
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
