/**
 * The whole N x N matrix from the rows a node holds: its own (what it
 * measured) and the latest one of each peer. The pair `A -> B` takes its
 * reception counts from B's row (B heard A's probes) and its round trips
 * from A's row (A's probes, answered by B), so every figure comes from
 * the node that measured it. Pure: no sockets, no clock.
 *
 * @module
 */

import type { MeshPair } from "./events.ts";
import { compareHosts } from "./hosts.ts";
import type { PeerLeft, RowEntry } from "./rows.ts";

/** A node's latest row, as the matrix reads it. */
export interface Report {
  /** The reporter's round when it made the row. */
  round: number;
  /** Whether the reporter had sent its last probe (its `round` is then complete). */
  final: boolean;
  /** Its entries, by `from`. */
  entries: ReadonlyMap<string, RowEntry>;
}

/** What the matrix is built from. */
export interface MatrixInput {
  /** This node's address; `undefined` for a watcher. */
  self: string | undefined;
  /** Nodes known besides the reporters and their entries (peers heard, peers listed). */
  hosts: Iterable<string>;
  /** The latest row of each node, by its address; this node's own included. */
  reports: ReadonlyMap<string, Report>;
  /**
   * For the pairs `self -> B` whose `B` sent no row that arrived: the
   * counts of B's answers to this node's probes, as an entry `from: self,
   * to: B` (its answers prove B heard the probes).
   */
  answered?: ReadonlyMap<string, RowEntry>;
  /** Nodes that left, as this node sees them. */
  left: ReadonlyMap<string, PeerLeft>;
  /** Multicast loss above this is `lossy`. */
  maxLossPercent: number;
}

/** The matrix: every node, every ordered pair. */
export interface Matrix {
  /** Every node, in numeric order. */
  hosts: string[];
  /** Every ordered pair, by `from` then `to` in the order of `hosts`. */
  pairs: MeshPair[];
}

/**
 * Percent lost, to the hundredth.
 *
 * @param received Distinct datagrams that arrived.
 * @param expected Datagrams that should have.
 * @returns The loss in percent, or `null` when nothing was expected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossPercent } from "./matrix.ts";
 * assert.equal(lossPercent(27, 30), 10);
 * assert.equal(lossPercent(0, 0), null);
 * ```
 */
export function lossPercent(received: number, expected: number): number | null {
  if (expected <= 0) return null;
  const lost = Math.max(0, expected - received);
  return Math.round((lost / expected) * 10_000) / 100;
}

function allHosts(input: MatrixInput): string[] {
  const hosts = new Set<string>(input.hosts);
  if (input.self !== undefined) hosts.add(input.self);
  for (const [reporter, report] of input.reports) {
    hosts.add(reporter);
    for (const from of report.entries.keys()) hosts.add(from);
  }
  return [...hosts].sort(compareHosts);
}

/**
 * Unicast loss of `A -> B`: B's count when B heard any of A's unicast
 * probes; else, when B reports and A's row says A probes B, all of A's
 * probes since then are lost; else not measured.
 */
function unicastLoss(
  entry: RowEntry | undefined,
  toReports: boolean,
  fromReport: Report | undefined,
  reverse: RowEntry | undefined,
): number | null {
  if (entry !== undefined && entry.unicast.received > 0) {
    return lossPercent(entry.unicast.received, entry.unicast.expected);
  }
  if (!toReports || fromReport === undefined || !reverse?.probedSince) {
    return null;
  }
  const sent = fromReport.round - reverse.probedSince +
    (fromReport.final ? 1 : 0);
  return sent > 0 ? 100 : null;
}

function stateOf(
  entry: RowEntry | undefined,
  multicast: number | null,
  unicast: number | null,
  gone: boolean,
  maxLossPercent: number,
): MeshPair["state"] {
  if (gone) return "gone";
  if (entry === undefined || multicast === null) return "unheard";
  if (entry.multicast.received === 0) {
    return unicast === 100 ? "both-fail" : "multicast-fails";
  }
  if (multicast > maxLossPercent) return "lossy";
  return unicast === 100 ? "unicast-fails" : "ok";
}

function pairOf(input: MatrixInput, from: string, to: string): MeshPair {
  const toReport = input.reports.get(to);
  const fromReport = input.reports.get(from);
  const entry = toReport?.entries.get(from) ??
    (from === input.self && toReport === undefined
      ? input.answered?.get(to)
      : undefined);
  const reverse = fromReport?.entries.get(to);
  const multicast = entry === undefined
    ? null
    : lossPercent(entry.multicast.received, entry.multicast.expected);
  const unicast = unicastLoss(
    entry,
    toReport !== undefined,
    fromReport,
    reverse,
  );
  const gone = input.left.get(from) === "gone" ||
    input.left.get(to) === "gone";
  return {
    from,
    to,
    multicastLossPercent: multicast,
    unicastLossPercent: unicast,
    multicastRttMs: reverse?.rtt.multicast ?? null,
    unicastRttMs: reverse?.rtt.unicast ?? null,
    joinMissed: entry?.multicast.joinMissed ?? 0,
    duplicates: entry?.multicast.duplicates ?? 0,
    reordered: entry?.multicast.reordered ?? 0,
    received: entry?.multicast.received ?? 0,
    expected: entry?.multicast.expected ?? 0,
    state: stateOf(entry, multicast, unicast, gone, input.maxLossPercent),
  };
}

/**
 * Builds the matrix: every node known (this one, its peers, every
 * reporter and every node a row names) and every ordered pair of them.
 *
 * @param input This node's rows and what it knows of the others.
 * @returns The hosts in numeric order and a pair for each ordered two.
 *
 * @example Two nodes, each hearing the other's 10 probes but one
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildMatrix } from "./matrix.ts";
 * import type { RowEntry } from "./rows.ts";
 * const entry = (from: string, to: string, received: number): RowEntry => ({
 *   from, to,
 *   multicast: { received, expected: 10, joinMissed: 0, duplicates: 0, reordered: 0 },
 *   unicast: { received: 10, expected: 10 },
 *   probedSince: 1,
 *   rtt: { multicast: { p50: 0.1, p99: 0.2 }, unicast: null },
 *   left: null,
 * });
 * const report = (e: RowEntry) => ({ round: 10, final: false, entries: new Map([[e.from, e]]) });
 * const { hosts, pairs } = buildMatrix({
 *   self: "10.77.1.2",
 *   hosts: [],
 *   reports: new Map([
 *     ["10.77.1.2", report(entry("10.77.1.3", "10.77.1.2", 10))],
 *     ["10.77.1.3", report(entry("10.77.1.2", "10.77.1.3", 9))],
 *   ]),
 *   left: new Map(),
 *   maxLossPercent: 0,
 * });
 * assert.deepEqual(hosts, ["10.77.1.2", "10.77.1.3"]);
 * assert.equal(pairs[0].multicastLossPercent, 10);
 * assert.equal(pairs[0].state, "lossy");
 * assert.equal(pairs[1].state, "ok");
 * assert.deepEqual(pairs[1].multicastRttMs, { p50: 0.1, p99: 0.2 });
 * ```
 */
export function buildMatrix(input: MatrixInput): Matrix {
  const hosts = allHosts(input);
  const pairs: MeshPair[] = [];
  for (const from of hosts) {
    for (const to of hosts) {
      if (from !== to) pairs.push(pairOf(input, from, to));
    }
  }
  return { hosts, pairs };
}
