/**
 * The live progress line of a long `send` on a terminal: one line,
 * rewritten in place, shown once a run has lasted a second. Never shown
 * when output is not a terminal or is NDJSON.
 *
 * @module
 */

import type { Io } from "./io.ts";

const SHOW_AFTER_MS = 1000;
const EVERY_MS = 250;

/** A progress line: counts sends and replies, redraws a few times a second. */
export class Progress {
  #io: Io;
  #enabled: boolean;
  #sent = 0;
  #replies = 0;
  #started = performance.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #shown = false;

  /** Creates the line; it draws nothing when `enabled` is false. */
  constructor(io: Io, enabled: boolean) {
    this.#io = io;
    this.#enabled = enabled;
    if (enabled) this.#timer = setInterval(() => this.#draw(), EVERY_MS);
  }

  /** Records the number of requests sent so far. */
  sent(count: number): void {
    this.#sent = count;
  }

  /** Records one reply. */
  reply(): void {
    this.#replies++;
  }

  /** Prints a line above the progress line. */
  print(line: string): void {
    this.#clear();
    this.#io.out(line);
    if (this.#shown) this.#draw();
  }

  /** Removes the line and stops redrawing; idempotent. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
    this.#shown = false;
  }

  #clear() {
    if (this.#shown) this.#io.write("\r\x1b[K");
  }

  #draw() {
    const elapsed = performance.now() - this.#started;
    if (!this.#enabled || elapsed < SHOW_AFTER_MS) return;
    this.#shown = true;
    const rate = Math.round(this.#sent / (elapsed / 1000));
    this.#io.write(
      `\r\x1b[K${this.#sent} sent (${rate}/s), ${this.#replies} replies, ${
        (elapsed / 1000).toFixed(1)
      } s`,
    );
  }
}
