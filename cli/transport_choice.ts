/**
 * `--transport dgram|ffi`: which socket implementation a command uses
 * (the flag and its help are declared in `common_flags.ts`).
 *
 * @module
 */

import {
  denoTransportAvailable,
  openDenoTransport,
} from "../lib/transports/deno_udp.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import {
  createFfiTransportFactory,
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import type { TransportFactory } from "../lib/transports/transport.ts";
import { UsageError } from "./usage_error.ts";

/**
 * Turns the flag's value into a transport factory, or `undefined` for the
 * library's own choice; throws `UsageError` for a bad or unavailable one.
 * auto means FFI when it is available (the FFI permission is granted,
 * Linux, glibc), else the library's choice: for `send` too, since the FFI
 * socket's receive buffer (32 MiB by default) holds the replies of many
 * responders that answer at once, where node:dgram's holds a few hundred.
 */
export function chooseTransport(
  value: string | undefined,
  command: "send" | "listen",
  tuning: { receiveBufferBytes?: number } = {},
): TransportFactory | undefined {
  if (tuning.receiveBufferBytes !== undefined) {
    // Only the FFI transport can set SO_RCVBUF.
    if (value !== undefined && value !== "auto" && value !== "ffi") {
      throw new UsageError(
        `--recv-buffer needs the ffi transport, not "${value}": Deno.listenDatagram and node:dgram cannot set the socket's receive buffer`,
      );
    }
    if (!ffiTransportAvailable()) {
      throw new UsageError(
        `--recv-buffer needs the ffi transport, which is not available here: it needs Linux (glibc) and FFI permission (--allow-ffi)`,
      );
    }
    return createFfiTransportFactory({
      receiveBufferBytes: tuning.receiveBufferBytes,
    });
  }
  if (value === undefined || value === "auto") {
    return ffiTransportAvailable() ? openFfiTransport : undefined;
  }
  if (value === "dgram") return openDgramTransport;
  if (value === "deno") {
    if (command === "send") {
      // Deno.listenDatagram sets the TTL only through a joined membership
      // and has no outgoing-interface setting: it cannot send as asked.
      throw new UsageError(
        `Transport "deno" cannot send: Deno.listenDatagram sets no multicast TTL or outgoing interface for a sender (use auto, dgram or ffi)`,
      );
    }
    if (!denoTransportAvailable()) {
      throw new UsageError(
        `Transport "deno" is not available here: it needs Deno's --unstable-net flag`,
      );
    }
    return openDenoTransport;
  }
  if (value === "ffi") {
    if (!ffiTransportAvailable()) {
      throw new UsageError(
        `Transport "ffi" is not available here: it needs Linux (glibc) and FFI permission (--allow-ffi)`,
      );
    }
    return openFfiTransport;
  }
  throw new UsageError(
    `Invalid --transport "${value}": expected ${
      command === "send" ? "auto, dgram or ffi" : "auto, dgram, deno or ffi"
    }`,
  );
}
