/**
 * `listen({ groups: [A, B] })`, like mcjoin: one responder, one port,
 * several groups. Where the transport tells each datagram's destination
 * (the FFI transport, `IP_PKTINFO`), every group of one address family
 * shares one socket bound to the wildcard address (`shared_socket.ts`);
 * elsewhere each group gets a socket of its own, bound to the group
 * address on Linux. Either way every datagram is counted for the group it
 * was sent to (`Listener.perGroup`), and unicast to the port is never
 * answered. IPv4 and IPv6 groups mix where the transport serves both
 * families (`dgram`, `ffi`; the `deno` transport is IPv4 only and says so).
 *
 * The responder is shared: its `setup` runs once, before the first group
 * is answered, and its `teardown` once, when the last group closes.
 *
 * @module
 */

import { addressKey, type Family } from "../address.ts";
import { McastTypeError } from "../errors.ts";
import { DEFAULT_GROUP, DEFAULT_PORT } from "../defaults.ts";
import { type MulticastGroup, parseGroup } from "../group.ts";
import type { ListenerStats, Responder } from "../plugin.ts";
import type { Listener } from "./listener.ts";
import type { ListenOptions } from "./options.ts";
import { SharedSocket } from "./shared_socket.ts";

/** What one group's listener counted. */
export interface GroupCounters {
  /** Datagrams that arrived for the group. */
  received: number;
  /** Replies sent to its senders. */
  replied: number;
}

/**
 * The groups of a listener's options, parsed once (with `source`, when
 * given): `groups`, or the one `group` (by default
 * {@linkcode DEFAULT_GROUP}); checked (multicast, no repeats) before any
 * socket opens.
 *
 * @returns One group or more.
 * @throws {McastTypeError} for a bad or repeated group, or `group` and `groups` both.
 */
export function listenGroups(options: ListenOptions): MulticastGroup[] {
  const { groups, source } = options;
  if (groups === undefined) {
    return [parseGroup(options.group ?? DEFAULT_GROUP, { source })];
  }
  if (options.group !== undefined) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      "Give group or groups, not both",
    );
  }
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new McastTypeError(
      "ERR_INVALID_GROUP",
      "Invalid groups: expected a non-empty list of multicast groups",
    );
  }
  const seen = new Set<string>();
  return groups.map((given) => {
    const group = parseGroup(given, { source });
    const key = addressKey(group.address);
    if (seen.has(key)) {
      throw new McastTypeError(
        "ERR_INVALID_GROUP",
        `Invalid groups: "${group.address}" is given twice`,
      );
    }
    seen.add(key);
    return group;
  });
}

/** The responder, shared: `setup` runs once, `teardown` once at the last close. */
function shared(responder: Responder, users: number): Responder {
  let setup: Promise<void> | undefined;
  let left = users;
  return {
    name: responder.name,
    respond: responder.respond.bind(responder),
    setup: responder.setup && ((context) => {
      setup ??= Promise.resolve(responder.setup!(context));
      return setup;
    }),
    teardown: () => {
      left--;
      return left === 0 ? responder.teardown?.() : undefined;
    },
  };
}

/**
 * One socket per address family for all its groups, where the transport
 * tells each datagram's destination (only a transport given in the
 * options can be asked); fills `sockets` and returns the port to use.
 */
async function openShared(
  groups: readonly MulticastGroup[],
  options: ListenOptions,
  sockets: Map<Family, SharedSocket>,
): Promise<number | undefined> {
  let port = options.port;
  if (options.transport === undefined) return port;
  const families = new Set(groups.map((group) => group.family));
  for (const family of families) {
    const socket = await SharedSocket.open(
      options.transport,
      family,
      port ?? DEFAULT_PORT,
    );
    if (socket === undefined) break;
    sockets.set(family, socket);
    // Port 0: the first socket picks one, the others share it.
    port = socket.port;
  }
  return port;
}

/** Counters summed over the groups' listeners, live. */
function summedStats(listeners: readonly Listener[]): ListenerStats {
  const stats = {} as ListenerStats;
  const keys = new Set(listeners.flatMap((l) => Object.keys(l.stats)));
  for (const key of keys) {
    Object.defineProperty(stats, key, {
      enumerable: true,
      get: () =>
        listeners.reduce(
          (sum, l) =>
            sum + ((l.stats as unknown as Record<string, number>)[key] ?? 0),
          0,
        ),
    });
  }
  return stats;
}

/** Each group's counters, live. */
function perGroup(
  groups: readonly MulticastGroup[],
  listeners: readonly Listener[],
): Record<string, GroupCounters> {
  const counters: Record<string, GroupCounters> = {};
  groups.forEach((group, i) => {
    const stats = listeners[i].stats;
    counters[group.address] = Object.defineProperties({} as GroupCounters, {
      received: { enumerable: true, get: () => stats.received },
      replied: { enumerable: true, get: () => stats.replied },
    });
  });
  return counters;
}

/**
 * Listens on several groups: one listener per group, on one port, with
 * one responder; the result behaves as one listener.
 *
 * @param groups The parsed groups (see {@linkcode listenGroups}).
 * @param options The listener's options (`group`, `groups` and `source` are not read).
 * @param listenOne `listen()` for one parsed group.
 * @returns A listener whose `stats` sum the groups', with `perGroup`.
 */
export async function listenToGroups(
  groups: readonly MulticastGroup[],
  options: ListenOptions,
  listenOne: (
    group: MulticastGroup,
    options: ListenOptions,
  ) => Promise<Listener>,
): Promise<Listener> {
  const responder = shared(options.responder, groups.length);
  const listeners: Listener[] = [];
  const sockets = new Map<Family, SharedSocket>();
  let port = options.port;
  try {
    port = await openShared(groups, options, sockets);
    for (const group of groups) {
      const onEvent = options.onEvent;
      const socket = sockets.get(group.family);
      const listener = await listenOne(group, {
        ...options,
        port,
        responder,
        transport: socket === undefined
          ? options.transport
          : () => Promise.resolve(socket.view(group.address)),
        // Each event says which group it came to.
        onEvent: onEvent &&
          ((event) =>
            onEvent(Object.assign({}, event, { group: group.address }))),
      });
      // Port 0: the first group's socket picks one, the others share it.
      port = listener.port;
      listeners.push(listener);
    }
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    for (const socket of sockets.values()) await socket.closeIfUnused();
    throw error;
  }
  const stats = summedStats(listeners);
  const snapshot = () => JSON.parse(JSON.stringify(stats)) as ListenerStats;
  const close = async () => {
    await Promise.all(listeners.map((listener) => listener.close()));
    return snapshot();
  };
  const [first] = listeners;
  return {
    group: first.group,
    groups: groups.map((group) => group.address),
    port: first.port,
    interface: first.interface,
    transport: first.transport,
    stats,
    get firstDatagramAfterMs() {
      const times = listeners.map((l) => l.firstDatagramAfterMs)
        .filter((ms) => ms !== undefined);
      return times.length === 0 ? undefined : Math.min(...times);
    },
    perGroup: perGroup(groups, listeners),
    closed: Promise.all(listeners.map((listener) => listener.closed)).then(
      snapshot,
    ),
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}
