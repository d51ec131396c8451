/**
 * Many hosts that answer one multicast request at once, for the fan-in
 * test (`fan_in_test.ts`) and the bench row `fan-in-hosts`
 * (`bench/rows/fan_in_hosts.ts`): a lab with one bridge, a sender host
 * (10.77.0.1) and up to 1,000 responder hosts (10.77.1.1 onwards, one /16;
 * a Linux bridge takes at most 1,023 ports), each a namespace of its own.
 *
 * The responders are light: one C process (`fan_in_responders.c`, built
 * with `gcc` into a temporary folder) holds a socket bound to the group in
 * every responder's namespace and answers each request at once with a
 * short unicast reply, as a seed-style responder does. It sets the
 * sender's ARP entry in every responder beforehand, so that no reply waits
 * for an ARP exchange and all of them arrive together.
 *
 * Everything lives in namespaces the lab makes (lab.ts): nothing touches
 * the machine's interfaces, and the lab, the responders and the program
 * are removed when the body ends, also when it throws.
 *
 * @module
 */

import { createLab, type Host, type Lab, type Segment } from "./lab.ts";

/** The sender's address; the responders are 10.77.1.1 onwards, on one /16. */
export const FAN_IN_SENDER = "10.77.0.1";
/** The most responder hosts one bridge takes here (its limit is 1,023 ports). */
export const MAX_FAN_IN_HOSTS = 1000;
/** Programs the fan-in hosts need besides `ip`. */
export const FAN_IN_PROGRAMS: readonly string[] = ["gcc"];
/** Hosts built at once (each is a few `ip` commands). */
const BUILD_PARALLEL = 8;
/** How long the responder process may take to open every socket, ms. */
const READY_MS = 60_000;

/** Options of {@linkcode withFanInHosts}. */
export interface FanInHostsOptions {
  /** Responder hosts, 1 to {@linkcode MAX_FAN_IN_HOSTS}. */
  hosts: number;
  /** The group the responders join and answer on. */
  group: string;
  /** The port they bind. */
  port: number;
  /**
   * How long the responder process lives at most, seconds (1-3600); the
   * lab stops it before when the body ends.
   * @default {240}
   */
  lifetimeSeconds?: number;
  /**
   * How to start the responder program (its argv in, the command line to
   * run in the sender's namespace out), e.g. pinned to a CPU.
   * @default {the argv as it is}
   */
  launch?: (argv: string[]) => string[];
}

/** A built fan-in topology, as the body of {@linkcode withFanInHosts} gets it. */
export interface FanInHosts {
  /** The sender host: run the sender in it (`sender.run`), on `eth0`. */
  sender: Host;
  /** How many responder hosts answer. */
  hosts: number;
  /** How long building the hosts and starting the responders took, ms. */
  buildMs: number;
}

/**
 * Builds a lab of `options.hosts` responder hosts and a sender on one
 * bridge, starts the responders and waits until every one listens, calls
 * `body`, then stops the responders and deletes every namespace, the
 * bridge and the compiled program, also when building or `body` fails.
 *
 * @param options Hosts, group, port and how the responders run.
 * @param body What to do with the topology; its result is returned.
 * @returns What `body` returned.
 *
 * @example One request, 20 replies
 * ```ts ignore
 * import { withFanInHosts } from "./fan_in_hosts.ts";
 * await withFanInHosts(
 *   { hosts: 20, group: "239.77.12.3", port: 41203 },
 *   async ({ sender }) => {
 *     await sender.run(["deno", "task", "send", "-g", "239.77.12.3",
 *       "-p", "41203", "-i", "eth0"]);
 *   },
 * );
 * ```
 */
export async function withFanInHosts<T>(
  options: FanInHostsOptions,
  body: (topology: FanInHosts) => Promise<T>,
): Promise<T> {
  const { hosts: count, group, port } = options;
  const lifetime = options.lifetimeSeconds ?? 240;
  if (!Number.isInteger(count) || count < 1 || count > MAX_FAN_IN_HOSTS) {
    throw new RangeError(
      `Cannot build ${count} fan-in hosts: 1 to ${MAX_FAN_IN_HOSTS}`,
    );
  }
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 3600) {
    throw new RangeError(`Cannot keep responders ${lifetime} s: 1 to 3600`);
  }
  const started = performance.now();
  const program = await buildResponders();
  try {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const sender = await lab.host("sender", {
      segment: lan,
      address: `${FAN_IN_SENDER}/16`,
    });
    const hosts = await responderHosts(lab, lan, count);
    const mac = await macOf(sender);
    const argv = [
      program.path,
      ...[group, String(port), FAN_IN_SENDER, mac, String(lifetime)],
      ...hosts.map((host) => host.ns),
    ];
    // Started in the sender's namespace so that the lab stops it; it opens
    // one socket in each responder's namespace.
    await using responders = sender.spawn(
      options.launch?.(argv) ?? argv,
      { timeoutMs: (lifetime + 30) * 1000 },
    );
    await responders.waitForLine((line) => line === `ready ${count}`, READY_MS);
    return await body({
      sender,
      hosts: count,
      buildMs: performance.now() - started,
    });
  } finally {
    await Deno.remove(program.dir, { recursive: true });
  }
}

/** Compiles the responder program into a temporary folder. */
async function buildResponders(): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "mcast-fan-in-" });
  const path = `${dir}/fan_in_responders`;
  const source = new URL("./fan_in_responders.c", import.meta.url).pathname;
  try {
    const gcc = await new Deno.Command("gcc", {
      args: ["-O2", "-Wall", "-o", path, source],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!gcc.success) throw new Error(new TextDecoder().decode(gcc.stderr));
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return { path, dir };
}

/** The responders' addresses: 10.77.1.1 to 10.77.1.250, then 10.77.2.1, ... */
function responderAddress(index: number): string {
  return `10.77.${1 + Math.floor(index / 250)}.${1 + index % 250}/16`;
}

/** `count` responder hosts on `lan`, built a few at a time. */
async function responderHosts(
  lab: Lab,
  lan: Segment,
  count: number,
): Promise<Host[]> {
  const hosts: Host[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      hosts[index] = await lab.host(`r${index}`, {
        segment: lan,
        address: responderAddress(index),
      });
    }
  };
  await Promise.all(Array.from({ length: BUILD_PARALLEL }, worker));
  return hosts;
}

/** The MAC address of `host`'s eth0. */
async function macOf(host: Host): Promise<string> {
  const r = await host.run(["cat", "/sys/class/net/eth0/address"]);
  if (r.code !== 0) {
    throw new Error(`${host.name}: cannot read eth0's address: ${r.stderr}`);
  }
  return r.stdout.trim();
}
