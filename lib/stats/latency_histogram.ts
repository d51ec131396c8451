/**
 * A latency distribution that stays exact over any length of run, in
 * constant memory: count, minimum, maximum, mean and standard deviation
 * kept exactly, and percentiles from a histogram laid out as HdrHistogram
 * lays out its counts (log2 buckets, each split into linear sub-buckets),
 * so that every percentile is within a stated relative error of the true
 * one. `send --seq` keeps one per responder (`mcast_send_rtt_seconds` is
 * exported from it); its interval lines keep a coarser one per interval.
 *
 * Why not `hdr-histogram-js` (docs/performance.md, "A histogram of our
 * own"): measured here, its `recordValue` cost more per reply, its import
 * added 80-110 ms to every start, it allocates its counts as one array
 * sized by the largest value seen, and an `npm:` import makes every URL
 * importer of mod.ts fetch from the npm registry (an offline host, or a
 * test namespace, cannot).
 *
 * Layout, with `significantDigits` d (2 or 3): values are recorded in
 * whole microseconds; H = 2^ceil(log2(10^d)) (128 or 1,024) slots per
 * region; region 0 holds 0 to H-1 us one microsecond a slot, region r >= 1
 * holds H*2^(r-1) to H*2^r - 1 us, 2^(r-1) us a slot. A region is
 * allocated when a value first falls in it (8 KiB at 3 digits, 1 KiB at
 * 2), so a responder whose times span 0.3-3 ms costs 3 regions, however
 * many replies it sends. A percentile is the middle of its slot, within
 * [min, max]: at most half a slot off, a relative error of 1/(2H)
 * (0.049% at 3 digits, 0.39% at 2), or half a microsecond below H us.
 *
 * @module
 */

/** Microseconds per millisecond: values are counted in whole microseconds. */
const UNITS_PER_MS = 1000;
/**
 * Values from 2^40 us on (12.7 days) are counted as 2^40 - 1 us, in the
 * last slot; the exact maximum is kept beside.
 */
const MAX_UNITS = 2 ** 40 - 1;

/** Options of a {@linkcode LatencyHistogram}. */
export interface LatencyHistogramOptions {
  /**
   * Significant decimal digits each percentile keeps: 3 (a relative
   * error of at most 0.049%, 8 KiB per doubling of the time that is
   * used) or 2 (0.39%, 1 KiB). @default {3}
   */
  significantDigits?: 2 | 3;
}

/** One slot of the histogram that holds values, as {@linkcode LatencyHistogram.buckets} yields it. */
export interface LatencyBucket {
  /** The slot's lowest value, milliseconds. */
  fromMs: number;
  /** The first value above the slot, milliseconds (a slot holds `fromMs` <= value < `toMs`). */
  toMs: number;
  /** Values recorded in it. */
  count: number;
}

/**
 * A latency distribution in milliseconds: exact count, min, max, mean
 * and standard deviation; percentiles within {@linkcode LatencyHistogram.relativeError}.
 *
 * @example The spike is never lost
 * ```ts
 * import assert from "node:assert/strict";
 * import { LatencyHistogram } from "./latency_histogram.ts";
 * const rtt = new LatencyHistogram();
 * rtt.record(500);
 * for (let i = 0; i < 1000; i++) rtt.record(1);
 * assert.equal(rtt.count, 1001);
 * assert.equal(rtt.max, 500);
 * assert.equal(rtt.percentile(0.5), 1);
 * assert.ok(Math.abs(rtt.percentile(0.9995) - 500) <= 500 * rtt.relativeError);
 * ```
 */
export class LatencyHistogram {
  /** The largest relative error of a percentile above `2^bits` microseconds (half a slot). */
  readonly relativeError: number;
  /** log2 of the slots per region. */
  readonly #bits: number;
  readonly #slots: number;
  readonly #regions: (Float64Array | undefined)[] = [];
  #count = 0;
  #min = Infinity;
  #max = -Infinity;
  /**
   * Sums of the values' differences from the first value, and of their
   * squares: the shifted-data form of the variance, stable while the
   * first value is near the mean (round-trip times are), and without a
   * division per value as Welford's has.
   */
  #shift = NaN;
  #sum = 0;
  #squares = 0;

  /**
   * An empty histogram.
   *
   * @param options Significant digits (3 by default).
   * @throws {RangeError} when `significantDigits` is not 2 or 3.
   */
  constructor(options: LatencyHistogramOptions = {}) {
    const digits = options.significantDigits ?? 3;
    if (digits !== 2 && digits !== 3) {
      throw new RangeError(
        `Invalid significantDigits ${digits}: must be 2 or 3`,
      );
    }
    this.#bits = Math.ceil(Math.log2(10 ** digits));
    this.#slots = 1 << this.#bits;
    this.relativeError = 1 / (2 * this.#slots);
  }

  /** Values recorded. */
  get count(): number {
    return this.#count;
  }

  /** The smallest value recorded, exactly (NaN when none was). */
  get min(): number {
    return this.#count === 0 ? NaN : this.#min;
  }

  /** The largest value recorded, exactly (NaN when none was). */
  get max(): number {
    return this.#count === 0 ? NaN : this.#max;
  }

  /** The mean of the values recorded (NaN when none was). */
  get mean(): number {
    return this.#count === 0 ? NaN : this.#shift + this.#sum / this.#count;
  }

  /** The population standard deviation of the values recorded (NaN when none was). */
  get stddev(): number {
    const n = this.#count;
    if (n === 0) return NaN;
    return Math.sqrt(
      Math.max(0, this.#squares - this.#sum * this.#sum / n) / n,
    );
  }

  /**
   * Records one value. Negative values count as 0; NaN and infinite
   * values are ignored.
   *
   * @param ms The value, in milliseconds.
   */
  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    if (ms < 0) ms = 0;
    if (this.#count++ === 0) this.#shift = ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
    const delta = ms - this.#shift;
    this.#sum += delta;
    this.#squares += delta * delta;
    const units = Math.min(MAX_UNITS, Math.floor(ms * UNITS_PER_MS + 0.5));
    let region = 0;
    let slot = units;
    if (units >= this.#slots) {
      if (units < 0x8000_0000) {
        region = 32 - Math.clz32(units) - this.#bits;
        slot = (units >>> (region - 1)) - this.#slots;
      } else {
        region = Math.floor(Math.log2(units)) - this.#bits + 1;
        let scaled = Math.floor(units / 2 ** (region - 1));
        // Math.log2 may round across a power of two: step to the right region.
        if (scaled < this.#slots) region--;
        else if (scaled >= 2 * this.#slots) region++;
        scaled = Math.floor(units / 2 ** (region - 1));
        slot = scaled - this.#slots;
      }
    }
    const counts = this.#regions[region] ??= new Float64Array(this.#slots);
    counts[slot]++;
  }

  /**
   * The value at quantile `q`: the smallest value that at least
   * `q * count` values are at or below (nearest rank, as a sorted list
   * gives it), as the middle of its slot, kept within [min, max].
   *
   * @param q 0-1 (0.5 for the median, 0.999 for p99.9).
   * @returns Milliseconds; NaN when nothing was recorded.
   * @throws {RangeError} when `q` is not within 0-1.
   */
  percentile(q: number): number {
    return this.percentiles([q])[0];
  }

  /**
   * Several quantiles in one pass (see {@linkcode LatencyHistogram.percentile}).
   *
   * @param qs Quantiles, each 0-1, in any order.
   * @returns The values, in the order of `qs`.
   * @throws {RangeError} when a quantile is not within 0-1.
   */
  percentiles(qs: readonly number[]): number[] {
    for (const q of qs) {
      if (!(q >= 0 && q <= 1)) {
        throw new RangeError(`Invalid quantile ${q}: must be within 0-1`);
      }
    }
    if (this.#count === 0) return qs.map(() => NaN);
    const order = qs.map((q, index) => ({
      index,
      rank: Math.max(1, Math.ceil(q * this.#count)),
    })).sort((a, b) => a.rank - b.rank);
    const out = new Array<number>(qs.length);
    let next = 0;
    // The first and the last rank are the exact min and max.
    while (next < order.length && order[next].rank === 1) {
      out[order[next++].index] = this.#min;
    }
    let seen = 0;
    for (const bucket of this.buckets()) {
      seen += bucket.count;
      while (next < order.length && order[next].rank <= seen) {
        const { index, rank } = order[next++];
        out[index] = rank >= this.#count ? this.#max : this.#middle(bucket);
      }
      if (next === order.length) break;
    }
    // Rounding of q * count cannot pass the total, but be safe.
    while (next < order.length) out[order[next++].index] = this.#max;
    return out;
  }

  /**
   * How many values are at or below `ms`, to the slot: the count of
   * every slot that starts at or below it (the slot holding `ms` counts
   * whole). For Prometheus' cumulative `le` buckets.
   *
   * @param ms A bound in milliseconds.
   * @returns A count.
   */
  countAtOrBelow(ms: number): number {
    if (this.#count === 0 || ms < this.#min) return 0;
    if (ms >= this.#max) return this.#count;
    let total = 0;
    for (const bucket of this.buckets()) {
      if (bucket.fromMs > ms) break;
      total += bucket.count;
    }
    return total;
  }

  /**
   * Adds the histogram's counts to `into`, bucket by bucket: `into[i]`
   * gets the values of every slot that starts above `boundsMs[i - 1]` and
   * at or below `boundsMs[i]` (as {@linkcode countAtOrBelow} counts a
   * slot), and `into[boundsMs.length]` those of the slots that start above
   * the last bound. One pass over the counts and nothing allocated, where
   * {@linkcode buckets} makes an object per slot: for exporting the
   * histogram with coarser bounds (Prometheus' `le` buckets) at every
   * scrape.
   *
   * @param boundsMs Upper bounds in milliseconds, ascending, taken to the
   *   whole microsecond (the histogram's unit).
   * @param into Counts to add to, at least `boundsMs.length + 1` long.
   * @throws {RangeError} when `into` is shorter than that.
   *
   * @example Counts at or below 1 ms, at or below 10 ms, and above
   * ```ts
   * import assert from "node:assert/strict";
   * import { LatencyHistogram } from "./latency_histogram.ts";
   * const rtt = new LatencyHistogram();
   * for (const ms of [0.5, 1, 2, 30]) rtt.record(ms);
   * const counts = [0, 0, 0];
   * rtt.addCountsByBound([1, 10], counts);
   * assert.deepEqual(counts, [2, 1, 1]);
   * ```
   */
  addCountsByBound(boundsMs: readonly number[], into: number[]): void {
    if (into.length < boundsMs.length + 1) {
      throw new RangeError(
        `Cannot add counts for ${boundsMs.length} bounds to ${into.length} buckets: ${
          boundsMs.length + 1
        } needed`,
      );
    }
    if (this.#count === 0) return;
    let bound = 0;
    let boundUnits = boundsMs.length === 0
      ? Infinity
      : Math.round(boundsMs[0] * UNITS_PER_MS);
    for (let region = 0; region < this.#regions.length; region++) {
      const counts = this.#regions[region];
      if (counts === undefined) continue;
      const width = region === 0 ? 1 : 2 ** (region - 1);
      const base = region === 0 ? 0 : this.#slots * width;
      for (let slot = 0; slot < counts.length; slot++) {
        const count = counts[slot];
        if (count === 0) continue;
        const from = base + slot * width;
        while (from > boundUnits) {
          bound++;
          boundUnits = bound < boundsMs.length
            ? Math.round(boundsMs[bound] * UNITS_PER_MS)
            : Infinity;
        }
        into[bound] += count;
      }
    }
  }

  /**
   * Every slot that holds values, lowest first: the raw histogram, for
   * export (a Prometheus histogram's buckets, a plot).
   *
   * @returns Slots with their bounds and counts.
   */
  *buckets(): Generator<LatencyBucket, void, undefined> {
    for (let region = 0; region < this.#regions.length; region++) {
      const counts = this.#regions[region];
      if (counts === undefined) continue;
      const width = region === 0 ? 1 : 2 ** (region - 1);
      const base = region === 0 ? 0 : this.#slots * width;
      for (let slot = 0; slot < counts.length; slot++) {
        const count = counts[slot];
        if (count === 0) continue;
        const from = base + slot * width;
        yield {
          fromMs: from / UNITS_PER_MS,
          toMs: (from + width) / UNITS_PER_MS,
          count,
        };
      }
    }
  }

  /**
   * Adds every value of `other` (same significant digits) to this one.
   *
   * @param other Another histogram.
   * @throws {RangeError} when their significant digits differ.
   */
  add(other: LatencyHistogram): void {
    if (other.#slots !== this.#slots) {
      throw new RangeError(
        "Cannot add histograms of different significant digits",
      );
    }
    if (other.#count === 0) return;
    other.#regions.forEach((counts, region) => {
      if (counts === undefined) return;
      const mine = this.#regions[region] ??= new Float64Array(this.#slots);
      for (let slot = 0; slot < counts.length; slot++) {
        mine[slot] += counts[slot];
      }
    });
    // Move the other's sums to this one's shift: x - a = (x - b) + (b - a).
    const offset = other.#shift -
      (this.#count === 0 ? other.#shift : this.#shift);
    if (this.#count === 0) this.#shift = other.#shift;
    this.#squares += other.#squares + 2 * offset * other.#sum +
      offset * offset * other.#count;
    this.#sum += other.#sum + offset * other.#count;
    this.#count += other.#count;
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
  }

  /** Forgets every value; the regions stay allocated for reuse. */
  reset(): void {
    for (const counts of this.#regions) counts?.fill(0);
    this.#count = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
    this.#shift = NaN;
    this.#sum = 0;
    this.#squares = 0;
  }

  /** Bytes held by the counts (the regions allocated so far). */
  get countsBytes(): number {
    let bytes = 0;
    for (const counts of this.#regions) bytes += counts?.byteLength ?? 0;
    return bytes;
  }

  /** A slot's middle value (integer microseconds), within [min, max]. */
  #middle(bucket: LatencyBucket): number {
    const fromUnits = Math.round(bucket.fromMs * UNITS_PER_MS);
    const width = Math.round((bucket.toMs - bucket.fromMs) * UNITS_PER_MS);
    const middle = (fromUnits + Math.floor(width / 2)) / UNITS_PER_MS;
    return Math.min(this.#max, Math.max(this.#min, middle));
  }
}
