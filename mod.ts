/**
 * mcast: IP multicast messaging for Deno. Send a message to a group and
 * collect every reply before a timeout; listen on a group and answer each
 * datagram with a responder plugin. Codecs and responders are plugins.
 *
 * Import it from disk or by URL: this module has no side effects and only
 * relative imports.
 *
 * @example Send and listen on loopback
 * ```ts ignore
 * import { ack, listen, send, text } from "./mod.ts";
 *
 * const listener = await listen({
 *   group: "239.1.2.3",
 *   interface: "127.0.0.1",
 *   responder: ack(),
 *   codec: text(),
 * });
 * for await (const event of send("hello", {
 *   group: "239.1.2.3",
 *   interface: "127.0.0.1",
 *   codec: text(),
 *   timeout: "200ms",
 * })) {
 *   console.log(event);
 * }
 * await listener.close();
 * ```
 *
 * @module
 */

export * from "./lib/address.ts";
export * from "./lib/safety/auth.ts";
export * from "./lib/safety/cidr.ts";
export * from "./lib/transports/deno_udp.ts";
export * from "./lib/defaults.ts";
export * from "./lib/transports/node_dgram.ts";
export * from "./lib/dispatch.ts";
export * from "./lib/duration.ts";
export * from "./lib/errors.ts";
export * from "./lib/transports/ffi/ffi_transport.ts";
export * from "./lib/interface.ts";
export * from "./lib/listener/listen.ts";
export * from "./lib/loader.ts";
export * from "./lib/numbers.ts";
export * from "./lib/plugin.ts";
export * from "./lib/safety/rate_limiter.ts";
export * from "./lib/sender/round_trip_stats.ts";
export * from "./lib/sender/send.ts";
export * from "./lib/sender/sender.ts";
export * from "./lib/wire/sequence.ts";
export * from "./lib/safety/source_filter.ts";
export * from "./lib/transports/transport.ts";
export * from "./lib/version.ts";
export * from "./plugins/builtins.ts";
export * from "./plugins/codecs/binary.ts";
export * from "./plugins/codecs/json.ts";
export * from "./plugins/codecs/text.ts";
export * from "./plugins/responders/ack.ts";
export * from "./plugins/responders/echo.ts";
export * from "./plugins/responders/silent.ts";
export * from "./plugins/responders/status.ts";
