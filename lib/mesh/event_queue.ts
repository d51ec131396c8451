/**
 * Events raised by callbacks (datagrams, timers) handed to an async
 * generator in order: `push` never waits, `next` waits for the next event
 * or the end.
 *
 * @module
 */

/**
 * An unbounded first-in first-out queue with an end, read as an async
 * iterator.
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
