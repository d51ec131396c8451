/**
 * A received message whose payload is decoded when first read: a
 * responder that answers without looking (`ack`, `silent`) costs no
 * decoding. The dispatcher makes one only for a codec that can tell
 * undecodable bytes apart without decoding them (`Codec.check`), so a
 * datagram that would not decode is still counted before any answer.
 *
 * @module
 */

import type { Codec, Message } from "./plugin.ts";
import type { Peer } from "./address.ts";

/** Not decoded yet, decoded, or failed to decode. */
const UNREAD = 0;
const DECODED = 1;
const FAILED = 2;

/**
 * A {@linkcode Message} whose `payload` the codec decodes on first read,
 * once: later reads return the same value (or throw the same error).
 * `payload` is an accessor on the class, so a copy made with spread syntax
 * (`{ ...message }`) has no `payload`: read it (`message.payload`).
 *
 * @typeParam T The decoded payload's type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LazyMessage } from "./lazy_message.ts";
 * let decodes = 0;
 * const codec = {
 *   name: "counting",
 *   encode: (value: string) => new TextEncoder().encode(value),
 *   decode: (bytes: Uint8Array) => (decodes++, new TextDecoder().decode(bytes)),
 * };
 * const from = { address: "127.0.0.1", port: 5000, family: "IPv4" as const };
 * const message = new LazyMessage(codec, new Uint8Array([104, 105]), from);
 * assert.equal(decodes, 0);
 * assert.equal(message.payload, "hi");
 * assert.equal(message.payload, "hi");
 * assert.equal(decodes, 1);
 * ```
 */
export class LazyMessage<T = unknown> implements Message<T> {
  /** The raw payload bytes (see {@linkcode Message.bytes}). */
  readonly bytes: Uint8Array;
  /** Who sent it. */
  readonly from: Peer;
  readonly #codec: Codec<T>;
  #state = UNREAD;
  #value: T | undefined;
  #error: unknown;

  /**
   * Holds the bytes; decodes nothing yet.
   *
   * @param codec Decodes the payload on first read.
   * @param bytes The payload bytes.
   * @param from Who sent them.
   */
  constructor(codec: Codec<T>, bytes: Uint8Array, from: Peer) {
    this.#codec = codec;
    this.bytes = bytes;
    this.from = from;
  }

  /** The decoded payload; throws the codec's error when it does not decode. */
  get payload(): T {
    if (this.#state === DECODED) return this.#value as T;
    if (this.#state === FAILED) throw this.#error;
    try {
      this.#value = this.#codec.decode(this.bytes);
      this.#state = DECODED;
      return this.#value;
    } catch (error) {
      this.#state = FAILED;
      this.#error = error;
      throw error;
    }
  }

  /** Why the payload did not decode, once a read found it; else `undefined`. */
  get decodeError(): Error | undefined {
    if (this.#state !== FAILED) return undefined;
    const error = this.#error;
    return error instanceof Error ? error : new SyntaxError(String(error));
  }
}
