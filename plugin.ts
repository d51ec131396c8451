/**
 * mcast for plugin authors: the types of codecs and responders, the check
 * for `--option` pairs, and the pure dispatcher, which runs a responder on
 * one datagram in memory (no sockets), so a plugin's tests need no network.
 *
 * A responder is `{ name, setup?, respond, teardown? }`; a plugin module's
 * default export is a responder or a factory that takes the `--option`
 * pairs and returns one. A codec is `{ name, encode, decode }` (decode
 * throws `SyntaxError` on bad bytes).
 *
 * @example A responder, tested in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   checkPluginOptions,
 *   dispatch,
 *   newListenerStats,
 *   type PluginOptions,
 *   type Responder,
 * } from "./plugin.ts";
 *
 * function shout(options: PluginOptions = {}): Responder {
 *   checkPluginOptions("shout", options, ["suffix"]);
 *   return {
 *     name: "shout",
 *     respond: (message) =>
 *       typeof message.payload === "string"
 *         ? message.payload.toUpperCase() + (options.suffix ?? "")
 *         : undefined,
 *   };
 * }
 *
 * const outcome = dispatch(
 *   new Uint8Array([104, 105]),
 *   { address: "127.0.0.1", port: 5000, family: "IPv4" },
 *   {
 *     responder: shout({ suffix: "!" }),
 *     codec: {
 *       name: "text",
 *       encode: (value) => new TextEncoder().encode(String(value)),
 *       decode: (bytes) => new TextDecoder().decode(bytes),
 *     },
 *     context: {
 *       group: "239.1.1.1",
 *       port: 10000,
 *       interface: undefined,
 *       startedAt: 0,
 *       stats: newListenerStats(),
 *     },
 *   },
 * );
 * assert.ok(!(outcome instanceof Promise) && outcome.kind === "reply");
 * assert.equal(new TextDecoder().decode(outcome.reply), "HI!");
 * ```
 *
 * @module
 */

export {
  checkPluginOptions,
  type Codec,
  type CodecFactory,
  type ListenerStats,
  type Message,
  newListenerStats,
  type PluginOptions,
  type Reply,
  type Responder,
  type ResponderContext,
  type ResponderFactory,
} from "./lib/plugin.ts";
export { dispatch, type Outcome, type Pipeline } from "./lib/dispatch.ts";
export { type McastErrorCode, PluginError } from "./lib/errors.ts";
export type { Family, Peer } from "./lib/transports/transport.ts";
