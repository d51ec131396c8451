/**
 * What `mesh()` yields: a `ready` event, `peer` events as nodes come and
 * go, an `interval` event a round with the matrix so far (a reader that
 * falls behind gets the newest one, not every round's), `drop` events
 * (at most one per reason a second), and last the `matrix` event with the
 * verdict. Every event carries `time`, the wall clock in ISO-8601.
 *
 * @module
 */

import type { Family } from "../address.ts";
import type { RttPercentiles } from "./rtt_histogram.ts";

/** The mesh has joined the group and is probing (or, with `watch`, listening). */
export interface MeshReadyEvent {
  /** Always `"ready"`. */
  event: "ready";
  /** When, in ISO-8601. */
  time: string;
  /** This node's address as its peers see it (`""` for a watcher, which is no node). */
  self: string;
  /** The group. */
  group: string;
  /** The port. */
  port: number;
  /** The group's family. */
  family: Family;
  /** Whether this is a passive watcher. */
  watch: boolean;
}

/** A peer appeared, said goodbye, or fell silent. */
export interface MeshPeerEvent {
  /** Always `"peer"`. */
  event: "peer";
  /** When, in ISO-8601. */
  time: string;
  /** The peer's address. */
  peer: string;
  /**
   * `joined`: first heard (or heard again as a new run); `goodbye`: it
   * stopped cleanly; `gone`: silent for `goneAfterIntervals` rounds.
   */
  state: "joined" | "gone" | "goodbye";
  /** With `joined` from a probe: the number of the first probe heard (the ones before are its join window). */
  firstSeq?: number;
}

/** How one ordered pair of nodes fares: `from`'s probes as `to` hears them. */
export interface MeshPair {
  /** The node whose probes are counted. */
  from: string;
  /** The node that hears them. */
  to: string;
  /**
   * Multicast probes lost, in percent, counted from the first one `to`
   * heard (the join window apart); `null` until one can be counted.
   */
  multicastLossPercent: number | null;
  /** Unicast probes lost, in percent; `null` where not measured. */
  unicastLossPercent: number | null;
  /** Round trips of `from`'s multicast probes answered by `to`, as `from` measured them. */
  multicastRttMs: RttPercentiles | null;
  /** Round trips of `from`'s unicast probes answered by `to`. */
  unicastRttMs: RttPercentiles | null;
  /** Probes of `from` sent before `to` heard the first (omping's `seq>=N`). */
  joinMissed: number;
  /** Multicast probes `to` heard more than once. */
  duplicates: number;
  /** Multicast probes `to` heard after a later one. */
  reordered: number;
  /** Multicast probes `to` heard. */
  received: number;
  /** Multicast probes counted (from the first heard). */
  expected: number;
  /**
   * `ok`: multicast loss at most `maxLossPercent`; `lossy`: more;
   * `multicast-fails`: no multicast probe heard while unicast works (or
   * is not measured); `both-fail`: neither; `unicast-fails`: multicast
   * fine, unicast lost; `gone`: one of the two fell silent (its last
   * figures are kept); `unheard`: nothing known yet (no report from
   * `to`, or `to` heard nothing at all from `from`).
   */
  state:
    | "ok"
    | "lossy"
    | "multicast-fails"
    | "both-fail"
    | "unicast-fails"
    | "gone"
    | "unheard";
}

/** A pair (or a node) that fails the verdict, in words. */
export interface MeshFailure {
  /** The pair's sender; for a missing node, that node; `"*"` for the mesh as a whole. */
  from: string;
  /** The pair's receiver; for a missing node, this node (`"*"` for a watcher or the mesh as a whole). */
  to: string;
  /** What is wrong, as a sentence. */
  reason: string;
  /** Whether unicast works for the pair (`null`: not measured). */
  unicastWorks: boolean | null;
}

/**
 * The matrix so far, once a round. One the reader has not taken when the
 * next is ready is replaced by it, so a slow reader skips rounds rather
 * than holding them all.
 */
export interface MeshIntervalEvent {
  /** Always `"interval"`. */
  event: "interval";
  /** When, in ISO-8601. */
  time: string;
  /** Multicast probes this node has sent (0 for a watcher). */
  probesSent: number;
  /** Every node known, in numeric order. */
  hosts: string[];
  /** Every ordered pair of `hosts`. */
  pairs: MeshPair[];
}

/** Datagrams dropped for one reason (at most one event per reason a second). */
export interface MeshDropEvent {
  /** Always `"drop"`. */
  event: "drop";
  /** When, in ISO-8601. */
  time: string;
  /** The latest sender dropped (or the one whose answer was, or where a failed send went). */
  from: string;
  /**
   * `refused`: not an allowed sender (on-link by default); `rateLimited`:
   * an answer over a rate limit; `oversize`: an answer that would be
   * larger than its probe; `unsigned`, `badSignature`, `stale`,
   * `replayed`: with a key, as a listener's; `forged`: row entries for a
   * pair their sender is not the receiver of (the rest of the row is
   * kept); `malformed`: not a whole mesh datagram of this version;
   * `sendFailed`: this node's own datagram could not be sent (the
   * socket's error, such as no route to the group).
   */
  reason:
    | "refused"
    | "rateLimited"
    | "oversize"
    | "unsigned"
    | "badSignature"
    | "stale"
    | "replayed"
    | "forged"
    | "malformed"
    | "sendFailed";
  /** Drops of this reason since the previous event of this reason. */
  count: number;
  /** What happened, as a sentence. */
  detail: string;
}

/** The last event: the whole matrix and the verdict. */
export interface MeshMatrixEvent {
  /** Always `"matrix"`. */
  event: "matrix";
  /** When, in ISO-8601. */
  time: string;
  /** This node's address (`""` for a watcher). */
  self: string;
  /** Every node known, in numeric order. */
  hosts: string[];
  /** Every ordered pair of `hosts`. */
  pairs: MeshPair[];
  /** The nodes the verdict covers. */
  expected: string[];
  /** Expected nodes never heard of. */
  missing: string[];
  /** Whether every pair among the expected nodes passed. */
  ok: boolean;
  /** The pairs (and nodes) that failed, in words. */
  failures: MeshFailure[];
}

/** Anything `mesh()` yields. */
export type MeshEvent =
  | MeshReadyEvent
  | MeshPeerEvent
  | MeshIntervalEvent
  | MeshDropEvent
  | MeshMatrixEvent;
