/**
 * Per-responder statistics of a sequenced run, as a multicast ping reports
 * them: replies, loss, duplicates, reordering and round-trip times.
 *
 * @module
 */

/** Round-trip time figures in milliseconds. */
export interface RttSummary {
  /** Fastest. */
  min: number;
  /** Mean. */
  avg: number;
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
  /** Slowest. */
  max: number;
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
  /** Round-trip times of its first reply to each request. */
  rttMs: RttSummary | null;
}

const MAX_SAMPLES = 100_000;

/**
 * Summarises a list of numbers (sorted in place).
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
export function summariseRtt(samples: number[]): RttSummary | null {
  if (samples.length === 0) return null;
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    min: round(samples[0]),
    avg: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    max: round(samples[samples.length - 1]),
  };
}

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
  samples: number[] = [];

  /** Counts one answer and keeps its round-trip time (a uniform sample past the limit). */
  sample(rttMs: number): void {
    this.unique++;
    if (this.samples.length < MAX_SAMPLES) this.samples.push(rttMs);
    else {
      const slot = Math.floor(Math.random() * this.unique);
      if (slot < MAX_SAMPLES) this.samples[slot] = rttMs;
    }
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
 * sequence numbers, and past 100,000 round-trip samples per responder it
 * keeps a uniform random sample.
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

  /**
   * Records one reply.
   *
   * @param from The responder's address.
   * @param port The responder's port.
   * @param seq The request's sequence number.
   * @param rttMs The time since that request was sent.
   */
  reply(from: string, port: number, seq: number, rttMs: number): void {
    const responder = this.#responder(from, port);
    responder.replies++;
    const later = seq < responder.highest;
    if (!responder.mark(seq)) {
      responder.duplicates++;
      return;
    }
    if (later) responder.reordered++;
    responder.sample(rttMs);
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

  #responder(from: string, port: number): Responder {
    const key = `${from}\u0000${port}`;
    let responder = this.#responders.get(key);
    if (responder === undefined) {
      responder = new Responder();
      this.#responders.set(key, responder);
    }
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
      const missing = Math.max(0, sent - Math.min(sent, responder.unique));
      return {
        from,
        port: Number(port),
        replies: responder.replies,
        lossPercent: sent === 0
          ? 0
          : Math.round((missing / sent) * 10000) / 100,
        duplicates: responder.duplicates,
        reordered: responder.reordered,
        ...(responder.unmatched > 0 ? { unmatched: responder.unmatched } : {}),
        rttMs: summariseRtt(responder.samples.slice()),
      };
    });
  }
}
