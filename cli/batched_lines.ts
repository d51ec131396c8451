/**
 * Output lines gathered and written together: one write for all the lines
 * of a burst of datagrams (at the next turn of the event loop, or once
 * 64 KiB are waiting) instead of one system call per line. Diagnostics
 * (`err`) are written at once, after the output gathered so far, so the
 * two streams keep their order. `flush()` before exiting loses nothing.
 *
 * @module
 */

import type { Io } from "./io.ts";

/** Gathered output is written once this many characters wait. */
const FLUSH_CHARS = 64 * 1024;

/** Lines for `io.out`, written in batches; `io.err` lines at once. */
export class BatchedLines {
  readonly #io: Io;
  #lines: string[] = [];
  #chars = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Writes to `io`. */
  constructor(io: Io) {
    this.#io = io;
  }

  /** Queues one line of output. */
  out(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length + 1;
    if (this.#chars >= FLUSH_CHARS) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /** Writes the queued output, then one line of diagnostics. */
  err(line: string): void {
    this.flush();
    this.#io.err(line);
  }

  /** Writes every queued line now, in one `io.out` call. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    const text = this.#lines.join("\n");
    this.#lines = [];
    this.#chars = 0;
    this.#io.out(text);
  }
}
