/**
 * Round-trip times in constant memory: a histogram of fixed log-scale
 * buckets (16 a doubling, so a percentile is within 2.2% of the true
 * value), from 1 microsecond to about a minute, with the exact minimum
 * and maximum beside it. A mesh keeps two per peer (multicast, unicast)
 * however long it runs.
 *
 * @module
 */

/** Buckets per doubling of the time. */
const PER_DOUBLING = 16;
/** Doublings above 1 microsecond covered (2^26 us is about 67 s); longer times share the last bucket. */
const DOUBLINGS = 26;
const BUCKETS = PER_DOUBLING * DOUBLINGS + 1;

/** Two percentiles of round-trip times, in milliseconds. */
export interface RttPercentiles {
  /** The median. */
  p50: number;
  /** The 99th percentile. */
  p99: number;
}

/**
 * Round-trip times, summarised as percentiles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RttHistogram } from "./rtt_histogram.ts";
 * const rtt = new RttHistogram();
 * assert.equal(rtt.percentiles(), null);
 * for (let i = 1; i <= 100; i++) rtt.record(i / 10);
 * const { p50, p99 } = rtt.percentiles()!;
 * assert.ok(Math.abs(p50 - 5) / 5 < 0.025, String(p50));
 * assert.ok(Math.abs(p99 - 9.9) / 9.9 < 0.025, String(p99));
 * ```
 */
export class RttHistogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #min = Infinity;
  #max = 0;

  /** Times recorded. */
  get count(): number {
    return this.#count;
  }

  /**
   * Records one round trip.
   *
   * @param ms Its time in milliseconds (negative or non-finite ones are ignored).
   */
  record(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.#counts[bucketOf(ms)]++;
    this.#count++;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  /**
   * The time below which `fraction` of the round trips lie: the middle of
   * its bucket, kept within the exact minimum and maximum.
   *
   * @param fraction 0-1 (0.5 for the median).
   * @returns Milliseconds, or `null` before any time was recorded.
   */
  percentile(fraction: number): number | null {
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil(fraction * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) {
        // The last bucket holds everything longer: its middle means nothing.
        if (i === BUCKETS - 1) return round(this.#max);
        const middle = i === 0
          ? 0.0005
          : 2 ** ((i - 0.5) / PER_DOUBLING) / 1000;
        return round(Math.min(this.#max, Math.max(this.#min, middle)));
      }
    }
    return round(this.#max);
  }

  /** The median and 99th percentile, or `null` before any time was recorded. */
  percentiles(): RttPercentiles | null {
    if (this.#count === 0) return null;
    return { p50: this.percentile(0.5)!, p99: this.percentile(0.99)! };
  }
}

/** Bucket 0 holds times under 1 us; bucket i >= 1 holds [2^((i-1)/16), 2^(i/16)) us. */
function bucketOf(ms: number): number {
  const us = ms * 1000;
  if (us < 1) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(us) * PER_DOUBLING));
}

/** Milliseconds to the microsecond. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
