/**
 * A mesh node's row: what it measured about each peer, shared with the
 * group every round so that every node (and a passive watcher) holds the
 * whole matrix. Each entry names its pair explicitly, `from -> to`, where
 * `to` is the node that measured it: how well `from`'s probes reach `to`,
 * and how fast `from` answers `to`'s probes. An entry whose `to` is not
 * the row's sender is forged (a node speaks only for what it heard) and
 * is set apart by {@linkcode splitForged}.
 *
 * An entry on the wire (integers big-endian, addresses 4 or 16 bytes by
 * the row's family):
 *
 * ```text
 * from | to | multicast received, expected, joinMissed, duplicates, reordered (u32 each)
 *      | unicast received, expected (u32 each)
 *      | the first of `to`'s unicast probes to `from` (u32; 0: `to` does not probe `from`)
 *      | multicast RTT p50, p99, unicast RTT p50, p99 (u32 microseconds; 0xffffffff: none)
 *      | from's state as `to` sees it (u8: 0 active, 1 said goodbye, 2 gone silent)
 * ```
 *
 * @module
 */

import { parseIPv4, parseIPv6 } from "../address.ts";
import type { Family } from "../address.ts";
import { canonicalHost, formatIPv4, formatIPv6 } from "./hosts.ts";
import type { RttPercentiles } from "./rtt_histogram.ts";

/** Counts of one peer's multicast probes as one node heard them. */
export interface MulticastCounts {
  /** Distinct probes heard. */
  received: number;
  /** Probes sent from the first one heard on (the join window apart). */
  expected: number;
  /** Probes sent before the first one heard: the join window. */
  joinMissed: number;
  /** Probes heard more than once. */
  duplicates: number;
  /** Probes heard after a later one. */
  reordered: number;
}

/** Counts of one peer's unicast probes as one node heard them. */
export interface UnicastCounts {
  /** Distinct probes heard. */
  received: number;
  /** Probes sent to this node from the first one heard on. */
  expected: number;
}

/** How one node sees a peer: still there, said goodbye, or fell silent. */
export type PeerLeft = "goodbye" | "gone" | null;

/** One entry of a row: the pair `from -> to`, measured by `to`. */
export interface RowEntry {
  /** The peer whose probes `to` heard. */
  from: string;
  /** The node that measured: the row's sender. */
  to: string;
  /** `from`'s multicast probes as `to` heard them. */
  multicast: MulticastCounts;
  /** `from`'s unicast probes to `to`, as `to` heard them. */
  unicast: UnicastCounts;
  /**
   * The number of `to`'s first unicast probe to `from` (0: `to` does not
   * probe `from` by unicast): with `to`'s round, how many unicast probes
   * `from` should have heard from `to`, even when it heard none.
   */
  probedSince: number;
  /** Round trips of `to`'s probes that `from` answered (the pair `to -> from`). */
  rtt: {
    multicast: RttPercentiles | null;
    unicast: RttPercentiles | null;
  };
  /** Whether `from` has left, as `to` sees it. */
  left: PeerLeft;
}

const COUNTS = 8;
const TIMES = 4;
const NO_TIME = 0xffff_ffff;
const LEFT: readonly PeerLeft[] = [null, "goodbye", "gone"];

/**
 * Bytes one entry takes on the wire.
 *
 * @param family The row's family.
 * @returns 57 for IPv4, 81 for IPv6.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryBytes } from "./rows.ts";
 * assert.equal(entryBytes("IPv4"), 57);
 * ```
 */
export function entryBytes(family: Family): number {
  return 2 * addressBytes(family) + 4 * (COUNTS + TIMES) + 1;
}

function addressBytes(family: Family): number {
  return family === "IPv4" ? 4 : 16;
}

function writeAddress(
  view: DataView,
  at: number,
  family: Family,
  address: string,
): void {
  if (family === "IPv4") {
    const v4 = parseIPv4(address);
    if (v4 === undefined) throw new TypeError(`Not IPv4: "${address}"`);
    view.setUint32(at, v4);
    return;
  }
  const v6 = parseIPv6(address);
  if (v6 === undefined) throw new TypeError(`Not IPv6: "${address}"`);
  v6.forEach((group, i) => view.setUint16(at + 2 * i, group));
}

function readAddress(view: DataView, at: number, family: Family): string {
  if (family === "IPv4") return formatIPv4(view.getUint32(at));
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(view.getUint16(at + 2 * i));
  return canonicalHost(formatIPv6(groups));
}

const u32 = (n: number) => Math.min(0xffff_ffff, Math.max(0, Math.floor(n)));
const micros = (ms: number | undefined) =>
  ms === undefined ? NO_TIME : Math.min(NO_TIME - 1, Math.round(ms * 1000));

/**
 * Writes one entry at `at`.
 *
 * @param view The datagram.
 * @param at Where the entry starts.
 * @param family The row's family.
 * @param entry The entry.
 *
 * @example Write an entry and read it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryBytes, readEntry, type RowEntry, writeEntry } from "./rows.ts";
 * const entry: RowEntry = {
 *   from: "fd77:1::3", to: "fd77:1::7",
 *   multicast: { received: 9, expected: 10, joinMissed: 2, duplicates: 1, reordered: 0 },
 *   unicast: { received: 10, expected: 10 },
 *   probedSince: 3,
 *   rtt: { multicast: { p50: 0.25, p99: 1.5 }, unicast: null },
 *   left: "goodbye",
 * };
 * const view = new DataView(new ArrayBuffer(entryBytes("IPv6")));
 * writeEntry(view, 0, "IPv6", entry);
 * assert.deepEqual(readEntry(view, 0, "IPv6"), entry);
 * ```
 */
export function writeEntry(
  view: DataView,
  at: number,
  family: Family,
  entry: RowEntry,
): void {
  const size = addressBytes(family);
  writeAddress(view, at, family, entry.from);
  writeAddress(view, at + size, family, entry.to);
  let offset = at + 2 * size;
  const { multicast: m, unicast: u, rtt } = entry;
  for (
    const n of [
      m.received,
      m.expected,
      m.joinMissed,
      m.duplicates,
      m.reordered,
      u.received,
      u.expected,
      entry.probedSince,
      micros(rtt.multicast?.p50),
      micros(rtt.multicast?.p99),
      micros(rtt.unicast?.p50),
      micros(rtt.unicast?.p99),
    ]
  ) {
    view.setUint32(offset, u32(n));
    offset += 4;
  }
  view.setUint8(offset, LEFT.indexOf(entry.left));
}

function readTimes(
  view: DataView,
  at: number,
): RttPercentiles | null {
  const p50 = view.getUint32(at);
  const p99 = view.getUint32(at + 4);
  if (p50 === NO_TIME || p99 === NO_TIME) return null;
  return { p50: p50 / 1000, p99: p99 / 1000 };
}

/**
 * Reads one entry at `at`.
 *
 * @param view The datagram.
 * @param at Where the entry starts.
 * @param family The row's family.
 * @returns The entry.
 * @throws {SyntaxError} for an unknown state byte.
 *
 * @example An unknown state byte is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { entryBytes, readEntry } from "./rows.ts";
 * const view = new DataView(new ArrayBuffer(entryBytes("IPv4")));
 * view.setUint8(entryBytes("IPv4") - 1, 7);
 * assert.throws(() => readEntry(view, 0, "IPv4"), /unknown state 7/);
 * ```
 */
export function readEntry(
  view: DataView,
  at: number,
  family: Family,
): RowEntry {
  const size = addressBytes(family);
  const from = readAddress(view, at, family);
  const to = readAddress(view, at + size, family);
  const base = at + 2 * size;
  const n = (i: number) => view.getUint32(base + 4 * i);
  const left = LEFT[view.getUint8(base + 4 * (COUNTS + TIMES))];
  if (left === undefined) {
    throw new SyntaxError(
      `Row entry ${from} -> ${to}: unknown state ${
        view.getUint8(base + 4 * (COUNTS + TIMES))
      }`,
    );
  }
  return {
    from,
    to,
    multicast: {
      received: n(0),
      expected: n(1),
      joinMissed: n(2),
      duplicates: n(3),
      reordered: n(4),
    },
    unicast: { received: n(5), expected: n(6) },
    probedSince: n(7),
    rtt: {
      multicast: readTimes(view, base + 4 * COUNTS),
      unicast: readTimes(view, base + 4 * COUNTS + 8),
    },
    left,
  };
}

/**
 * Sets apart the entries of a row that its sender may not make: an entry
 * whose `to` is not the sender (a node speaks only for what it measured),
 * or whose `from` is its `to`.
 *
 * @param entries The row's entries.
 * @param source The row datagram's source address.
 * @returns The entries kept, and the forged ones.
 *
 * @example A row from 10.77.1.3 that claims a pair it is not part of
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RowEntry, splitForged } from "./rows.ts";
 * const entry = (from: string, to: string): RowEntry => ({
 *   from, to,
 *   multicast: { received: 1, expected: 1, joinMissed: 0, duplicates: 0, reordered: 0 },
 *   unicast: { received: 0, expected: 0 },
 *   probedSince: 0,
 *   rtt: { multicast: null, unicast: null },
 *   left: null,
 * });
 * const { kept, forged } = splitForged(
 *   [entry("10.77.1.2", "10.77.1.3"), entry("10.77.1.2", "10.77.1.7")],
 *   "10.77.1.3",
 * );
 * assert.equal(kept.length, 1);
 * assert.equal(forged[0].to, "10.77.1.7");
 * ```
 */
export function splitForged(
  entries: readonly RowEntry[],
  source: string,
): { kept: RowEntry[]; forged: RowEntry[] } {
  const sender = canonicalHost(source);
  const kept: RowEntry[] = [];
  const forged: RowEntry[] = [];
  for (const entry of entries) {
    const ok = entry.to === sender && entry.from !== sender;
    (ok ? kept : forged).push(entry);
  }
  return { kept, forged };
}
