/**
 * How many lines a second a person can read, and the gate both commands
 * put in front of their line per datagram: `listen` a line per message,
 * `send` a line per reply. Above {@linkcode READABLE_LINES_PER_SECOND}
 * lines in a second the command switches to a line a second (it says so),
 * and back once a second's worth is readable again. Pure: the caller says
 * the time and prints.
 *
 * @module
 */

/**
 * More lines a second than this, and `listen` stops printing a line per
 * message (`send` a line per reply) and prints a line a second instead.
 */
export const READABLE_LINES_PER_SECOND = 20;

/**
 * The gate: whether a line per item may be printed now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReadableRate, READABLE_LINES_PER_SECOND } from "./readable_rate.ts";
 * const gate = new ReadableRate();
 * for (let i = 0; i < READABLE_LINES_PER_SECOND; i++) {
 *   assert.equal(gate.admit(0), "print");
 * }
 * assert.equal(gate.admit(10), "switch"); // the 21st line within a second
 * assert.equal(gate.admit(20), "skip");
 * assert.equal(gate.settle(5), true); // a second with 5: back to lines
 * assert.equal(gate.admit(2000), "print");
 * ```
 */
export class ReadableRate {
  #flooded = false;
  #windowStart = -Infinity;
  #windowLines = 0;

  /** Whether lines per item are off (a line a second instead). */
  get flooded(): boolean {
    return this.#flooded;
  }

  /**
   * One more line is wanted at `now` (milliseconds): `print` it, `skip` it
   * (lines are off), or `switch`: this one is over the limit, lines go off
   * from now on and the caller says so.
   */
  admit(now: number): "print" | "skip" | "switch" {
    if (this.#flooded) return "skip";
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowLines = 0;
    }
    if (++this.#windowLines <= READABLE_LINES_PER_SECOND) return "print";
    this.#flooded = true;
    return "switch";
  }

  /**
   * An interval line counted `perSecond` items a second: when lines are
   * off and that is readable again, they come back on (returns true).
   */
  settle(perSecond: number): boolean {
    if (!this.#flooded || perSecond > READABLE_LINES_PER_SECOND) return false;
    this.#flooded = false;
    this.#windowStart = -Infinity;
    return true;
  }
}
