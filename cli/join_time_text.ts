/**
 * The join time as `listen`'s summary says it to people: how long after
 * the join the first datagram arrived (`Listener.firstDatagramAfterMs`),
 * the time a multicast tree took to reach this host. `--json` gives the
 * number itself (`firstDatagramAfterMs` in the summary event).
 *
 * @module
 */

/**
 * The summary's line for the join time: milliseconds to a tenth below a
 * second, seconds to a hundredth from there on; `undefined` when no
 * datagram arrived (the summary's `0 received` says so).
 *
 * @param afterMs How long after the join the first datagram arrived.
 * @returns The line, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { joinTimeLine } from "./join_time_text.ts";
 * assert.equal(joinTimeLine(212.437), "first datagram 212.4 ms after the join");
 * assert.equal(joinTimeLine(3215), "first datagram 3.22 s after the join");
 * assert.equal(joinTimeLine(999.96), "first datagram 1.00 s after the join");
 * assert.equal(joinTimeLine(undefined), undefined);
 * ```
 */
export function joinTimeLine(afterMs: number | undefined): string | undefined {
  if (afterMs === undefined) return undefined;
  // Rounded as integers first: 3215 / 1000 is 3.21499... in binary, and
  // toFixed would say 3.21.
  const tenthsMs = Math.round(afterMs * 10);
  const shown = tenthsMs < 10_000
    ? `${(tenthsMs / 10).toFixed(1)} ms`
    : `${(Math.round(afterMs / 10) / 100).toFixed(2)} s`;
  return `first datagram ${shown} after the join`;
}
