/**
 * The portable {@linkcode Transport}: Node's `node:dgram` as Deno provides
 * it. Works wherever Deno runs; needs `--allow-net`.
 *
 * On Deno 2.9.6 `setRecvBufferSize` does not touch SO_RCVBUF: it sets the
 * size of the buffer Deno allocates for every received datagram (twice the
 * size given, on Linux; 64 KiB by default), and 8 MiB drops the receive
 * rate to under 1k datagrams/s. This transport uses it the other way: it
 * allocates `receiveBytes` per datagram (smaller is faster: 16 KiB
 * instead of 64 KiB made a kept-open sender's round trips 1.4x faster),
 * reports a datagram that fills the buffer as `truncated`, and then takes
 * datagrams up to 64 KiB (docs/performance.md).
 *
 * @module
 */

import { MAX_DATAGRAM_BYTES } from "../defaults.ts";
import { formatEndpoint, isMulticast } from "../address.ts";
import dgram from "node:dgram";
import {
  errorCode,
  errorText,
  McastRangeError,
  McastTypeError,
  SocketError,
} from "../errors.ts";
import { KernelDrops } from "./kernel_drops.ts";
import {
  errnoOf,
  explainSocketFailure,
  type FailedCall,
  joinFailureText,
} from "./socket_failure.ts";
import type {
  DatagramHandler,
  Family,
  Peer,
  Transport,
  TransportFactory,
  TransportOpenOptions,
} from "./transport.ts";

function on(iface: string | undefined): string {
  return iface === undefined ? "the default interface" : `interface ${iface}`;
}

/**
 * The errno of a failed join. Deno's node:dgram reports every failed join
 * as `EINVAL`; on no interface in particular, the kernel refuses a join
 * only when it has no route for the group (`ENODEV`), so that is the one
 * it means.
 */
function joinErrno(
  error: unknown,
  iface: string | undefined,
): string | undefined {
  const errno = errnoOf(error);
  return errno === "EINVAL" && iface === undefined ? "ENODEV" : errno;
}

/**
 * Whether this host has a route for `group`: the kernel looks for one to
 * join a group on no interface in particular, and refuses the join
 * without one. Asked on a throw-away socket, only after a send to the
 * group failed for a reason Deno's node:dgram did not report; where there
 * is a route, the socket joins and leaves at once.
 */
function hasRoute(group: string, family: Family): Promise<boolean> {
  const probe = dgram.createSocket(family === "IPv6" ? "udp6" : "udp4");
  return new Promise((resolve) => {
    const done = (routed: boolean) => {
      try {
        probe.close();
      } catch { /* never bound */ }
      resolve(routed);
    };
    // Cannot tell: say nothing about routes.
    probe.once("error", () => done(true));
    probe.bind(0, () => {
      try {
        probe.addMembership(group);
      } catch {
        return done(false);
      }
      try {
        probe.dropMembership(group);
      } catch { /* closing leaves it */ }
      done(true);
    });
  });
}

/**
 * The errno of a failed send. Deno's node:dgram names only `EMSGSIZE`
 * and reports every other failure as `UNKNOWN`; a send to a group on no
 * interface in particular fails that way when there is no route for the
 * group (`ENETUNREACH`), which {@linkcode hasRoute} tells apart from the
 * rest (a firewall rule, an interface that is down), still `UNKNOWN`.
 */
async function sendErrno(
  error: unknown,
  call: FailedCall,
): Promise<string | undefined> {
  const errno = errnoOf(error);
  if (errno !== undefined || errorCode(error) !== "UNKNOWN") return errno;
  if (call.iface === undefined && isMulticast(call.address)) {
    if (!await hasRoute(call.address, call.family)) return "ENETUNREACH";
  }
  return "UNKNOWN";
}

/** Deno's own per-datagram allocation, enough for any UDP datagram. */
const FULL_RECEIVE_BYTES = MAX_DATAGRAM_BYTES;

/**
 * Sets how many bytes Deno allocates per received datagram and returns
 * what it became. Deno doubles the size it is given on Linux (as the
 * kernel does for SO_RCVBUF), so a size that came out larger is halved.
 */
function setReceiveAllocation(socket: dgram.Socket, bytes: number): number {
  socket.setRecvBufferSize(bytes);
  if (socket.getRecvBufferSize() > bytes) {
    socket.setRecvBufferSize(Math.ceil(bytes / 2));
  }
  return socket.getRecvBufferSize();
}

class DgramTransport implements Transport {
  readonly family: Family;
  readonly name = "dgram";
  readonly reusesBuffers = false;
  #socket: dgram.Socket;
  #closed: Promise<void> | undefined;
  /** Sends not yet called back: their rejecters. */
  #sending = new Set<(error: Error) => void>();
  /** Bytes Deno allocates per datagram. */
  #receiveBytes = FULL_RECEIVE_BYTES;
  /** The outgoing multicast interface, once set. */
  #interface: string | undefined;
  readonly #drops: KernelDrops;

  constructor(
    socket: dgram.Socket,
    family: Family,
    receiveBytes: number,
    drops: KernelDrops,
  ) {
    this.#socket = socket;
    this.family = family;
    this.#drops = drops;
    if (receiveBytes < FULL_RECEIVE_BYTES) {
      try {
        this.#receiveBytes = setReceiveAllocation(socket, receiveBytes);
      } catch {
        // A runtime without the setting allocates the full size: no cuts.
      }
    }
  }

  localAddress(): { address: string; port: number } {
    const { address, port } = this.#socket.address();
    return { address, port };
  }

  join(group: string, iface?: string): void {
    try {
      this.#socket.addMembership(group, iface);
    } catch (error) {
      throw new SocketError(
        joinFailureText(
          this.family,
          group,
          iface,
          joinErrno(error, iface),
          error,
        ),
        { cause: error },
      );
    }
  }

  joinSource(source: string, group: string, iface?: string): void {
    if (this.family === "IPv6") {
      // Measured on Deno 2.9.6: addSourceSpecificMembership on udp6 fails
      // with EINVAL for every interface form, where the kernel accepts it.
      throw new McastTypeError(
        "ERR_INVALID_SOURCE",
        `Cannot join IPv6 group ${group} from source ${source} with the node:dgram transport: Deno's IPv6 source-specific join fails (EINVAL); use the ffi transport (--transport ffi, Linux)`,
      );
    }
    try {
      this.#socket.addSourceSpecificMembership(source, group, iface);
    } catch (error) {
      throw new SocketError(
        `Cannot join group ${group} from source ${source} on ${on(iface)}: ${
          errorText(error)
        }`,
        { cause: error },
      );
    }
  }

  leave(group: string, iface?: string): void {
    try {
      this.#socket.dropMembership(group, iface);
    } catch (error) {
      throw new SocketError(
        `Cannot leave group ${group} on ${on(iface)}: ${errorText(error)}`,
        { cause: error },
      );
    }
  }

  leaveSource(source: string, group: string, iface?: string): void {
    try {
      this.#socket.dropSourceSpecificMembership(source, group, iface);
    } catch (error) {
      throw new SocketError(
        `Cannot leave group ${group} from source ${source} on ${on(iface)}: ${
          errorText(error)
        }`,
        { cause: error },
      );
    }
  }

  setTtl(ttl: number): void {
    if (ttl === 0) {
      // Measured on Deno 2.9.6: setMulticastTTL(0) fails with EINVAL.
      throw new McastRangeError(
        "ERR_INVALID_TTL",
        "Cannot set TTL 0 (this host only) with the node:dgram transport: Deno refuses it (EINVAL); use the ffi transport (--transport ffi, Linux), or TTL 1 through the loopback interface",
      );
    }
    if (this.family === "IPv6" && ttl !== 1) {
      // Measured on Deno 2.9.6: setMulticastTTL on udp6 returns success and
      // changes nothing; the hop limit stays at the kernel default, 1.
      throw new McastRangeError(
        "ERR_INVALID_TTL",
        `Cannot set IPv6 hop limit ${ttl} with the node:dgram transport: Deno ignores it and every datagram leaves with hop limit 1; use the ffi transport (--transport ffi, Linux) to set it`,
      );
    }
    try {
      this.#socket.setMulticastTTL(ttl);
    } catch (error) {
      throw new SocketError(
        `Cannot set multicast TTL ${ttl}: ${errorText(error)}`,
        { cause: error },
      );
    }
  }

  setLoopback(on: boolean): void {
    try {
      this.#socket.setMulticastLoopback(on);
    } catch (error) {
      throw new SocketError(
        `Cannot turn multicast loopback ${on ? "on" : "off"}: ${
          errorText(error)
        }`,
        { cause: error },
      );
    }
  }

  setInterface(iface: string): void {
    try {
      this.#socket.setMulticastInterface(iface);
      this.#interface = iface;
    } catch (error) {
      throw new SocketError(
        `Cannot send multicast through interface ${iface}: ${errorText(error)}`,
        { cause: error },
      );
    }
  }

  send(data: Uint8Array, port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.#sending.delete(fail);
        reject(
          new SocketError(
            `Cannot send to ${formatEndpoint(address, port)}: ${
              errorText(error)
            }`,
            { cause: error },
          ),
        );
      };
      this.#sending.add(fail);
      this.#socket.send(data, port, address, (error) => {
        if (!error) {
          this.#sending.delete(fail);
          return resolve();
        }
        if (!this.#sending.has(fail)) return; // rejected by close()
        const call: FailedCall = {
          operation: "send",
          family: this.family,
          address,
          port,
          iface: this.#interface,
          bytes: data.byteLength,
        };
        sendErrno(error, call).then((errno) => {
          if (!this.#sending.delete(fail)) return;
          const message = explainSocketFailure(call, errno) ??
            `Cannot send to ${formatEndpoint(address, port)}: ${
              errorText(error)
            }`;
          reject(new SocketError(message, { cause: error, errno }));
        });
      });
    });
  }

  onDatagram(handler: DatagramHandler): void {
    this.#socket.removeAllListeners("message");
    // rinfo already has address, port and family: it serves as the Peer.
    // The Buffer becomes a plain Uint8Array view (no copy), as every
    // transport hands out.
    this.#socket.on("message", (message: Uint8Array, rinfo: Peer) => {
      const data = new Uint8Array(
        message.buffer,
        message.byteOffset,
        message.byteLength,
      );
      // Deno hands out a view of the buffer it allocated for this
      // datagram: one the datagram filled may have been cut.
      const room = message.buffer.byteLength - message.byteOffset;
      if (
        message.byteLength === 0 || message.byteLength < room ||
        room >= FULL_RECEIVE_BYTES
      ) {
        return handler(data, rinfo, false);
      }
      // Deno allocates the next buffer after this call returns: from the
      // next datagram on, nothing is cut.
      if (this.#receiveBytes < FULL_RECEIVE_BYTES) {
        try {
          this.#receiveBytes = setReceiveAllocation(
            this.#socket,
            FULL_RECEIVE_BYTES,
          );
        } catch {
          this.#receiveBytes = FULL_RECEIVE_BYTES;
        }
      }
      handler(data, rinfo, true);
    });
  }

  onError(handler: (error: Error) => void): void {
    this.#socket.removeAllListeners("error");
    this.#socket.on(
      "error",
      (error) =>
        handler(
          new SocketError(`Socket error: ${errorText(error)}`, {
            cause: error,
          }),
        ),
    );
  }

  /**
   * Datagrams the kernel dropped for this socket, from `/proc/net/udp`
   * (see `kernel_drops.ts`); `undefined` where that cannot be read.
   */
  droppedByKernel(): number | undefined {
    return this.#drops.read();
  }

  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#socket.removeAllListeners("message");
      // Deno's node:dgram never calls back a send still pending at close.
      for (const fail of [...this.#sending]) {
        fail(new Error("the socket was closed"));
      }
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
    return this.#closed;
  }
}

/**
 * Opens a `node:dgram` socket and binds it.
 *
 * @param options Family, local address and port, and whether to share the port.
 * @returns The bound transport.
 * @throws {SocketError} when the OS refuses the bind; the message names the address and port.
 *
 * @example Open, use and close a socket on loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { openDgramTransport } from "./node_dgram.ts";
 * const transport = await openDgramTransport({
 *   family: "IPv4",
 *   address: "127.0.0.1",
 *   port: 0,
 *   reuseAddress: false,
 * });
 * assert.ok(transport.localAddress().port > 0);
 * await transport.close();
 * ```
 */
export const openDgramTransport: TransportFactory = (
  options: TransportOpenOptions,
): Promise<Transport> => {
  const { family, address, port } = options;
  const socket = dgram.createSocket({
    type: family === "IPv6" ? "udp6" : "udp4",
    reuseAddr: options.reuseAddress,
  });
  const before = KernelDrops.beforeBind(
    family,
    options.reuseAddress && port !== 0,
  );
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      try {
        socket.close();
      } catch { /* never bound */ }
      const call = { operation: "bind", family, address, port } as const;
      reject(
        new SocketError(
          explainSocketFailure(call, errnoOf(error)) ??
            `Cannot bind ${address} port ${port}: ${errorText(error)}`,
          { cause: error },
        ),
      );
    };
    socket.once("error", fail);
    try {
      socket.bind(port, address, () => {
        socket.off("error", fail);
        const { address: bound, port: boundPort } = socket.address();
        resolve(
          new DgramTransport(
            socket,
            family,
            options.receiveBytes ?? FULL_RECEIVE_BYTES,
            new KernelDrops(
              family,
              { address: bound, port: boundPort },
              before,
            ),
          ),
        );
      });
    } catch (error) {
      fail(error as Error);
    }
  });
};
