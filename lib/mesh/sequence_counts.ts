/**
 * Counts over one stream of numbered datagrams (a peer's multicast probes,
 * its unicast probes, the answers to this node's probes): how many
 * arrived, counted from the first one that did, how many came twice and
 * how many came after a later one. Constant memory: a window of the last
 * {@linkcode SEQUENCE_WINDOW} numbers tells a duplicate from a late one.
 *
 * @module
 */

/** Numbers remembered behind the highest one, to tell duplicates (a multiple of 32). */
export const SEQUENCE_WINDOW = 1024;

/** What became of one number given to {@linkcode SequenceCounts.record}. */
export type SequenceOutcome = "new" | "reordered" | "duplicate";

/**
 * Loss, duplicates and reordering of one numbered stream, counted from the
 * first number that arrived (numbers start at 1; those before the first
 * one heard are the join window, not loss).
 *
 * @example Probes 3, 4, 6, 5 and 5 again
 * ```ts
 * import assert from "node:assert/strict";
 * import { SequenceCounts } from "./sequence_counts.ts";
 * const counts = new SequenceCounts();
 * for (const seq of [3, 4, 6, 5, 5]) counts.record(seq);
 * assert.equal(counts.first, 3);
 * assert.equal(counts.received, 4);
 * assert.equal(counts.expected(), 4);
 * assert.equal(counts.reordered, 1);
 * assert.equal(counts.duplicates, 1);
 * ```
 */
export class SequenceCounts {
  #first = 0;
  #highest = 0;
  #received = 0;
  #duplicates = 0;
  #reordered = 0;
  /** Bit `seq % SEQUENCE_WINDOW`: whether `seq` arrived (for the window behind `#highest`). */
  readonly #seen = new Uint32Array(SEQUENCE_WINDOW / 32);

  /** The lowest number that arrived; 0 before any did. */
  get first(): number {
    return this.#first;
  }

  /** The highest number that arrived; 0 before any did. */
  get highest(): number {
    return this.#highest;
  }

  /** Distinct numbers that arrived. */
  get received(): number {
    return this.#received;
  }

  /** Arrivals of a number that had arrived already (or too late to tell). */
  get duplicates(): number {
    return this.#duplicates;
  }

  /** Numbers that arrived after a higher one. */
  get reordered(): number {
    return this.#reordered;
  }

  /**
   * Numbers expected from the first that arrived through `through` (the
   * highest that arrived, unless a higher one is known to have been
   * sent); 0 before any arrived.
   *
   * @param through The highest number known to have been sent.
   * @returns How many numbers the stream should have delivered.
   */
  expected(through: number = this.#highest): number {
    if (this.#received === 0) return 0;
    return Math.max(through, this.#highest) - this.#first + 1;
  }

  /**
   * Numbers sent before the first that arrived: the join window
   * (omping's `seq>=N`); 0 before any arrived.
   */
  get joinMissed(): number {
    return this.#first === 0 ? 0 : this.#first - 1;
  }

  /**
   * Counts one arrival.
   *
   * @param seq Its number, 1 or more.
   * @returns Whether it was new, late (new but after a higher one) or a duplicate.
   */
  record(seq: number): SequenceOutcome {
    if (this.#received === 0) {
      this.#first = this.#highest = seq;
      this.#mark(seq);
      this.#received = 1;
      return "new";
    }
    if (seq > this.#highest) {
      this.#advance(seq);
      this.#mark(seq);
      this.#received++;
      return "new";
    }
    if (seq <= this.#highest - SEQUENCE_WINDOW || this.#marked(seq)) {
      this.#duplicates++;
      return "duplicate";
    }
    this.#mark(seq);
    this.#received++;
    this.#reordered++;
    if (seq < this.#first) this.#first = seq;
    return "reordered";
  }

  /** Forgets the window's numbers between the old highest and `seq`. */
  #advance(seq: number): void {
    if (seq - this.#highest >= SEQUENCE_WINDOW) {
      this.#seen.fill(0);
    } else {
      for (let n = this.#highest + 1; n < seq; n++) this.#unmark(n);
    }
    this.#highest = seq;
  }

  #mark(seq: number): void {
    const bit = seq % SEQUENCE_WINDOW;
    this.#seen[bit >>> 5] |= 1 << (bit & 31);
  }

  #unmark(seq: number): void {
    const bit = seq % SEQUENCE_WINDOW;
    this.#seen[bit >>> 5] &= ~(1 << (bit & 31));
  }

  #marked(seq: number): boolean {
    const bit = seq % SEQUENCE_WINDOW;
    return (this.#seen[bit >>> 5] & (1 << (bit & 31))) !== 0;
  }
}
