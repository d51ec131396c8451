/**
 * The two plugin interfaces: a {@linkcode Codec} turns payload bytes into
 * values and back; a {@linkcode Responder} decides what to answer. Both are
 * plain objects, usually made by a factory that takes options.
 *
 * @module
 */

import type { Peer } from "./address.ts";

/**
 * Turns payload bytes into values and back. Pure: `decode` throws
 * `SyntaxError` on bytes it cannot read, `encode` throws `TypeError` on a
 * value it cannot write.
 *
 * @typeParam T The decoded value's type.
 *
 * @example A codec for upper-case text
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Codec } from "./plugin.ts";
 * const shout: Codec<string> = {
 *   name: "shout",
 *   encode: (value) => new TextEncoder().encode(value.toUpperCase()),
 *   decode: (bytes) => new TextDecoder().decode(bytes),
 * };
 * assert.equal(shout.encode("hi")[0], 72);
 * ```
 */
export interface Codec<T = unknown> {
  /** The codec's name, as chosen with `--codec`. */
  readonly name: string;
  /** Writes a value as payload bytes. */
  encode(value: T): Uint8Array;
  /** Reads payload bytes; throws `SyntaxError` when they are not valid. */
  decode(bytes: Uint8Array): T;
  /**
   * Tells whether `decode` would read these bytes, without building the
   * value: throws the `SyntaxError` that `decode` would throw, returns
   * otherwise (it must agree with `decode` on every input). With it, a
   * listener decodes a request only when something reads
   * `message.payload` (a responder that answers without looking, such as
   * `ack`, costs no decode) and still counts bytes that would not decode
   * before it answers; without it, every request is decoded on arrival.
   */
  check?(bytes: Uint8Array): void;
  /** Turns command-line text into a value to send (default: the text itself). */
  parse?(text: string): T;
  /** Turns a decoded value into something JSON can show (default: the value). */
  show?(value: T): unknown;
}

/**
 * The counters of a listener. Every received datagram is in exactly one of
 * the others: `received` is always their sum.
 */
export interface ListenerStats {
  /** Datagrams received. */
  received: number;
  /** Replies sent. */
  replied: number;
  /** Datagrams the responder chose not to answer. */
  unanswered: number;
  /** Datagrams from senders outside the allowed ranges (not answered, not decoded). */
  refused: number;
  /** Replies not sent because the sender or the listener was over its rate limit. */
  rateLimited: number;
  /** Replies not sent because they were larger than the cap (by default: the request's size). */
  oversize: number;
  /** Datagrams without a signature, when a key is set. */
  unsigned: number;
  /** Datagrams whose signature did not verify. */
  badSignature: number;
  /** Signed datagrams whose timestamp was outside the window. */
  stale: number;
  /** Signed datagrams seen before. */
  replayed: number;
  /** Datagrams the codec could not decode. */
  decodeErrors: number;
  /** Datagrams whose responder threw, returned a wrong type, timed out, or whose reply did not encode. */
  pluginErrors: number;
  /** Replies the socket failed to send. */
  sendErrors: number;
  /** Datagrams still being answered (an asynchronous responder, a jitter delay, a send under way). */
  pending: number;
  /**
   * Datagrams the kernel dropped for the socket, mostly because its
   * receive buffer was full: never read, so in no other counter (and not
   * in `received`). Read once a second and when the listener closes;
   * absent where this process cannot read it (see the README: the `ffi`
   * transport always can, `deno` and `dgram` on Linux with Deno's
   * `--allow-all`).
   */
  kernelDrops?: number;
}

/**
 * Makes a set of listener counters, all zero.
 *
 * @returns Fresh counters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newListenerStats } from "./plugin.ts";
 * assert.equal(newListenerStats().received, 0);
 * ```
 */
export function newListenerStats(): ListenerStats {
  return {
    received: 0,
    replied: 0,
    unanswered: 0,
    refused: 0,
    rateLimited: 0,
    oversize: 0,
    unsigned: 0,
    badSignature: 0,
    stale: 0,
    replayed: 0,
    decodeErrors: 0,
    pluginErrors: 0,
    sendErrors: 0,
    pending: 0,
  };
}

/** What a responder knows about the listener it serves. */
export interface ResponderContext {
  /** The group joined. */
  readonly group: string;
  /** The UDP port listened on. */
  readonly port: number;
  /** The interface joined on, when one was chosen. */
  readonly interface: string | undefined;
  /** When the listener started (milliseconds since the epoch). */
  readonly startedAt: number;
  /** The listener's live counters. */
  readonly stats: Readonly<ListenerStats>;
}

/**
 * One received datagram, decoded.
 *
 * @typeParam T The decoded payload's type.
 */
export interface Message<T = unknown> {
  /**
   * The decoded payload. It may be decoded on its first read (an
   * accessor, with codecs that have `check`): a copy made with spread
   * syntax (`{ ...message }`) may lack it, so read it by name.
   */
  readonly payload: T;
  /**
   * The raw payload bytes: a view, whose `buffer` may hold other
   * datagrams too (copy them before transferring that buffer).
   */
  readonly bytes: Uint8Array;
  /** Who sent it (a reply goes back there). */
  readonly from: Peer;
}

/**
 * What a responder's `respond` may return: a value for the codec to encode,
 * raw bytes to send as they are, or `undefined` for no reply.
 */
export type Reply<T = unknown> = T | Uint8Array | undefined;

/**
 * Decides what to answer to each message. Hooks run in this order:
 * `setup` once after the group is joined, `respond` per decoded message,
 * `teardown` once when the listener closes. The listener wraps a throw from
 * any hook so it names the responder and the hook, and never dies from it.
 *
 * @typeParam In The decoded payload's type.
 * @typeParam Out The type of the value a reply carries.
 *
 * @example A responder that answers "pong" to "ping"
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Responder } from "./plugin.ts";
 * const pong: Responder<string, string> = {
 *   name: "pong",
 *   respond: (message) => message.payload === "ping" ? "pong" : undefined,
 * };
 * assert.equal(pong.name, "pong");
 * ```
 */
export interface Responder<In = unknown, Out = unknown> {
  /** The responder's name, used in logs and errors. */
  readonly name: string;
  /** Runs once after the listener joined, before the first message. */
  setup?(context: ResponderContext): void | Promise<void>;
  /** Answers one message: a value, bytes, or `undefined` for none. */
  respond(
    message: Message<In>,
    context: ResponderContext,
  ): Reply<Out> | Promise<Reply<Out>>;
  /** Runs once when the listener closes. */
  teardown?(): void | Promise<void>;
}

/** Options handed to a plugin factory (`--option key=value` on the command line). */
export type PluginOptions = Record<string, string>;

/**
 * Makes a responder from options. A plugin module's default export is a
 * responder or one of these.
 *
 * @example A factory with an option
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ResponderFactory } from "./plugin.ts";
 * const say: ResponderFactory = (options) => ({
 *   name: "say",
 *   respond: () => options.text ?? "hello",
 * });
 * assert.equal(typeof say, "function");
 * ```
 */
export type ResponderFactory = (
  options: PluginOptions,
) => Responder | Promise<Responder>;

/**
 * Makes a codec from options. A codec module's default export is a codec or
 * one of these.
 *
 * @example A factory
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CodecFactory } from "./plugin.ts";
 * const raw: CodecFactory = () => ({
 *   name: "raw",
 *   encode: (value) => value as Uint8Array,
 *   decode: (bytes) => bytes,
 * });
 * assert.equal((await raw({})).name, "raw");
 * ```
 */
export type CodecFactory = (options: PluginOptions) => Codec | Promise<Codec>;

/**
 * Checks that a plugin factory got only the options it knows, so a typo in
 * `--option` is an error instead of being ignored.
 *
 * @param plugin The plugin's name, for the message.
 * @param options What the factory was given.
 * @param known The option names it accepts.
 * @throws {TypeError} naming the unknown option and the known ones.
 *
 * @example
 * ```ts
 * import { checkPluginOptions } from "./plugin.ts";
 * checkPluginOptions("ack", { text: "pong" }, ["text"]);
 * ```
 */
export function checkPluginOptions(
  plugin: string,
  options: PluginOptions,
  known: readonly string[],
): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Plugin "${plugin}" has no option "${key}" (${
          known.length === 0 ? "it takes none" : `it takes: ${known.join(", ")}`
        })`,
      );
    }
  }
}
