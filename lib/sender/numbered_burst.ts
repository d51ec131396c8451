/**
 * Numbered requests for a burst, framed in one reused buffer: the frame
 * header (`0x00 M S 0x01`) and the message are written once, when the
 * buffer is made, and each burst writes only the four bytes of each
 * request's number. `send --seq --interval 0` sends hundreds of thousands
 * a second; a new buffer, a view and a copy of the message per request
 * were most of its cost.
 *
 * @module
 */

import { FRAME_BYTES, FrameKind, writeFrame } from "../wire/frame.ts";

/**
 * A burst's requests, reused from one burst to the next: what
 * {@linkcode NumberedBurst.next} returns is valid until its next call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NumberedBurst } from "./numbered_burst.ts";
 * import { frameValue } from "../wire/frame.ts";
 * import { FrameKind } from "../wire/frame.ts";
 * const burst = new NumberedBurst(new TextEncoder().encode("hi"));
 * const requests = burst.next(7, 3);
 * assert.deepEqual(requests.map((r) => frameValue(r, FrameKind.request)), [7, 8, 9]);
 * assert.equal(requests[0].byteLength, 10);
 * ```
 */
export class NumberedBurst {
  readonly #message: Uint8Array;
  readonly #size: number;
  #view = new DataView(new ArrayBuffer(0));
  #requests: Uint8Array[] = [];

  /**
   * Requests carrying `message`.
   *
   * @param message The payload every request carries after its frame.
   */
  constructor(message: Uint8Array) {
    this.#message = message;
    this.#size = FRAME_BYTES + message.byteLength;
  }

  /**
   * The next `count` requests, numbered from `first` (wrapping at 2^32).
   *
   * @param first The first one's number.
   * @param count How many.
   * @returns `count` requests, in a buffer reused by the next call.
   */
  next(first: number, count: number): Uint8Array[] {
    if (this.#requests.length !== count) this.#make(count);
    const view = this.#view;
    const size = this.#size;
    for (let i = 0; i < count; i++) {
      view.setUint32(i * size + 4, (first + i) >>> 0);
    }
    return this.#requests;
  }

  #make(count: number): void {
    const size = this.#size;
    const slab = new Uint8Array(count * size);
    this.#view = new DataView(slab.buffer);
    this.#requests = new Array(count);
    for (let i = 0; i < count; i++) {
      const request = slab.subarray(i * size, (i + 1) * size);
      writeFrame(request, FrameKind.request, 0);
      request.set(this.#message, FRAME_BYTES);
      this.#requests[i] = request;
    }
  }
}
