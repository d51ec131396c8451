/**
 * FRRouting's PIM in a lab router: the configuration a router gets, starting
 * its `zebra` and `pimd` with files of their own, asking them questions
 * through `vtysh`, waiting (bounded, by polling) for PIM neighbours and
 * joins, and removing the runtime folders FRR leaves outside the lab.
 *
 * Each router's daemons keep everything in the router's temporary folder
 * DIR (configuration, pid files, the zebra socket `zserv.api`, the vty
 * sockets `zebra.vty` and `pimd.vty`) and run in the router's namespace, so
 * several routers (and several test runs) share nothing:
 *
 * ```text
 * ip netns exec NS /usr/lib/frr/zebra -f DIR/zebra.conf -i DIR/zebra.pid \
 *   -z DIR/zserv.api --vty_socket DIR -P 0 --log stdout
 * ip netns exec NS /usr/lib/frr/pimd  -f DIR/pimd.conf  -i DIR/pimd.pid \
 *   -z DIR/zserv.api --vty_socket DIR -P 0 --log stdout
 * vtysh --vty_socket DIR -c 'show ip pim join json'
 * ```
 *
 * `-P 0` opens no TCP vty at all (zebra's `-A` would also be read as its
 * `--asic-offload`). The daemons drop root for the `frr` user, so DIR is
 * given to that user. FRR also makes `/var/tmp/frr/<daemon>.<pid>/` for its
 * crash logs and removes it only on a clean exit:
 * {@linkcode removeFrrRuntime} deletes the ones of daemons that did not exit
 * cleanly.
 *
 * Debian's `frr` package (8.4) is built with `--disable-pim6d`: there is no
 * IPv6 PIM here, only `pimd` (IPv4, IGMP).
 *
 * @module
 */

import type { Node } from "./lab.ts";
import type { Proc, ProcResult } from "./process.ts";
import { runChecked } from "./process.ts";

/** Where Debian installs FRR's daemons. */
export const FRR_DAEMON_DIR = "/usr/lib/frr";
/** What a PIM router needs: pass it as `needs` to `netnsTest`. */
export const FRR_PROGRAMS: readonly string[] = [
  "vtysh",
  `${FRR_DAEMON_DIR}/zebra`,
  `${FRR_DAEMON_DIR}/pimd`,
];
/** FRR's own folder for crash logs, one `<daemon>.<pid>` folder per daemon. */
const FRR_TMP_DIR = "/var/tmp/frr";
/** How long a daemon may take to open its sockets. */
const START_MS = 10_000;
/** How long a daemon may run at most: longer than any PIM test. */
const DAEMON_LIFETIME_MS = 600_000;

/** What goes into one router's `pimd.conf`. */
export interface PimConfig {
  /** Interfaces that run PIM: all of the router's. */
  interfaces: readonly string[];
  /** Interfaces that also speak IGMP to hosts (listeners' segments). */
  igmp: readonly string[];
  /** The rendezvous point's address. */
  rp: string;
  /** Groups the rendezvous point serves (`239.0.0.0/8`). */
  rpGroups: string;
}

/**
 * The text of `pimd.conf`: `ip pim` on every interface, `ip igmp` on the
 * listeners' ones, and the static RP. Groups in 232.0.0.0/8 are
 * source-specific (FRR's default SSM range) and need no RP.
 *
 * @param config Interfaces, IGMP interfaces and RP.
 * @returns The configuration file's text.
 */
export function pimdConfig(config: PimConfig): string {
  const lines: string[] = [];
  for (const itf of config.interfaces) {
    lines.push(`interface ${itf}`, " ip pim");
    if (config.igmp.includes(itf)) lines.push(" ip igmp");
  }
  lines.push(`ip pim rp ${config.rp} ${config.rpGroups}`);
  return lines.join("\n") + "\n";
}

/** The two daemons of a PIM router. */
export interface FrrDaemons {
  /** The kernel interface: routes, interfaces, multicast routes. */
  zebra: Proc;
  /** PIM-SM / PIM-SSM and IGMP. */
  pimd: Proc;
}

/**
 * Writes the configuration into `dir`, gives `dir` to the `frr` user, starts
 * `zebra` in `node`, waits for its socket, then starts `pimd` and waits for
 * its vty socket. Rejects with a daemon's output when it exits first or
 * does not open its socket within 10 s.
 *
 * @param node The router's namespace (the lab stops what it spawns).
 * @param dir The router's own temporary folder.
 * @param config What `pimd.conf` holds.
 * @param started Called with each daemon as it is started, also when it
 *   then fails: its runtime folder is to be removed (see
 *   {@linkcode removeFrrRuntime}).
 * @returns The running daemons.
 */
export async function startFrr(
  node: Node,
  dir: string,
  config: PimConfig,
  started: (daemon: Proc) => void,
): Promise<FrrDaemons> {
  await Deno.writeTextFile(`${dir}/zebra.conf`, "");
  await Deno.writeTextFile(`${dir}/pimd.conf`, pimdConfig(config));
  const { uid, gid } = await frrUser();
  for (const path of [dir, `${dir}/zebra.conf`, `${dir}/pimd.conf`]) {
    await Deno.chown(path, uid, gid);
  }
  const zebra = spawnDaemon(node, dir, "zebra");
  started(zebra);
  await waitForSocket(zebra, `${dir}/zserv.api`);
  const pimd = spawnDaemon(node, dir, "pimd");
  started(pimd);
  await waitForSocket(pimd, `${dir}/pimd.vty`);
  return { zebra, pimd };
}

function spawnDaemon(node: Node, dir: string, daemon: string): Proc {
  return node.spawn([
    `${FRR_DAEMON_DIR}/${daemon}`,
    "-f",
    `${dir}/${daemon}.conf`,
    "-i",
    `${dir}/${daemon}.pid`,
    "-z",
    `${dir}/zserv.api`,
    "--vty_socket",
    dir,
    "-P",
    "0",
    "--log",
    "stdout",
  ], { timeoutMs: DAEMON_LIFETIME_MS });
}

/** Waits (bounded) until `path` exists; rejects if `daemon` exits first. */
async function waitForSocket(daemon: Proc, path: string): Promise<void> {
  const deadline = Date.now() + START_MS;
  while (!(await exists(path))) {
    if (daemon.exited || Date.now() >= deadline) {
      const r = daemon.exited ? await daemon.done : undefined;
      throw new Error(
        `${daemon.argv.join(" ")} ${
          r ? `exited (code ${r.code})` : `opened no ${path} in ${START_MS} ms`
        }:\n${[...daemon.lines, ...daemon.errorLines].join("\n")}`,
      );
    }
    await sleep(20);
  }
}

let cachedUser: Promise<{ uid: number; gid: number }> | undefined;

/** The `frr` user's ids: FRR's daemons drop root for them. */
function frrUser(): Promise<{ uid: number; gid: number }> {
  cachedUser ??= (async () => ({
    uid: Number((await runChecked(["id", "-u", "frr"])).trim()),
    gid: Number((await runChecked(["id", "-g", "frr"])).trim()),
  }))();
  return cachedUser;
}

/**
 * Deletes FRR's `/var/tmp/frr/<daemon>.<pid>` folders of these processes,
 * which FRR removes itself only on a clean exit. Folders of other processes
 * are never touched.
 *
 * @param pids Processes that have exited (FRR daemons or not).
 * @returns The folders deleted.
 */
export async function removeFrrRuntime(
  pids: readonly number[],
): Promise<string[]> {
  const removed: string[] = [];
  if (pids.length === 0) return removed;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(FRR_TMP_DIR));
  } catch {
    return removed; // No FRR folder: nothing was left.
  }
  for (const entry of entries) {
    const m = /^[a-z0-9]+(?:-\d+)?\.(\d+)$/.exec(entry.name);
    if (!m || !pids.includes(Number(m[1]))) continue;
    const path = `${FRR_TMP_DIR}/${entry.name}`;
    await Deno.remove(path, { recursive: true });
    removed.push(path);
  }
  return removed;
}

// ---------------------------------------------------------------------------
// Looking inside: vtysh, and waiting for neighbours and joins

/** Something that answers vtysh commands: a lab PIM router. */
export interface Vtysh {
  /** Name, for messages. */
  readonly name: string;
  /** Runs `vtysh --vty_socket DIR -c COMMAND` (bounded). */
  vtysh(command: string): Promise<ProcResult>;
}

/**
 * Runs `vtysh -c COMMAND` on `router` and parses its JSON (the command ends
 * in `json`); throws with vtysh's output when it fails.
 */
export async function vtyshJson(
  router: Vtysh,
  command: string,
): Promise<Record<string, unknown>> {
  const r = await router.vtysh(command);
  try {
    if (r.code !== 0) throw new Error(`exit ${r.code}`);
    return JSON.parse(r.stdout);
  } catch (error) {
    throw new Error(
      `${router.name}: vtysh -c '${command}' failed (${
        (error as Error).message
      }):\n${r.stdout}${r.stderr}`,
    );
  }
}

/**
 * The PIM neighbours' addresses of `router`
 * (`show ip pim neighbor json`: interface -> neighbour -> details).
 */
export async function pimNeighbors(router: Vtysh): Promise<string[]> {
  const byInterface = await vtyshJson(router, "show ip pim neighbor json");
  return Object.values(byInterface).flatMap((n) =>
    Object.keys(n as Record<string, unknown>)
  ).sort();
}

/**
 * The joins `router` has received, as `SOURCE,GROUP` (`*,G` for the shared
 * tree), from `show ip pim join json`: interface -> details and, under each
 * group, source -> join.
 */
export async function pimJoins(router: Vtysh): Promise<string[]> {
  const byInterface = await vtyshJson(router, "show ip pim join json");
  const joins: string[] = [];
  for (const itf of Object.values(byInterface)) {
    if (typeof itf !== "object" || itf === null) continue;
    for (const [group, sources] of Object.entries(itf)) {
      if (typeof sources !== "object" || sources === null) continue;
      for (const source of Object.keys(sources)) {
        joins.push(`${source},${group}`);
      }
    }
  }
  return joins.sort();
}

/**
 * Polls `probe` every 50 ms until `done` accepts its answer, for at most
 * `timeoutMs`; throws with the last answer when time runs out.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() >= deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${
          JSON.stringify(value)
        }`,
      );
    }
    await sleep(50);
  }
}

/** Waits (bounded) until `router` has exactly the PIM neighbours `expected`. */
export function waitForPimNeighbors(
  router: Vtysh,
  expected: readonly string[],
  timeoutMs = 10_000,
): Promise<string[]> {
  const want = JSON.stringify([...expected].sort());
  return pollUntil(
    `the PIM neighbours ${want} of ${router.name}`,
    () => pimNeighbors(router),
    (seen) => JSON.stringify(seen) === want,
    timeoutMs,
  );
}

/**
 * Waits (bounded) until `router` has received a PIM join for `source`
 * (`*` for the shared tree) and `group`.
 */
export function waitForPimJoin(
  router: Vtysh,
  source: string,
  group: string,
  timeoutMs = 10_000,
): Promise<string[]> {
  return pollUntil(
    `a PIM join (${source}, ${group}) at ${router.name}`,
    () => pimJoins(router),
    (joins) => joins.includes(`${source},${group}`),
    timeoutMs,
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
