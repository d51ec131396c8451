/**
 * Token buckets per source and for the whole listener, with a bounded
 * source table so a flood of spoofed sources cannot grow memory.
 *
 * @module
 */

import { McastRangeError } from "../errors.ts";

/** Limits on replies; a rate of 0 turns that limit off. */
export interface RateLimitOptions {
  /** Replies per second to one source address. @default {10} */
  perSource?: number;
  /** Replies one source may get in a burst. @default {20} */
  perSourceBurst?: number;
  /** Replies per second in total. @default {1000} */
  global?: number;
  /** Replies in a burst in total. @default {2000} */
  globalBurst?: number;
  /** Source addresses tracked at once; the least recently seen is forgotten first. @default {10000} */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  at: number;
  seen: number;
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid ${what} ${value}: must be a finite number >= 0`,
    );
  }
  return value;
}

/** A burst below one token never lets a reply through while its rate is on. */
function burst(value: number, rate: number, what: string): number {
  positive(value, what);
  if (rate > 0 && value < 1) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid ${what} ${value}: must be at least 1 while its rate is on (a burst below 1 would never let a reply through; a rate of 0 turns the limit off)`,
    );
  }
  return value;
}

/**
 * Decides whether a reply to a source may go now. Each source has a bucket
 * of `perSourceBurst` tokens refilled at `perSource` per second; the
 * listener as a whole has one of `globalBurst` refilled at `global`.
 *
 * @example Two replies allowed, the third refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimiter } from "./rate_limiter.ts";
 * const limiter = new RateLimiter({ perSource: 1, perSourceBurst: 2 });
 * assert.ok(limiter.allow("10.0.0.1", 0));
 * assert.ok(limiter.allow("10.0.0.1", 0));
 * assert.equal(limiter.allow("10.0.0.1", 0), false);
 * assert.ok(limiter.allow("10.0.0.2", 0));
 * ```
 */
export class RateLimiter {
  readonly #perSource: number;
  readonly #perSourceBurst: number;
  readonly #global: number;
  readonly #globalBurst: number;
  readonly #maxSources: number;
  readonly #sources = new Map<string, Bucket>();
  readonly #all: Bucket;
  /** Which limit refused the latest reply that {@linkcode allow} refused. */
  #refusedBy: "source" | "global" = "source";

  /**
   * Creates the limiter.
   *
   * @param options Rates, bursts and the size of the source table.
   * @throws {McastRangeError} for a negative or non-finite number, or a
   *   burst below 1 while its rate is on.
   */
  constructor(options: RateLimitOptions = {}) {
    this.#perSource = positive(options.perSource ?? 10, "per-source rate");
    this.#perSourceBurst = burst(
      options.perSourceBurst ?? Math.max(1, this.#perSource * 2),
      this.#perSource,
      "per-source burst",
    );
    this.#global = positive(options.global ?? 1000, "global rate");
    this.#globalBurst = burst(
      options.globalBurst ?? Math.max(1, this.#global * 2),
      this.#global,
      "global burst",
    );
    this.#maxSources = Math.max(
      1,
      Math.floor(positive(options.maxSources ?? 10_000, "source table size")),
    );
    this.#all = { tokens: this.#globalBurst, at: 0, seen: 0 };
  }

  /**
   * The limits in force, 0 for one that is off (for messages that name
   * them).
   */
  get limits(): Required<Omit<RateLimitOptions, "maxSources">> {
    return {
      perSource: this.#perSource,
      perSourceBurst: this.#perSourceBurst,
      global: this.#global,
      globalBurst: this.#globalBurst,
    };
  }

  /** Which limit refused the latest reply {@linkcode allow} refused: one source's, or the global one. */
  get refusedBy(): "source" | "global" {
    return this.#refusedBy;
  }

  /** How many sources are tracked now (never more than `maxSources`). */
  get sources(): number {
    return this.#sources.size;
  }

  /**
   * Takes a token for a reply to `source`, if both buckets have one.
   *
   * @param source The source address.
   * @param now Milliseconds on a monotonic clock (`performance.now()`).
   * @returns True when the reply may go.
   */
  allow(source: string, now: number): boolean {
    let bucket: Bucket | undefined;
    if (this.#perSource > 0) {
      bucket = this.#sources.get(source);
      if (bucket === undefined) {
        if (this.#sources.size >= this.#maxSources) {
          // Maps iterate in insertion order: the first key is the least recently seen.
          this.#sources.delete(this.#sources.keys().next().value!);
        }
        bucket = { tokens: this.#perSourceBurst, at: now, seen: now };
        this.#sources.set(source, bucket);
      } else {
        // Move it to the back (most recently seen), at most once a second:
        // a Map delete and set on every reply would cost more than the rest.
        if (now - bucket.seen >= 1000) {
          this.#sources.delete(source);
          this.#sources.set(source, bucket);
          bucket.seen = now;
        }
        refill(bucket, now, this.#perSource, this.#perSourceBurst);
      }
      if (bucket.tokens < 1) {
        this.#refusedBy = "source";
        return false;
      }
    }
    if (this.#global > 0) {
      refill(this.#all, now, this.#global, this.#globalBurst);
      if (this.#all.tokens < 1) {
        this.#refusedBy = "global";
        return false;
      }
      this.#all.tokens -= 1;
    }
    if (bucket !== undefined) bucket.tokens -= 1;
    return true;
  }
}

function refill(bucket: Bucket, now: number, rate: number, burst: number) {
  const elapsed = now - bucket.at;
  if (elapsed > 0) {
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * rate) / 1000);
    bucket.at = now;
  }
}
