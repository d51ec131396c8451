/**
 * mcast: IP multicast messaging for Deno. Send a message to a group and
 * collect every reply before a timeout; listen on a group and answer each
 * datagram with a responder plugin. Codecs and responders are plugins.
 *
 * This is the entry point for applications. Plugin authors also have
 * `plugin.ts` (the plugin types, and the dispatcher to test a responder in
 * memory); custom socket layers have `transport.ts`. Everything under
 * `lib/` is private. Import it from disk or by URL: this module has no
 * side effects and only relative imports.
 *
 * @example Send and listen on loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { ack, listen, send, text } from "./mod.ts";
 *
 * await using listener = await listen({
 *   group: "239.1.2.3",
 *   port: 0,
 *   interface: "127.0.0.1",
 *   responder: ack(),
 *   codec: text(),
 * });
 * const replies: unknown[] = [];
 * for await (
 *   const event of send("hello", {
 *     group: "239.1.2.3",
 *     port: listener.port,
 *     interface: "127.0.0.1",
 *     codec: text(),
 *     timeout: "200ms",
 *   })
 * ) {
 *   if (event.event === "reply") replies.push(event.payload);
 * }
 * assert.deepEqual(replies, ["ack"]);
 * ```
 *
 * @module
 */

// Sending.
export { send, type SendOptions } from "./lib/sender/send.ts";
export {
  Sender,
  type SenderOptions,
  type SendEvent,
  type SendReply,
  type SendRunOptions,
  type SendSummary,
} from "./lib/sender/sender.ts";
export type {
  ResponderSummary,
  RttSummary,
} from "./lib/sender/round_trip_stats.ts";

// Listening.
export {
  listen,
  type ListenDropEvent,
  type Listener,
  type ListenErrorEvent,
  type ListenEvent,
  type ListenMessageEvent,
  type ListenOptions,
  type ListenReplyEvent,
} from "./lib/listener/listen.ts";
export type { RateLimitOptions } from "./lib/safety/rate_limiter.ts";
export { type AuthFailure, readKeyFile } from "./lib/safety/auth.ts";

// A group as one checked value: parse it once, pass it to send() and listen().
export { type MulticastGroup, parseGroup } from "./lib/group.ts";

// Plugins: the built-ins, loading by name, path or URL, and the types an
// application needs to pass its own responder or codec.
export { ack } from "./plugins/responders/ack.ts";
export { echo } from "./plugins/responders/echo.ts";
export { silent } from "./plugins/responders/silent.ts";
export { status, type StatusDocument } from "./plugins/responders/status.ts";
export { text } from "./plugins/codecs/text.ts";
export { json } from "./plugins/codecs/json.ts";
export { binary } from "./plugins/codecs/binary.ts";
export { builtins } from "./plugins/builtins.ts";
export {
  loadCodec,
  type LoadOptions,
  loadResponder,
  type PluginCatalog,
  type PluginModules,
} from "./lib/loader.ts";
export {
  checkPluginOptions,
  type Codec,
  type ListenerStats,
  type Message,
  type PluginOptions,
  type Reply,
  type Responder,
  type ResponderContext,
} from "./lib/plugin.ts";

// The socket layer's types that the options above name.
export type {
  DatagramHandler,
  Family,
  Peer,
  Transport,
  TransportFactory,
  TransportOpenOptions,
} from "./lib/transports/transport.ts";

// Errors, with a stable `code`.
export {
  type McastErrorCode,
  McastRangeError,
  McastTypeError,
  PluginError,
  SocketError,
} from "./lib/errors.ts";

export type { Duration } from "./lib/duration.ts";
export { DEFAULT_GROUP, DEFAULT_PORT } from "./lib/defaults.ts";
export { VERSION } from "./lib/version.ts";
