/**
 * mcast's socket layer, for custom transports: the `Transport` interface a
 * listener and a sender use, and the three implementations, named after
 * what they wrap. Pass a factory as the `transport` option of `listen()`,
 * `send()` or `Sender.open()`.
 *
 * - `openDgramTransport`: Deno's `node:dgram`; portable, `--allow-net`.
 * - `openDenoTransport`: `Deno.listenDatagram` (`--unstable-net`); a
 *   faster listener, IPv4, no source-specific join.
 * - `openFfiTransport`: the socket through libc (`--allow-ffi`, Linux,
 *   glibc); the fastest receive, IPv6 hop limit, IPv6 SSM, TTL 0.
 *
 * @example Choose the transport a listener uses
 * ```ts
 * import assert from "node:assert/strict";
 * import { ack, listen } from "./mod.ts";
 * import { openDgramTransport } from "./transport.ts";
 *
 * await using listener = await listen({
 *   group: "239.1.2.4",
 *   port: 0,
 *   interface: "127.0.0.1",
 *   responder: ack(),
 *   transport: openDgramTransport,
 * });
 * assert.equal(listener.transport, "dgram");
 * ```
 *
 * @module
 */

export type {
  DatagramHandler,
  Family,
  KernelClock,
  Peer,
  Transport,
  TransportFactory,
  TransportOpenOptions,
} from "./lib/transports/transport.ts";
export { openDgramTransport } from "./lib/transports/node_dgram.ts";
export {
  denoTransportAvailable,
  openDenoTransport,
} from "./lib/transports/deno_udp.ts";
export {
  createFfiTransportFactory,
  type FfiSocketOptions,
  ffiTransportAvailable,
  type FfiTransportOptions,
  openFfiTransport,
} from "./lib/transports/ffi/ffi_transport.ts";
export {
  type McastErrorCode,
  SendBatchError,
  SocketError,
  type SocketErrorOptions,
} from "./lib/errors.ts";
