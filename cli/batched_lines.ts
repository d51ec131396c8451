/**
 * Output lines gathered and written together: one write for all the lines
 * of a burst of datagrams (at the next turn of the event loop, or once
 * 64 KiB are waiting) instead of one system call per line. Diagnostics
 * (`err`) are written at once, after the output gathered so far, so the
 * two streams keep their order. `flush()` before exiting loses nothing.
 * Lines come as text, or as bytes already encoded (`outBytes`: a
 * `listen --json` line copied from the datagram), gathered in one reused
 * buffer.
 *
 * @module
 */

import type { Io } from "./io.ts";

/** Gathered output is written once this many characters (or bytes) wait. */
const FLUSH_CHARS = 64 * 1024;

/** The reused buffer of byte lines: room for a full batch and one more line. */
const BUFFER_BYTES = 2 * FLUSH_CHARS;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Lines for `io.out`, written in batches; `io.err` lines at once. Text
 * lines are one string that grows (V8 joins the pieces once, when it is
 * written): 0.10 us a 64-byte `listen --json` line, against 0.19 us for
 * an array joined at the end. Byte lines are copied into a reused
 * buffer, the text waiting before them encoded into it first, so the
 * order holds.
 */
export class BatchedLines {
  readonly #io: Io;
  /** The text lines waiting after the bytes, joined by newlines (`io.out` ends the last). */
  #text = "";
  /** Whether any text line waits (an empty line is one). */
  #waiting = false;
  /** Byte lines (and text encoded before them), each with its newline. */
  #bytes = new Uint8Array(BUFFER_BYTES);
  /** How much of `#bytes` waits. */
  #used = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Writes to `io`. */
  constructor(io: Io) {
    this.#io = io;
  }

  /** Queues one line of output. */
  out(line: string): void {
    this.#text = this.#waiting ? this.#text + "\n" + line : line;
    this.#waiting = true;
    // The text and the newline io.out ends it with.
    if (this.#used + this.#text.length + 1 >= FLUSH_CHARS) this.#write();
    else this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /**
   * Queues one line given as its UTF-8 bytes, in three pieces (a head, a
   * body and a tail: a cached prefix, a payload, a cached suffix), copied
   * as they are; the newline is added.
   */
  outBytes(head: Uint8Array, body: Uint8Array, tail: Uint8Array): void {
    if (this.#waiting) this.#encodeText();
    const size = head.length + body.length + tail.length + 1;
    if (this.#used + size > this.#bytes.length) {
      this.#write();
      if (size > this.#bytes.length) this.#bytes = new Uint8Array(size);
    }
    const bytes = this.#bytes;
    let at = this.#used;
    bytes.set(head, at);
    at += head.length;
    bytes.set(body, at);
    at += body.length;
    bytes.set(tail, at);
    at += tail.length;
    bytes[at++] = 10;
    this.#used = at;
    if (at >= FLUSH_CHARS) this.#write();
    else this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /** Writes the queued output, then one line of diagnostics. */
  err(line: string): void {
    this.flush();
    this.#io.err(line);
  }

  /** Writes every queued line now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#write();
  }

  /**
   * Writes what waits: the bytes, then the text. The timer stays: a batch
   * written for its size does not need a timer of its own.
   */
  #write(): void {
    if (this.#used > 0) {
      const bytes = this.#bytes.subarray(0, this.#used);
      this.#used = 0;
      if (this.#io.outBytes !== undefined) this.#io.outBytes(bytes);
      else this.#io.out(decoder.decode(bytes.subarray(0, -1)));
    }
    if (!this.#waiting) return;
    const text = this.#text;
    this.#text = "";
    this.#waiting = false;
    this.#io.out(text);
  }

  /** Moves the waiting text, with its newline, into the bytes (written first when no room). */
  #encodeText(): void {
    // UTF-8 takes at most 3 bytes for each UTF-16 code unit.
    if (this.#used + this.#text.length * 3 + 1 > this.#bytes.length) {
      return this.#write();
    }
    const room = this.#bytes.subarray(this.#used);
    this.#used += encoder.encodeInto(this.#text, room).written;
    this.#bytes[this.#used++] = 10;
    this.#text = "";
    this.#waiting = false;
  }
}
