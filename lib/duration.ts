/**
 * Durations in human units (`500ms`, `2s`, `1m`), as ping and iperf users
 * type them.
 *
 * @module
 */

import { McastRangeError, McastTypeError } from "./errors.ts";

/** A duration: milliseconds as a number, or text such as `"500ms"` or `"2s"`. */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/;

/**
 * Turns a duration into milliseconds. A bare number is milliseconds.
 *
 * @param value `250`, `"250"`, `"500ms"`, `"1.5s"`, `"2m"`.
 * @param what What the duration is for, used in the message (`"timeout"`).
 * @returns Milliseconds, a finite number >= 0.
 * @throws {McastTypeError} `ERR_INVALID_DURATION` for unparsable text.
 * @throws {McastRangeError} `ERR_INVALID_DURATION` for a negative or infinite number.
 *
 * @example Parse durations
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./duration.ts";
 * assert.equal(parseDuration("500ms"), 500);
 * assert.equal(parseDuration("2s"), 2000);
 * assert.equal(parseDuration(250), 250);
 * ```
 */
export function parseDuration(value: Duration, what = "duration"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new McastRangeError(
        "ERR_INVALID_DURATION",
        `Invalid ${what} ${value}: must be a finite number of milliseconds >= 0`,
      );
    }
    return value;
  }
  const match = PATTERN.exec(value);
  if (match === null) {
    throw new McastTypeError(
      "ERR_INVALID_DURATION",
      `Invalid ${what} "${value}": expected a duration such as 500ms, 2s, 1m or a number of milliseconds`,
    );
  }
  return Number(match[1]) * UNITS[match[2] ?? "ms"];
}
