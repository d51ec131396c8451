/**
 * Events raised by callbacks (datagrams, timers) handed to an async
 * generator in order: `push` never waits, `next` waits for the next event
 * or the end.
 *
 * @module
 */

/**
 * A first-in first-out queue with an end, read as an async iterator.
 * Unbounded for `push`; `pushLatest` keeps at most one unread event of a
 * kind, so a reader that falls behind cannot grow it with snapshots that
 * newer ones supersede.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventQueue } from "./event_queue.ts";
 * const queue = new EventQueue<number>();
 * queue.push(1);
 * queue.push(2);
 * queue.end();
 * const seen: number[] = [];
 * for await (const n of queue) seen.push(n);
 * assert.deepEqual(seen, [1, 2]);
 * ```
 */
export class EventQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #ended = false;
  #wake: (() => void) | undefined;

  /** Adds an event at the end (ignored once the queue has ended). */
  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#wake?.();
  }

  /**
   * Adds an event that supersedes any unread one for which `supersedes`
   * is true: that one is taken out (the newest snapshot is what counts),
   * so a slow reader holds one such event at most.
   *
   * @example A slow reader sees the newest snapshot only
   * ```ts
   * import assert from "node:assert/strict";
   * import { EventQueue } from "./event_queue.ts";
   * const queue = new EventQueue<string>();
   * const snapshot = (item: string) => item.startsWith("matrix");
   * queue.push("peer a");
   * queue.pushLatest("matrix 1", snapshot);
   * queue.push("peer b");
   * queue.pushLatest("matrix 2", snapshot);
   * queue.end();
   * const seen: string[] = [];
   * for await (const item of queue) seen.push(item);
   * assert.deepEqual(seen, ["peer a", "peer b", "matrix 2"]);
   * ```
   */
  pushLatest(item: T, supersedes: (waiting: T) => boolean): void {
    if (this.#ended) return;
    for (let i = this.#items.length - 1; i >= this.#head; i--) {
      if (supersedes(this.#items[i])) this.#items.splice(i, 1);
    }
    this.push(item);
  }

  /** Puts an event before every other waiting one. */
  pushFirst(item: T): void {
    if (this.#ended) return;
    this.#items.splice(this.#head, 0, item);
    this.#wake?.();
  }

  /** Ends the queue: the reader gets what waits, then the end. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  /** Reads the events in order until the end. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    while (true) {
      if (this.#head < this.#items.length) {
        const item = this.#items[this.#head++];
        if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#head = 0;
        }
        yield item;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}
