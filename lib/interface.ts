/**
 * Turns what the user typed for `-i` (an address or an interface name such
 * as `eth0`) into the form the socket calls take.
 *
 * @module
 */

import {
  addressFamily,
  type Family,
  isMulticast,
  parseIPv6,
} from "./address.ts";
import { McastTypeError } from "./errors.ts";

/** One network interface address, as `Deno.networkInterfaces()` lists it. */
export interface InterfaceEntry {
  /** Interface name, such as `eth0`. */
  name: string;
  /** Address family. */
  family: Family;
  /** Interface address. */
  address: string;
  /** IPv6 scope id (the interface index). */
  scopeid?: number | null;
}

/**
 * How long a read of the interface list serves later calls. Reading it
 * costs ~90 us, once per `send()` (a socket per call, as in discovery
 * rounds); a hit in a list up to a second old is still this host's, and
 * a miss reads the list again before it is reported.
 */
const LIST_REUSE_MS = 1000;
let cached: { at: number; list: InterfaceEntry[] } | undefined;

function networkInterfaces(fresh: boolean): InterfaceEntry[] {
  const now = performance.now();
  if (fresh || cached === undefined || now - cached.at > LIST_REUSE_MS) {
    cached = { at: now, list: Deno.networkInterfaces() };
  }
  return cached.list;
}

/** The interface list when permission to read it is already granted (never prompts). */
function readableInterfaces(fresh = false): InterfaceEntry[] | undefined {
  const state = Deno.permissions.querySync?.({
    name: "sys",
    kind: "networkInterfaces",
  }).state;
  return state === "granted" ? networkInterfaces(fresh) : undefined;
}

function sameAddress(a: string, b: string): boolean {
  const x = parseIPv6(a.split("%")[0]);
  const y = parseIPv6(b.split("%")[0]);
  if (x !== undefined && y !== undefined) return x.every((v, i) => v === y[i]);
  return a === b;
}

function listInterfaces(spec: string, fresh = false): InterfaceEntry[] {
  try {
    return networkInterfaces(fresh);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new McastTypeError(
        "ERR_INVALID_INTERFACE",
        `Cannot resolve interface name "${spec}": needs --allow-sys=networkInterfaces (or give the interface's address)`,
      );
    }
    throw error;
  }
}

/**
 * Resolves an interface given by address or by name for a socket of
 * `family`. IPv4 gives the interface's address; IPv6 gives `::%name`, the
 * form `node:dgram` takes for joins and outgoing multicast.
 *
 * @param spec An address (`10.0.0.2`, `fe80::1%eth0`) or a name (`eth0`).
 * @param family The family of the group it serves.
 * @param list Where names are looked up (default: `Deno.networkInterfaces()`, which needs `--allow-sys=networkInterfaces`).
 * @returns The address to hand to the socket.
 * @throws {McastTypeError} `ERR_INVALID_INTERFACE` for an unknown name, a multicast or wrong-family address.
 *
 * @example Resolve by address and by name
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveInterface } from "./interface.ts";
 * const list = [{ name: "lo", family: "IPv4" as const, address: "127.0.0.1" }];
 * assert.equal(resolveInterface("127.0.0.1", "IPv4", list), "127.0.0.1");
 * assert.equal(resolveInterface("lo", "IPv4", list), "127.0.0.1");
 * assert.equal(resolveInterface("lo", "IPv6", list), "::%lo");
 * ```
 */
export function resolveInterface(
  spec: string,
  family: Family,
  list?: InterfaceEntry[],
): string {
  const given = addressFamily(spec);
  if (given !== undefined) {
    if (isMulticast(spec)) {
      throw new McastTypeError(
        "ERR_INVALID_INTERFACE",
        `Invalid interface "${spec}": a multicast address cannot be an interface`,
      );
    }
    if (given !== family) {
      throw new McastTypeError(
        "ERR_INVALID_INTERFACE",
        `Invalid interface "${spec}": an ${given} address cannot serve an ${family} group`,
      );
    }
    if (family === "IPv6" && spec.includes("%")) return spec;
    // Check the address is this host's, where the list can be read:
    // otherwise the OS refuses it later with a vaguer error (or, for IPv6
    // on node:dgram, ignores it).
    let entries = list ?? readableInterfaces();
    if (entries === undefined) {
      if (family === "IPv4") return spec;
      throw new McastTypeError(
        "ERR_INVALID_INTERFACE",
        `Cannot map interface address "${spec}" to its interface: needs --allow-sys=networkInterfaces (or give the interface's name)`,
      );
    }
    const owns = (entry: InterfaceEntry) =>
      entry.family === family && sameAddress(entry.address, spec);
    let owner = entries.find(owns);
    if (owner === undefined && list === undefined) {
      entries = readableInterfaces(true) ?? entries;
      owner = entries.find(owns);
    }
    if (owner === undefined) {
      throw new McastTypeError(
        "ERR_INVALID_INTERFACE",
        `No interface on this host has the address "${spec}" (this host has: ${
          entries.filter((entry) => entry.family === family)
            .map((entry) => `${entry.name} ${entry.address}`).join(", ") ||
          "none"
        })`,
      );
    }
    return family === "IPv6" ? `::%${owner.name}` : spec;
  }
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(spec)) {
    throw new McastTypeError(
      "ERR_INVALID_INTERFACE",
      `Invalid interface "${spec}": neither an IP address nor an interface name`,
    );
  }
  let entries = list ?? listInterfaces(spec);
  let named = entries.filter((entry) => entry.name === spec);
  if (named.length === 0 && list === undefined) {
    entries = listInterfaces(spec, true);
    named = entries.filter((entry) => entry.name === spec);
  }
  if (named.length === 0) {
    const names = [...new Set(entries.map((entry) => entry.name))].join(", ");
    throw new McastTypeError(
      "ERR_INVALID_INTERFACE",
      `Unknown interface "${spec}" (this host has: ${names || "none"})`,
    );
  }
  if (family === "IPv6") return `::%${spec}`;
  const v4 = named.find((entry) => entry.family === "IPv4");
  if (v4 === undefined) {
    throw new McastTypeError(
      "ERR_INVALID_INTERFACE",
      `Interface "${spec}" has no IPv4 address to join an IPv4 group on`,
    );
  }
  return v4.address;
}

/** `IFF_UP`, `IFF_LOOPBACK` and `IFF_MULTICAST` of Linux's interface flags. */
const IFF = { UP: 0x1, LOOPBACK: 0x8, MULTICAST: 0x1000 } as const;

/** False once reading `/sys` was refused: never tried again. */
let flagsReadable = Deno.build.os === "linux";

/**
 * An interface's flags from `/sys/class/net/NAME/flags`, or `undefined`
 * where they cannot be read (not Linux; Deno 2.9.6 reads `/sys` only
 * with `--allow-all`).
 */
function sysInterfaceFlags(name: string): number | undefined {
  if (!flagsReadable || !/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) {
    return undefined;
  }
  try {
    const flags = Number(Deno.readTextFileSync(`/sys/class/net/${name}/flags`));
    return Number.isInteger(flags) ? flags : undefined;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) flagsReadable = false;
    return undefined;
  }
}

/** An interface a user may choose with `-i`, as {@linkcode interfaceChoices} lists it. */
export interface InterfaceChoice {
  /** Interface name, such as `eth0`. */
  name: string;
  /** One of its addresses of the family asked for (IPv6: a global one before a link-local one). */
  address: string;
  /** Whether it is the loopback interface (this host only). */
  loopback: boolean;
  /**
   * Whether it carries multicast: `IFF_MULTICAST` where the flags can be
   * read, otherwise true for every interface but the loopback one (which
   * Linux never flags, though it delivers multicast on this host).
   */
  multicast: boolean;
  /** Whether it is up (`IFF_UP`), where the flags can be read. */
  up?: boolean;
}

/**
 * This host's interfaces with an address of `family`, for the user to
 * choose one with `-i`: multicast-capable interfaces that are up first,
 * then the others, the loopback interface last (it reaches this host
 * only). Empty when the interface list cannot be read (no
 * `--allow-sys=networkInterfaces`); never prompts.
 *
 * @param family The family of the group.
 * @param options `list` instead of `Deno.networkInterfaces()`, `flags` instead of `/sys/class/net/NAME/flags` (`undefined`: unknown).
 * @returns The interfaces, best first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interfaceChoices } from "./interface.ts";
 * const list = [
 *   { name: "lo", family: "IPv4" as const, address: "127.0.0.1" },
 *   { name: "eth0", family: "IPv4" as const, address: "10.77.1.11" },
 *   { name: "eth0", family: "IPv6" as const, address: "fe80::1" },
 * ];
 * const choices = interfaceChoices("IPv4", { list, flags: () => undefined });
 * assert.deepEqual(choices.map((c) => c.name), ["eth0", "lo"]);
 * assert.equal(choices[0].multicast, true);
 * ```
 */
export function interfaceChoices(
  family: Family,
  options: {
    list?: InterfaceEntry[];
    flags?: (name: string) => number | undefined;
  } = {},
): InterfaceChoice[] {
  const entries = options.list ?? readableInterfaces(true) ?? [];
  const flagsOf = options.flags ?? sysInterfaceFlags;
  const byName = new Map<string, InterfaceEntry[]>();
  for (const entry of entries) {
    if (entry.family !== family) continue;
    byName.set(entry.name, [...byName.get(entry.name) ?? [], entry]);
  }
  const choices: InterfaceChoice[] = [];
  for (const [name, addresses] of byName) {
    const global = addresses.find((entry) =>
      !/^fe[89ab][0-9a-f]:/i.test(entry.address)
    );
    const address = (global ?? addresses[0]).address;
    const flags = flagsOf(name);
    const loopback = flags === undefined
      ? address === "::1" || address.startsWith("127.")
      : (flags & IFF.LOOPBACK) !== 0;
    choices.push({
      name,
      address,
      loopback,
      multicast: flags === undefined
        ? !loopback
        : (flags & IFF.MULTICAST) !== 0,
      ...(flags === undefined ? {} : { up: (flags & IFF.UP) !== 0 }),
    });
  }
  return rankInterfaceChoices(choices);
}

/**
 * Orders interfaces as `-i` candidates: multicast-capable and up first,
 * then those without multicast, then those down, loopback last. The order
 * is otherwise kept (the sort is stable).
 *
 * @param choices Interfaces, however they were found.
 * @returns A new array, best candidates first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rankInterfaceChoices } from "./interface.ts";
 * const ranked = rankInterfaceChoices([
 *   { name: "lo", address: "127.0.0.1", loopback: true, multicast: true },
 *   { name: "eth1", address: "10.0.0.2", loopback: false, multicast: false },
 *   { name: "eth0", address: "10.0.0.1", loopback: false, multicast: true },
 * ]);
 * assert.deepEqual(ranked.map((choice) => choice.name), ["eth0", "eth1", "lo"]);
 * ```
 */
export function rankInterfaceChoices(
  choices: readonly InterfaceChoice[],
): InterfaceChoice[] {
  const rank = (choice: InterfaceChoice) =>
    (choice.loopback ? 4 : 0) + (choice.multicast ? 0 : 2) +
    (choice.up === false ? 1 : 0);
  return [...choices].sort((a, b) => rank(a) - rank(b));
}

/**
 * The interfaces of {@linkcode interfaceChoices} as one line for a
 * message: `eth0 10.77.1.11, lo 127.0.0.1 (this host only)`; those that
 * are down or lack the multicast flag say so.
 *
 * @param choices What {@linkcode interfaceChoices} returned.
 * @returns The line; empty when there are none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeInterfaceChoices } from "./interface.ts";
 * assert.equal(
 *   describeInterfaceChoices([
 *     { name: "eth0", address: "10.77.1.11", loopback: false, multicast: true },
 *     { name: "eth1", address: "10.77.2.11", loopback: false, multicast: false, up: false },
 *     { name: "lo", address: "127.0.0.1", loopback: true, multicast: false },
 *   ]),
 *   "eth0 10.77.1.11, eth1 10.77.2.11 (down, multicast off), lo 127.0.0.1 (this host only)",
 * );
 * ```
 */
export function describeInterfaceChoices(choices: InterfaceChoice[]): string {
  return choices.map((choice) => {
    const notes = choice.loopback ? ["this host only"] : [
      ...(choice.up === false ? ["down"] : []),
      ...(choice.multicast ? [] : ["multicast off"]),
    ];
    return `${choice.name} ${choice.address}${
      notes.length === 0 ? "" : ` (${notes.join(", ")})`
    }`;
  }).join(", ");
}
