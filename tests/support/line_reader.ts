/**
 * Reads a child process's output stream as text lines, so a test can wait
 * (bounded) for the line it expects.
 *
 * @module
 */

/** Reads a stream as text lines, so a test can wait for one. */
export class LineReader {
  /** Every complete line so far, without its newline (a last partial line is added at the end). */
  readonly lines: string[] = [];
  /** Whether the stream has ended. */
  ended = false;
  /** Settles when the stream has been read to its end. */
  readonly done: Promise<void>;
  #waiters = new Set<() => void>();

  /** Starts reading `stream`; it is read to its end whatever the caller does. */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let buffer = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf("\n")) !== -1) {
          this.lines.push(buffer.slice(0, at));
          buffer = buffer.slice(at + 1);
        }
        this.#wake();
      }
    } finally {
      if (buffer !== "") this.lines.push(buffer);
      this.ended = true;
      this.#wake();
    }
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /**
   * Resolves with the first line matching `match`; throws after
   * `timeoutMs` or at the end of the stream, naming `what` and quoting the
   * lines so far.
   */
  async waitFor(
    match: (line: string) => boolean,
    what: string,
    timeoutMs: number,
  ): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    let index = 0;
    while (true) {
      for (; index < this.lines.length; index++) {
        if (match(this.lines[index])) return this.lines[index];
      }
      const left = deadline - performance.now();
      if (this.ended || left <= 0) {
        throw new Error(
          `${
            this.ended ? "Output ended" : `Timed out after ${timeoutMs} ms`
          } waiting for ${what}; lines so far:\n${this.text}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  /** The lines so far, joined by newlines. */
  get text(): string {
    return this.lines.join("\n");
  }
}
