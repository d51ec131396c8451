/**
 * The FFI transport's socket itself: {@link openSocket} opens, configures
 * and binds it (`socket`, `setsockopt`, `bind`, `getsockname`); the other
 * functions set and read its multicast TTL and loopback options.
 *
 * Options every socket gets: `IP_MULTICAST_ALL` cleared (a socket bound
 * to `0.0.0.0` receives only the groups it joined itself), a large
 * receive buffer, `SO_RXQ_OVFL` (kernel drop counts) and a receive
 * timeout that bounds how long closing can wait for a blocked receive;
 * on request each datagram's destination (`IP_PKTINFO`) and receive time
 * (`SO_TIMESTAMPNS`).
 *
 * @module
 */

import { formatEndpoint } from "../../address.ts";
import { errorText, SocketError } from "../../errors.ts";
import { checkPort, formatHost, parseHost } from "./address.ts";
import { Libc, LINUX } from "./libc.ts";
import { attempt, osCall } from "./os_call.ts";
import type { Family, TransportOpenOptions } from "../transport.ts";

/**
 * Socket options of an FFI transport as the kernel reports them
 * (`getsockopt`), for diagnostics and tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FfiSocketOptions } from "./socket.ts";
 * const seen: FfiSocketOptions = {
 *   ttl: 1, loopback: true, multicastAll: false, receiveBufferBytes: 32 << 20,
 * };
 * assert.equal(seen.multicastAll, false);
 * ```
 */
export interface FfiSocketOptions {
  /** `IP_MULTICAST_TTL`, or `IPV6_MULTICAST_HOPS` on an IPv6 socket. */
  ttl: number;
  /** `IP_MULTICAST_LOOP`, or `IPV6_MULTICAST_LOOP` on an IPv6 socket. */
  loopback: boolean;
  /** `IP_MULTICAST_ALL` (`IPV6_MULTICAST_ALL`); false on these sockets. */
  multicastAll: boolean;
  /** `SO_RCVBUF` as the kernel reports it (twice what was granted). */
  receiveBufferBytes: number;
}

/**
 * `SO_RCVTIMEO` of the socket: the longest a waiting receive can outlast
 * `close()` (the receiver shortens it while it waits on the owner's thread).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RECEIVE_TIMEOUT_MS } from "./socket.ts";
 * assert.equal(RECEIVE_TIMEOUT_MS, 250);
 * ```
 */
export const RECEIVE_TIMEOUT_MS = 250;

/**
 * A bound socket from {@link openSocket}: its descriptor, the C library
 * handle that owns it (release it after closing `fd`) and its address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { OpenedSocket } from "./socket.ts";
 * const local: OpenedSocket["local"] = { address: "0.0.0.0", port: 5000 };
 * assert.equal(local.port, 5000);
 * ```
 */
export interface OpenedSocket {
  /** The C library handle, acquired for this socket. */
  libc: Libc;
  /** The socket's descriptor. */
  fd: number;
  /** The bound local address and port. */
  local: { address: string; port: number };
}

/**
 * Opens a UDP socket, sets its options, binds it to `options.address`
 * and `options.port` and reads back where it is bound. On failure nothing
 * stays open and it throws `SocketError` (whose `cause` is the
 * `ErrnoError` when the OS refused) or `McastRangeError` (bad port).
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { openSocket } from "./socket.ts";
 * const { libc, fd, local } = openSocket(
 *   { family: "IPv4", address: "127.0.0.1", port: 0, reuseAddress: false },
 *   8 << 20,
 * );
 * assert.notEqual(local.port, 0);
 * libc.close(fd);
 * libc.release();
 * ```
 */
export function openSocket(
  options: TransportOpenOptions,
  receiveBufferBytes: number,
): OpenedSocket {
  const { family, address, port } = options;
  if (family !== "IPv4" && family !== "IPv6") {
    throw new SocketError(`Cannot open a socket of family "${family}"`);
  }
  checkPort(port);
  const where = formatEndpoint(address, port);
  const libc = acquireLibc(family, where);
  let fd = -1;
  try {
    const bindTo = parseHost(libc, family, address, port);
    if (bindTo === null) {
      throw new SocketError(
        `Cannot bind ${where}: "${address}" is not an ${family} address`,
      );
    }
    fd = osCall(
      `Cannot open ${family} socket for ${where}`,
      () => libc.socket(family),
    );
    configure(libc, fd, where, options, receiveBufferBytes);
    osCall(`Cannot bind ${where}`, () => libc.bind(fd, bindTo), {
      operation: "bind",
      family,
      address,
      port,
    });
    const bound = osCall(
      `Cannot read the address of ${where}`,
      () => libc.socketName(fd),
    );
    const local = { address: formatHost(libc, bound), port: bound.port };
    return { libc, fd, local };
  } catch (error) {
    if (fd >= 0) libc.close(fd);
    libc.release();
    throw error;
  }
}

/** `Libc.acquire()`, failing with a `SocketError` that names the socket. */
function acquireLibc(family: Family, where: string): Libc {
  try {
    return Libc.acquire();
  } catch (error) {
    throw new SocketError(
      `Cannot open ${family} socket for ${where}: libc is not loadable (${
        errorText(error)
      })`,
      { cause: error },
    );
  }
}

/** Sets the options of a new socket, before `bind`. */
function configure(
  libc: Libc,
  fd: number,
  where: string,
  options: TransportOpenOptions,
  receiveBufferBytes: number,
): void {
  if (options.reuseAddress) {
    osCall(`Cannot set SO_REUSEADDR on ${where}`, () => {
      libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_REUSEADDR, 1);
      libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_REUSEPORT, 1);
    });
  }
  setReceiveBuffer(libc, fd, receiveBufferBytes);
  // Kernel drops reported with the next datagram (droppedByKernel).
  attempt(() => libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_RXQ_OVFL, 1));
  // Each datagram's receive time, on request (a sender's round trips).
  if (options.timestamps === true) {
    osCall(
      `Cannot ask for receive time stamps on ${where}`,
      () => libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_TIMESTAMPNS, 1),
    );
  }
  // Each datagram's destination (the group it was sent to), on request.
  if (options.destinations === true) {
    osCall(
      `Cannot ask for datagrams' destinations on ${where}`,
      () =>
        options.family === "IPv4"
          ? libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_PKTINFO, 1)
          : libc.setInt(fd, LINUX.IPPROTO_IPV6, LINUX.IPV6_RECVPKTINFO, 1),
    );
  }
  if (options.family === "IPv4") {
    osCall(
      `Cannot clear IP_MULTICAST_ALL on ${where}`,
      () => libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_ALL, 0),
    );
  } else {
    osCall(
      `Cannot clear IPV6_MULTICAST_ALL on ${where}`,
      () => libc.setInt(fd, LINUX.IPPROTO_IPV6, LINUX.IPV6_MULTICAST_ALL, 0),
    );
    // IPv4-mapped groups on a dual-stack socket; refused on old kernels.
    attempt(() => libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_ALL, 0));
  }
  osCall(
    `Cannot set SO_RCVTIMEO on ${where}`,
    () =>
      libc.setTimeval(
        fd,
        LINUX.SOL_SOCKET,
        LINUX.SO_RCVTIMEO,
        RECEIVE_TIMEOUT_MS,
      ),
  );
}

/** Asks for a receive buffer of `bytes`, past `net.core.rmem_max` when privileged. */
function setReceiveBuffer(libc: Libc, fd: number, bytes: number): void {
  // SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN.
  if (
    attempt(() =>
      libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_RCVBUFFORCE, bytes)
    )
  ) {
    return;
  }
  attempt(() => libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_RCVBUF, bytes));
}

/**
 * Sets the TTL (`IP_MULTICAST_TTL`) or hop limit (`IPV6_MULTICAST_HOPS`,
 * and the IPv4 TTL too where the kernel takes it) of outgoing multicast.
 *
 * @example
 * ```ts ignore
 * import { Libc } from "./libc.ts";
 * import { setMulticastTtl } from "./socket.ts";
 * const libc = Libc.acquire();
 * const fd = libc.socket("IPv6");
 * setMulticastTtl(libc, fd, "IPv6", 4);
 * libc.close(fd);
 * libc.release();
 * ```
 */
export function setMulticastTtl(
  libc: Libc,
  fd: number,
  family: Family,
  ttl: number,
): void {
  if (family === "IPv4") {
    osCall(
      `Cannot set multicast TTL to ${ttl}`,
      () => libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_TTL, ttl),
    );
    return;
  }
  osCall(
    `Cannot set multicast hop limit to ${ttl}`,
    () => libc.setInt(fd, LINUX.IPPROTO_IPV6, LINUX.IPV6_MULTICAST_HOPS, ttl),
  );
  attempt(() => libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_TTL, ttl));
}

/**
 * Turns multicast loopback (`IP_MULTICAST_LOOP`, `IPV6_MULTICAST_LOOP` and
 * the IPv4 one where the kernel takes it) on or off.
 *
 * @example
 * ```ts ignore
 * import { Libc } from "./libc.ts";
 * import { setMulticastLoopback } from "./socket.ts";
 * const libc = Libc.acquire();
 * const fd = libc.socket("IPv4");
 * setMulticastLoopback(libc, fd, "IPv4", false);
 * libc.close(fd);
 * libc.release();
 * ```
 */
export function setMulticastLoopback(
  libc: Libc,
  fd: number,
  family: Family,
  on: boolean,
): void {
  const value = on ? 1 : 0;
  if (family === "IPv4") {
    osCall(
      `Cannot turn multicast loopback ${on ? "on" : "off"}`,
      () => libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_LOOP, value),
    );
    return;
  }
  osCall(
    `Cannot turn IPv6 multicast loopback ${on ? "on" : "off"}`,
    () => libc.setInt(fd, LINUX.IPPROTO_IPV6, LINUX.IPV6_MULTICAST_LOOP, value),
  );
  attempt(() =>
    libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_LOOP, value)
  );
}

/**
 * Reads the socket's multicast options and receive buffer back from the
 * kernel (`getsockopt`).
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { Libc } from "./libc.ts";
 * import { readSocketOptions } from "./socket.ts";
 * const libc = Libc.acquire();
 * const fd = libc.socket("IPv4");
 * assert.equal(readSocketOptions(libc, fd, "IPv4").ttl, 1);
 * libc.close(fd);
 * libc.release();
 * ```
 */
export function readSocketOptions(
  libc: Libc,
  fd: number,
  family: Family,
): FfiSocketOptions {
  return osCall("Cannot read socket options", () => {
    const v4 = family === "IPv4";
    const level = v4 ? LINUX.IPPROTO_IP : LINUX.IPPROTO_IPV6;
    return {
      ttl: libc.getInt(
        fd,
        level,
        v4 ? LINUX.IP_MULTICAST_TTL : LINUX.IPV6_MULTICAST_HOPS,
      ),
      loopback: libc.getInt(
        fd,
        level,
        v4 ? LINUX.IP_MULTICAST_LOOP : LINUX.IPV6_MULTICAST_LOOP,
      ) !== 0,
      multicastAll: libc.getInt(
        fd,
        level,
        v4 ? LINUX.IP_MULTICAST_ALL : LINUX.IPV6_MULTICAST_ALL,
      ) !== 0,
      receiveBufferBytes: libc.getInt(fd, LINUX.SOL_SOCKET, LINUX.SO_RCVBUF),
    };
  });
}
