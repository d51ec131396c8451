/**
 * Per-responder statistics of a sequenced run, as a multicast ping reports
 * them: replies, loss (over the run, and from each responder's first reply
 * on, as omping's `seq>=N`), duplicates, reordering, round-trip times (the
 * whole distribution, exact over any length of run:
 * {@linkcode LatencyHistogram}) and RFC 3550's interarrival jitter; and
 * which requests' waits ran out without a responder's reply.
 *
 * @module
 */

import { LatencyHistogram } from "../stats/latency_histogram.ts";

/**
 * Round-trip time figures in milliseconds, rounded to the microsecond:
 * count, min, max, mean and standard deviation exact; the percentiles
 * from a histogram, each within 0.05% of the true value (nearest rank).
 */
export interface RttSummary {
  /** Fastest. */
  min: number;
  /** Mean. */
  avg: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** 99.9th percentile. */
  p999: number;
  /** Slowest. */
  max: number;
  /** Standard deviation (of the population). */
  stddev: number;
}

/**
 * What one responder did during a run: exact with sequence numbers;
 * without them each reply counts as an answer to the latest request.
 */
export interface ResponderSummary {
  /** Its address. */
  from: string;
  /** Its port. */
  port: number;
  /**
   * Replies received: answers, duplicates, and those that answered none of
   * the run's requests (`unmatched`).
   */
  replies: number;
  /** Percentage of the requests sent that it never answered. */
  lossPercent: number;
  /** Replies for a sequence number it had answered already. */
  duplicates: number;
  /** Replies that arrived after a reply to a later request. */
  reordered: number;
  /**
   * Replies that answered none of the run's requests: with sequence
   * numbers, one without a number (or cut short before it), or with
   * another run's (a late answer to an earlier run); with a key, one that
   * did not verify. Absent when none did.
   */
  unmatched?: number;
  /**
   * With sequence numbers: the request its first reply answered (omping's
   * `seq>=N`), and the percentage of the requests from that one on that
   * it never answered: the loss once it was in the tree, apart from the
   * time the network took to build it. Absent before any answer.
   */
  fromFirst?: {
    /** The first request it answered, counted from 0 in the run. */
    seq: number;
    /** Percentage of the requests from `seq` on that it never answered. */
    lossPercent: number;
  };
  /** Round-trip times of its first reply to each request. */
  rttMs: RttSummary | null;
  /**
   * RFC 3550's interarrival jitter of its round-trip times, milliseconds:
   * a running mean (gain 1/16) of how much one answer's round trip
   * differs from the one before it. `null` before two answers.
   */
  jitterMs: number | null;
}

/** Milliseconds rounded to the microsecond. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Summarises a histogram of round-trip times.
 *
 * @param rtt The times.
 * @returns The figures, or `null` when it holds none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LatencyHistogram } from "../stats/latency_histogram.ts";
 * import { rttSummary } from "./round_trip_stats.ts";
 * const rtt = new LatencyHistogram();
 * for (const ms of [3, 1, 2]) rtt.record(ms);
 * assert.equal(rttSummary(rtt)?.p50, 2);
 * ```
 */
export function rttSummary(rtt: LatencyHistogram): RttSummary | null {
  if (rtt.count === 0) return null;
  const [p50, p90, p99, p999] = rtt.percentiles([0.5, 0.9, 0.99, 0.999]);
  return {
    min: round(rtt.min),
    avg: round(rtt.mean),
    p50: round(p50),
    p90: round(p90),
    p99: round(p99),
    p999: round(p999),
    max: round(rtt.max),
    stddev: round(rtt.stddev),
  };
}

/**
 * Summarises a list of numbers.
 *
 * @param samples Round-trip times in milliseconds.
 * @returns The figures, or `null` for an empty list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summariseRtt } from "./round_trip_stats.ts";
 * assert.equal(summariseRtt([3, 1, 2])?.p50, 2);
 * ```
 */
export function summariseRtt(samples: readonly number[]): RttSummary | null {
  const rtt = new LatencyHistogram();
  for (const sample of samples) rtt.record(sample);
  return rttSummary(rtt);
}

/**
 * One responder's counters as they are at the moment they are read (see
 * {@linkcode RoundTripStats.live}): views of the run's own state, to read
 * and let go, not to keep or change.
 */
export interface ResponderCounters {
  /** Its address. */
  readonly from: string;
  /** Its port. */
  readonly port: number;
  /** Replies received, duplicates and unmatched ones included. */
  readonly replies: number;
  /** Requests it answered (each once, the first reply). */
  readonly answered: number;
  /** Replies for a request it had answered already. */
  readonly duplicates: number;
  /**
   * With sequence numbers: requests whose wait ran out without its reply,
   * from its first answer on (0 without them).
   */
  readonly lost: number;
  /** The round-trip times of its answers, milliseconds. */
  readonly rtt: Pick<
    LatencyHistogram,
    | "count"
    | "mean"
    | "min"
    | "max"
    | "buckets"
    | "addCountsByBound"
    | "percentile"
  >;
}

/** RFC 3550's gain: each difference moves the jitter 1/16 of the way. */
const JITTER_GAIN = 1 / 16;

const WINDOW = 65_536;

/** One responder's counters; which sequence numbers it answered is kept in a sliding bitmap. */
class Responder {
  replies = 0;
  unique = 0;
  duplicates = 0;
  reordered = 0;
  unmatched = 0;
  highest = -1;
  bits = new Uint8Array(WINDOW / 8);
  readonly rtt = new LatencyHistogram();
  /** The round trip of the answer before, for the jitter (NaN: none yet). */
  lastRtt = NaN;
  jitter = 0;
  /** The first request it answered (-1: none yet), and its answers from there on. */
  firstSeq = -1;
  uniqueFromFirst = 0;
  /** Requests whose wait ran out from its first answer on, and those it had not answered. */
  due = 0;
  lost = 0;

  /** Counts one answer and keeps its round-trip time. */
  sample(rttMs: number): void {
    this.unique++;
    this.rtt.record(rttMs);
    if (this.lastRtt === this.lastRtt) {
      this.jitter += (Math.abs(rttMs - this.lastRtt) - this.jitter) *
        JITTER_GAIN;
    }
    this.lastRtt = rttMs;
  }

  /** Whether `seq` was answered, as far as the window tells (an older one counts as answered). */
  answered(seq: number): boolean {
    if (seq > this.highest) return false;
    if (this.highest - seq >= WINDOW) return true;
    const slot = seq % WINDOW;
    return (this.bits[slot >> 3] & (1 << (slot & 7))) !== 0;
  }

  /** Marks `seq` answered; false when it was already (a duplicate). */
  mark(seq: number): boolean {
    if (seq > this.highest) {
      // Forget the window positions that the new highest number reuses.
      const clear = Math.min(WINDOW, seq - this.highest);
      for (let i = 1; i <= clear; i++) {
        const slot = (this.highest + i) % WINDOW;
        this.bits[slot >> 3] &= ~(1 << (slot & 7));
      }
      this.highest = seq;
    } else if (this.highest - seq >= WINDOW) {
      return true; // too old to tell: counted once more, as reordered
    }
    const slot = seq % WINDOW;
    const bit = 1 << (slot & 7);
    if (this.bits[slot >> 3] & bit) return false;
    this.bits[slot >> 3] |= bit;
    return true;
  }
}

/**
 * Collects replies of a sequenced run and summarises them per responder.
 * Memory stays bounded: duplicates are told within the last 65,536
 * sequence numbers, and round-trip times go into a histogram per
 * responder (a few KiB, however long the run).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RoundTripStats } from "./round_trip_stats.ts";
 * const stats = new RoundTripStats();
 * stats.reply("10.0.0.2", 10000, 0, 0.5);
 * stats.reply("10.0.0.2", 10000, 0, 0.6); // a duplicate
 * const [one] = stats.summary(2);
 * assert.equal(one.duplicates, 1);
 * assert.equal(one.lossPercent, 50);
 * ```
 */
export class RoundTripStats {
  readonly #responders = new Map<string, Responder>();
  #last: { from: string; port: number; responder: Responder } | undefined;

  /**
   * Records one reply.
   *
   * @param from The responder's address.
   * @param port The responder's port.
   * @param seq The request's sequence number.
   * @param rttMs The time since that request was sent.
   * @returns Whether it was an answer (false: a duplicate).
   */
  reply(from: string, port: number, seq: number, rttMs: number): boolean {
    const responder = this.#responder(from, port);
    responder.replies++;
    const later = seq < responder.highest;
    if (!responder.mark(seq)) {
      responder.duplicates++;
      return false;
    }
    if (later) responder.reordered++;
    if (responder.firstSeq < 0) responder.firstSeq = seq;
    if (seq >= responder.firstSeq) responder.uniqueFromFirst++;
    responder.sample(rttMs);
    return true;
  }

  /**
   * The wait for request `seq` ran out: every responder that had answered
   * an earlier request (or this one) and has not answered it lost it.
   * Call it once per request, in order, while the request is within the
   * last 65,536 (the window that tells what was answered).
   *
   * @param seq The request, counted from 0 in the run.
   * @param lost Called with `seq` for each responder that lost it.
   */
  expire(
    seq: number,
    lost: (seq: number, from: string, port: number) => void,
  ): void {
    for (const [key, responder] of this.#responders) {
      if (responder.firstSeq < 0 || responder.firstSeq > seq) continue;
      responder.due++;
      if (responder.answered(seq)) continue;
      responder.lost++;
      const at = key.lastIndexOf("\u0000");
      lost(seq, key.slice(0, at), Number(key.slice(at + 1)));
    }
  }

  /**
   * Records one reply that carries no sequence number (a run without
   * `sequence`): it is taken to answer the latest request, so it counts
   * as one answer and its round-trip time is from that request.
   *
   * @param from The responder's address.
   * @param port The responder's port.
   * @param rttMs The time since the latest request was sent.
   */
  answer(from: string, port: number, rttMs: number): void {
    const responder = this.#responder(from, port);
    responder.replies++;
    responder.sample(rttMs);
  }

  /**
   * Records one reply that answers none of the run's requests (see
   * {@linkcode ResponderSummary.unmatched}): counted, never an answer.
   *
   * @param from The responder's address.
   * @param port The responder's port.
   */
  unmatched(from: string, port: number): void {
    const responder = this.#responder(from, port);
    responder.replies++;
    responder.unmatched++;
  }

  /**
   * Each responder's counters as they are now, in order of first reply,
   * read in place: for a reader that looks now and then (metrics at
   * scrape time), at no cost per reply.
   *
   * @returns One {@linkcode ResponderCounters} per responder.
   */
  *live(): Generator<ResponderCounters, void, undefined> {
    for (const [key, responder] of this.#responders) {
      const at = key.lastIndexOf("\u0000");
      yield {
        from: key.slice(0, at),
        port: Number(key.slice(at + 1)),
        replies: responder.replies,
        answered: responder.unique,
        duplicates: responder.duplicates,
        lost: responder.lost,
        rtt: responder.rtt,
      };
    }
  }

  #responder(from: string, port: number): Responder {
    // The latest one again (a ping-pong hears one): no key to build.
    const last = this.#last;
    if (last !== undefined && last.from === from && last.port === port) {
      return last.responder;
    }
    const key = `${from}\u0000${port}`;
    let responder = this.#responders.get(key);
    if (responder === undefined) {
      responder = new Responder();
      this.#responders.set(key, responder);
    }
    this.#last = { from, port, responder };
    return responder;
  }

  /**
   * Summarises every responder.
   *
   * @param sent How many requests were sent.
   * @returns One summary per responder, in order of first reply.
   */
  summary(sent: number): ResponderSummary[] {
    return [...this.#responders].map(([key, responder]) => {
      const [from, port] = key.split("\u0000");
      const { firstSeq } = responder;
      return {
        from,
        port: Number(port),
        replies: responder.replies,
        lossPercent: percentMissing(sent, responder.unique),
        duplicates: responder.duplicates,
        reordered: responder.reordered,
        ...(responder.unmatched > 0 ? { unmatched: responder.unmatched } : {}),
        ...(firstSeq < 0 ? {} : {
          fromFirst: {
            seq: firstSeq,
            lossPercent: percentMissing(
              sent - firstSeq,
              responder.uniqueFromFirst,
            ),
          },
        }),
        rttMs: rttSummary(responder.rtt),
        jitterMs: responder.rtt.count < 2 ? null : round(responder.jitter),
      };
    });
  }
}

/** The percentage of `asked` that `answered` leaves, to two decimals (0 when none was asked). */
function percentMissing(asked: number, answered: number): number {
  if (asked <= 0) return 0;
  const missing = Math.max(0, asked - Math.min(asked, answered));
  return Math.round((missing / asked) * 10000) / 100;
}
