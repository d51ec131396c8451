/**
 * What one mesh node measures about one peer: the peer's probes it heard
 * (multicast and unicast: loss from the first one heard, duplicates,
 * reordering), the peer's answers to its own probes (round-trip times,
 * and proof that the peer hears it), and whether the peer has left. A
 * peer restarted on the same address is a new run: a new `PeerStats`.
 * Constant memory per peer. No clock of its own: callers pass `now`
 * (`performance.now()`).
 *
 * @module
 */

import type { ProbeVia } from "./wire.ts";
import { RttHistogram } from "./rtt_histogram.ts";
import { SequenceCounts, type SequenceOutcome } from "./sequence_counts.ts";
import type { PeerLeft, RowEntry } from "./rows.ts";

/** Per probe kind: a value for multicast and one for unicast. */
export interface PerVia<T> {
  /** Probes to the group. */
  multicast: T;
  /** Probes to one address. */
  unicast: T;
}

/**
 * One peer as one node sees it.
 *
 * @example A peer whose multicast probes 1-3 went unheard, then 4-6 arrived
 * ```ts
 * import assert from "node:assert/strict";
 * import { PeerStats } from "./peer_stats.ts";
 * const peer = new PeerStats("10.77.1.3", "10.77.1.3", "0123456789abcdef", 1000, 0);
 * for (const seq of [4, 5, 6]) peer.probe(seq, "multicast", seq * 1000);
 * const entry = peer.entry("10.77.1.2");
 * assert.deepEqual(entry.multicast, {
 *   received: 3, expected: 3, joinMissed: 3, duplicates: 0, reordered: 0,
 * });
 * ```
 */
export class PeerStats {
  /** The peer's canonical address (its name in the matrix). */
  readonly address: string;
  /** Where unicast to it goes (with an IPv6 zone where it has one). */
  readonly sendAddress: string;
  /** The peer's run (`""` until one of its datagrams names it: a listed peer, or one heard only by its answers). */
  runId: string;
  /** When this node first knew of it. */
  readonly since: number;
  /** The peer's probe interval, in milliseconds. */
  intervalMs: number;
  /** Its probes this node heard. */
  readonly heard: PerVia<SequenceCounts> = {
    multicast: new SequenceCounts(),
    unicast: new SequenceCounts(),
  };
  /** Its answers to this node's probes. */
  readonly answers: PerVia<SequenceCounts> = {
    multicast: new SequenceCounts(),
    unicast: new SequenceCounts(),
  };
  /** Round trips of this node's probes it answered. */
  readonly rtt: PerVia<RttHistogram> = {
    multicast: new RttHistogram(),
    unicast: new RttHistogram(),
  };
  /** When anything last came from it (-Infinity: nothing yet). */
  lastHeardAt: number;
  /** When it last answered one of this node's probes, per kind (-Infinity: never). */
  readonly lastAnswerAt: PerVia<number> = {
    multicast: -Infinity,
    unicast: -Infinity,
  };
  /** Whether it has left. */
  left: PeerLeft = null;
  /** The number of this node's first unicast probe to it (0: none yet). */
  probedSince = 0;
  /** The first number heard from it in any way (a probe, a row's round). */
  #firstContact = 0;
  /**
   * Its highest round known complete (every probe of it sent), from the
   * numbers of its probes, rows and goodbye.
   */
  #claimed = 0;

  /**
   * Starts counting a peer.
   *
   * @param address Its canonical address.
   * @param sendAddress Where unicast to it goes.
   * @param runId Its run.
   * @param intervalMs Its probe interval.
   * @param now When it was first heard.
   */
  constructor(
    address: string,
    sendAddress: string,
    runId: string,
    intervalMs: number,
    now: number,
  ) {
    this.address = address;
    this.sendAddress = sendAddress;
    this.runId = runId;
    this.intervalMs = intervalMs;
    this.since = now;
    this.lastHeardAt = runId === "" ? -Infinity : now;
  }

  /** Notes that something came from the peer (it is not silent). */
  heardFrom(now: number): void {
    this.lastHeardAt = now;
  }

  /**
   * Notes a round the peer has reached, as one of its datagrams numbers
   * it (a probe's number, a row's round): the first one is where its
   * counts start when none of its multicast probes is ever heard.
   */
  contact(round: number): void {
    if (this.#firstContact === 0) this.#firstContact = round;
  }

  /**
   * Notes that the peer has sent every probe (multicast and unicast) of
   * its rounds up to `round`.
   *
   * @param round The highest complete round, as one of its datagrams says.
   */
  claim(round: number): void {
    if (round > this.#claimed) this.#claimed = round;
  }

  /**
   * Counts one of its probes. Probe `n` (of either kind) says its rounds
   * up to `n - 1` are complete; round `n`'s other probe may still be on
   * its way.
   *
   * @returns Whether the probe was new, late or a duplicate.
   */
  probe(seq: number, via: ProbeVia, now: number): SequenceOutcome {
    this.lastHeardAt = now;
    this.contact(seq);
    this.claim(seq - 1);
    return this.heard[via].record(seq);
  }

  /**
   * Notes one of its rows: made after its probes of `round`, which are
   * complete when the row is `final` (sent an interval or more after its
   * last probe), else perhaps still on their way.
   */
  row(round: number, final: boolean, now: number): void {
    this.lastHeardAt = now;
    this.contact(round);
    this.claim(final ? round : round - 1);
  }

  /** Counts its answer to this node's probe `seq`, which took `rttMs`. */
  answer(seq: number, via: ProbeVia, rttMs: number, now: number): void {
    this.lastHeardAt = now;
    this.lastAnswerAt[via] = now;
    if (this.answers[via].record(seq) !== "duplicate") {
      this.rtt[via].record(rttMs);
    }
  }

  /**
   * This node's row entry about the peer: its probes as heard here, and
   * the round trips of this node's probes it answered.
   *
   * @param self This node's address (the entry's `to`).
   */
  entry(self: string): RowEntry {
    const { multicast: m, unicast: u } = this.heard;
    const through = Math.max(this.#claimed, m.highest);
    // Never heard by multicast: every probe since the first contact is lost.
    const multicast = m.received > 0
      ? {
        received: m.received,
        expected: m.expected(through),
        joinMissed: m.joinMissed,
        duplicates: m.duplicates,
        reordered: m.reordered,
      }
      : {
        received: 0,
        expected: this.#firstContact === 0
          ? 0
          : Math.max(0, through - this.#firstContact + 1),
        joinMissed: Math.max(0, this.#firstContact - 1),
        duplicates: 0,
        reordered: 0,
      };
    return {
      from: this.address,
      to: self,
      multicast,
      unicast: {
        received: u.received,
        expected: u.expected(this.#claimed),
      },
      probedSince: this.probedSince,
      rtt: {
        multicast: this.rtt.multicast.percentiles(),
        unicast: this.rtt.unicast.percentiles(),
      },
      left: this.left,
    };
  }

  /**
   * The pair `self -> peer` as the peer's answers show it, for when no
   * row of the peer's arrives: each answer proves it heard that probe.
   * A lost answer counts as a lost probe, so this is an upper bound on
   * the loss.
   *
   * @param self This node's address (the entry's `from`).
   * @param round This node's probes sent so far (the newest one's answer may still be on its way).
   */
  answeredEntry(self: string, round: number): RowEntry {
    const { multicast: m, unicast: u } = this.answers;
    return {
      from: self,
      to: this.address,
      multicast: {
        received: m.received,
        expected: m.expected(round - 1),
        joinMissed: m.joinMissed,
        duplicates: m.duplicates,
        reordered: m.reordered,
      },
      unicast: { received: u.received, expected: u.expected(round - 1) },
      probedSince: 0,
      rtt: { multicast: null, unicast: null },
      left: null,
    };
  }
}
