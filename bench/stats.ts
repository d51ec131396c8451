/**
 * The statistics the bench reports: medians of repeated runs and
 * percentiles of latency samples.
 *
 * @module
 */

/**
 * The value below which `p` percent of the samples lie (nearest rank).
 *
 * @param samples Numbers, in any order; not modified.
 * @param p Percent, 0-100.
 * @returns The percentile, or NaN without samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { percentile } from "./stats.ts";
 * assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
 * assert.equal(percentile([1, 2, 3, 4, 100], 99), 100);
 * ```
 */
export function percentile(samples: readonly number[], p: number): number {
  const finite = samples.filter(Number.isFinite);
  if (finite.length === 0) return NaN;
  const sorted = finite.sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * The middle value (the mean of the two middle ones for an even count).
 *
 * @param samples Numbers; NaN ones are ignored.
 * @returns The median, or NaN without samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { median } from "./stats.ts";
 * assert.equal(median([3, 1, 2]), 2);
 * assert.equal(median([4, 1, 3, 2]), 2.5);
 * ```
 */
export function median(samples: readonly number[]): number {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}
