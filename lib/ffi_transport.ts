/**
 * A fast Linux implementation of {@link Transport} that calls libc through
 * `Deno.dlopen` (needs `--allow-ffi`). Datagrams arrive in batches of up
 * to 64 per `recvmmsg` call (`ffi_receiver.ts`: one call waits on a Deno
 * pool thread, the rest are taken without waiting on the main thread);
 * sends, joins and options are synchronous libc calls on the main thread.
 *
 * Beyond `node:dgram` in Deno it can: keep a socket bound to `0.0.0.0`
 * from receiving groups that other sockets joined (`IP_MULTICAST_ALL=0`,
 * always set), set the IPv6 hop limit, loopback and interface, join IPv6
 * groups on an interface by index, and join source-specific groups (SSM).
 *
 * Use {@link ffiTransportAvailable} to choose it, and fall back to the
 * `node:dgram` transport when it returns false.
 *
 * @module
 */

import { formatEndpoint } from "./address.ts";
import { McastRangeError, SocketError } from "./errors.ts";
import { ErrnoError, Libc, LINUX, type RawSocketAddress } from "./ffi_libc.ts";
import { FfiReceiver } from "./ffi_receiver.ts";
import type {
  DatagramHandler,
  Family,
  Transport,
  TransportFactory,
  TransportOpenOptions,
} from "./transport.ts";

/**
 * Tuning of the FFI transport; every field has a default that suits
 * loopback and LAN rates.
 *
 * @example Smaller batches, a bigger socket buffer
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FfiTransportOptions } from "./ffi_transport.ts";
 * const options: FfiTransportOptions = { batchSize: 16, receiveBufferBytes: 16 << 20 };
 * assert.equal(options.batchSize, 16);
 * ```
 */
export interface FfiTransportOptions {
  /** Datagrams per `recvmmsg` call (1-1024; 64). */
  batchSize?: number;
  /**
   * Batches taken one after another before the event loop gets a turn
   * (timers, replies, other sockets) under a flood (1-1024; 16).
   */
  batchesPerTurn?: number;
  /**
   * Socket receive buffer to ask for (`SO_RCVBUFFORCE` when privileged,
   * else `SO_RCVBUF`, which `net.core.rmem_max` caps); 8 MiB.
   */
  receiveBufferBytes?: number;
}

/**
 * Socket options of an FFI transport as the kernel reports them
 * (`getsockopt`), for diagnostics and tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FfiSocketOptions } from "./ffi_transport.ts";
 * const seen: FfiSocketOptions = {
 *   ttl: 1, loopback: true, multicastAll: false, receiveBufferBytes: 8 << 20,
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

const DEFAULTS = {
  batchSize: 64,
  batchesPerTurn: 16,
  receiveBufferBytes: 8 << 20,
};
/** `SO_RCVTIMEO` of the socket: the longest a waiting receive can outlast `close()`. */
const RECEIVE_TIMEOUT_MS = 250;
/** How long a send may wait for room in a full send buffer. */
const SEND_RETRY_MS = 2000;

let availability: boolean | undefined;

/**
 * Whether {@link openFfiTransport} can work here: Linux on x86_64 or
 * aarch64, the `ffi` permission granted, and glibc's `libc.so.6` loadable
 * (not musl). Never prompts; the answer is computed once.
 *
 * @example Pick a transport
 * ```ts ignore
 * import { ffiTransportAvailable, openFfiTransport } from "./ffi_transport.ts";
 * import { openDgramTransport } from "./dgram_transport.ts";
 * const open = ffiTransportAvailable() ? openFfiTransport : openDgramTransport;
 * ```
 */
export function ffiTransportAvailable(): boolean {
  if (availability !== undefined) return availability;
  availability = false;
  if (Deno.build.os !== "linux") return false;
  if (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64") {
    return false;
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return false;
  }
  try {
    Libc.acquire().release();
  } catch {
    return false;
  }
  availability = true;
  return true;
}

/**
 * Makes a {@link TransportFactory}-compatible opener with tuned batching
 * and socket buffer. {@link openFfiTransport} is this with the defaults.
 *
 * @example Open with batches of 16
 * ```ts ignore
 * import { createFfiTransportFactory } from "./ffi_transport.ts";
 * const open = createFfiTransportFactory({ batchSize: 16 });
 * const socket = await open({ family: "IPv4", address: "0.0.0.0", port: 0, reuseAddress: false });
 * await socket.close();
 * ```
 */
export function createFfiTransportFactory(
  options: FfiTransportOptions = {},
): (options: TransportOpenOptions) => Promise<FfiTransport> {
  const tuning = {
    batchSize: bounded(
      "batchSize",
      options.batchSize ?? DEFAULTS.batchSize,
      1024,
    ),
    batchesPerTurn: bounded(
      "batchesPerTurn",
      options.batchesPerTurn ?? DEFAULTS.batchesPerTurn,
      1024,
    ),
    receiveBufferBytes: bounded(
      "receiveBufferBytes",
      options.receiveBufferBytes ?? DEFAULTS.receiveBufferBytes,
      1 << 30,
    ),
  };
  return (open) =>
    Promise.resolve().then(() => FfiTransport.open(open, tuning));
}

function bounded(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `FFI transport option ${name} must be an integer from 1 to ${max}, not ${value}`,
    );
  }
  return value;
}

/**
 * Opens and binds a UDP socket through libc: the FFI
 * {@link TransportFactory}. Rejects with `SocketError` (whose `cause` is
 * an `ErrnoError` with the errno name as `code`) when the OS refuses.
 *
 * @example Receive on a group over loopback
 * ```ts ignore
 * import { openFfiTransport } from "./ffi_transport.ts";
 * const socket = await openFfiTransport({
 *   family: "IPv4", address: "0.0.0.0", port: 31000, reuseAddress: true,
 * });
 * socket.join("239.31.0.1", "127.0.0.1");
 * socket.setInterface("127.0.0.1");
 * socket.onDatagram((data, from) => console.log(data.byteLength, from.address));
 * await socket.send(new TextEncoder().encode("hi"), 31000, "239.31.0.1");
 * await socket.close();
 * ```
 */
export const openFfiTransport: (
  options: TransportOpenOptions,
) => Promise<FfiTransport> =
  createFfiTransportFactory() satisfies TransportFactory;

/** Tuning after defaults and checks. */
type Tuning = Required<FfiTransportOptions>;

/** The interface part of a multicast request. */
interface InterfaceChoice {
  /** IPv4 interface address (0.0.0.0 when chosen by index or by the OS). */
  ip: Uint8Array;
  /** Interface index; 0 lets the kernel choose (IPv4: by `ip`). */
  index: number;
}

interface PendingSend {
  data: Uint8Array;
  to: RawSocketAddress;
  description: string;
  since: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const ANY4 = new Uint8Array(4);

/**
 * A UDP socket driven through libc; see the module documentation. It
 * implements {@link Transport} and adds {@link FfiTransport.socketOptions}.
 *
 * Received `data` are views into the receiver's memory, reused by the
 * next batch (`reusesBuffers` is true): a handler copies what it keeps.
 * `from` objects are frozen and shared between datagrams from the same
 * source.
 *
 * @example Send one datagram
 * ```ts ignore
 * import { openFfiTransport } from "./ffi_transport.ts";
 * const socket = await openFfiTransport({
 *   family: "IPv4", address: "127.0.0.1", port: 0, reuseAddress: false,
 * });
 * socket.setInterface("127.0.0.1");
 * await socket.send(new Uint8Array([1, 2, 3]), 31001, "239.31.0.2");
 * await socket.close();
 * ```
 */
export class FfiTransport implements Transport {
  /** Address family of the socket. */
  readonly family: Family;
  /** Always `ffi`. */
  readonly name = "ffi";
  /** True: received data are only valid during the handler's call. */
  readonly reusesBuffers = true;

  readonly #libc: Libc;
  readonly #fd: number;
  readonly #tuning: Tuning;
  readonly #local: { address: string; port: number };
  #interface: string | undefined;
  #handler: DatagramHandler | undefined;
  #errorHandler: ((error: Error) => void) | undefined;
  #receiver: FfiReceiver | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #pending: PendingSend[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryDelay = 1;
  #lastDestination:
    | { address: string; port: number; raw: RawSocketAddress }
    | undefined;

  /**
   * Opens, configures and binds a socket: `FfiTransport.open(options)` is
   * {@link openFfiTransport} with explicit tuning.
   */
  static open(
    options: TransportOpenOptions,
    tuning: Required<FfiTransportOptions>,
  ): FfiTransport {
    const { family, address, port } = options;
    if (family !== "IPv4" && family !== "IPv6") {
      throw new SocketError(`Cannot open a socket of family "${family}"`);
    }
    checkPort(port);
    const where = formatEndpoint(address, port);
    let libc: Libc;
    try {
      libc = Libc.acquire();
    } catch (error) {
      throw new SocketError(
        `Cannot open ${family} socket for ${where}: libc is not loadable (${
          error instanceof Error ? error.message : error
        })`,
        { cause: error },
      );
    }
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
      if (options.reuseAddress) {
        osCall(`Cannot set SO_REUSEADDR on ${where}`, () => {
          libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_REUSEADDR, 1);
          libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_REUSEPORT, 1);
        });
      }
      setReceiveBuffer(libc, fd, tuning.receiveBufferBytes);
      // Kernel drops reported with the next datagram (droppedByKernel).
      attempt(() => libc.setInt(fd, LINUX.SOL_SOCKET, LINUX.SO_RXQ_OVFL, 1));
      if (family === "IPv4") {
        osCall(
          `Cannot clear IP_MULTICAST_ALL on ${where}`,
          () => libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_ALL, 0),
        );
      } else {
        osCall(
          `Cannot clear IPV6_MULTICAST_ALL on ${where}`,
          () =>
            libc.setInt(fd, LINUX.IPPROTO_IPV6, LINUX.IPV6_MULTICAST_ALL, 0),
        );
        // IPv4-mapped groups on a dual-stack socket; refused on old kernels.
        attempt(() =>
          libc.setInt(fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_ALL, 0)
        );
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
      osCall(`Cannot bind ${where}`, () => libc.bind(fd, bindTo));
      const bound = osCall(
        `Cannot read the address of ${where}`,
        () => libc.socketName(fd),
      );
      const local = { address: formatHost(libc, bound), port: bound.port };
      return new FfiTransport(libc, fd, family, local, tuning);
    } catch (error) {
      if (fd >= 0) libc.close(fd);
      libc.release();
      throw error;
    }
  }

  private constructor(
    libc: Libc,
    fd: number,
    family: Family,
    local: { address: string; port: number },
    tuning: Tuning,
  ) {
    this.#libc = libc;
    this.#fd = fd;
    this.family = family;
    this.#local = local;
    this.#tuning = tuning;
  }

  /** The bound local address and port. */
  localAddress(): { address: string; port: number } {
    return { ...this.#local };
  }

  #open(action: string): void {
    if (this.#closed) {
      throw new SocketError(`Cannot ${action}: the socket is closed`);
    }
  }

  #group(action: string, group: string): Uint8Array {
    const ip = this.#libc.parseAddress(this.family, group);
    if (ip === null) {
      throw new SocketError(
        `Cannot ${action} group "${group}": not an ${this.family} address`,
      );
    }
    return ip;
  }

  #source(action: string, source: string): Uint8Array {
    const ip = this.#libc.parseAddress(this.family, source);
    if (ip === null) {
      throw new SocketError(
        `Cannot ${action}: source "${source}" is not an ${this.family} address`,
      );
    }
    return ip;
  }

  /**
   * Resolves `iface`: an IPv4 address or interface name on IPv4; an
   * interface name or index, `%zone`, `address%zone` or the address of an
   * interface (needs `--allow-sys=networkInterfaces`) on IPv6.
   */
  #interfaceChoice(action: string, iface: string | undefined): InterfaceChoice {
    if (iface === undefined || iface === "") return { ip: ANY4, index: 0 };
    const libc = this.#libc;
    if (this.family === "IPv4") {
      const ip = libc.parseAddress("IPv4", iface);
      if (ip !== null) return { ip, index: 0 };
      return { ip: ANY4, index: this.#interfaceIndex(action, iface) };
    }
    const percent = iface.indexOf("%");
    if (percent >= 0) {
      return {
        ip: ANY4,
        index: this.#interfaceIndex(action, iface.slice(percent + 1)),
      };
    }
    const ip = libc.parseAddress("IPv6", iface);
    if (ip === null) {
      return { ip: ANY4, index: this.#interfaceIndex(action, iface) };
    }
    if (ip.every((byte) => byte === 0)) return { ip: ANY4, index: 0 };
    return { ip: ANY4, index: this.#interfaceOfAddress(action, iface, ip) };
  }

  #interfaceIndex(action: string, name: string): number {
    if (/^\d+$/.test(name)) return Number(name);
    const index = this.#libc.interfaceIndex(name);
    if (index === 0) {
      throw new SocketError(
        `Cannot ${action}: there is no interface named "${name}" (ENODEV)`,
      );
    }
    return index;
  }

  #interfaceOfAddress(action: string, text: string, ip: Uint8Array): number {
    let interfaces: Deno.NetworkInterfaceInfo[];
    try {
      interfaces = Deno.networkInterfaces();
    } catch (error) {
      throw new SocketError(
        `Cannot ${action}: finding the interface of ${text} needs --allow-sys=networkInterfaces; name the interface instead (for example "%eth0")`,
        { cause: error },
      );
    }
    const canonical = this.#libc.formatAddress(ip);
    for (const info of interfaces) {
      if (info.family !== "IPv6") continue;
      const address = this.#libc.parseAddress(
        "IPv6",
        info.address.split("%")[0],
      );
      if (address !== null && this.#libc.formatAddress(address) === canonical) {
        return this.#interfaceIndex(action, info.name);
      }
    }
    throw new SocketError(
      `Cannot ${action}: no interface has the address ${text} (EADDRNOTAVAIL)`,
    );
  }

  #membership(
    join: boolean,
    group: string,
    iface: string | undefined,
  ): void {
    const action = join ? "join" : "leave";
    this.#open(`${action} group ${group}`);
    const ip = this.#group(action, group);
    const where = `${action} group ${group} on ${interfaceText(iface)}`;
    const choice = this.#interfaceChoice(where, iface);
    const libc = this.#libc;
    osCall(`Cannot ${where}`, () => {
      if (this.family === "IPv4") {
        const name = join ? LINUX.IP_ADD_MEMBERSHIP : LINUX.IP_DROP_MEMBERSHIP;
        libc.setIpMreqn(this.#fd, name, ip, choice.ip, choice.index);
      } else {
        const name = join ? LINUX.IPV6_JOIN_GROUP : LINUX.IPV6_LEAVE_GROUP;
        libc.setIpv6Mreq(this.#fd, name, ip, choice.index);
      }
    });
  }

  #sourceMembership(
    join: boolean,
    source: string,
    group: string,
    iface: string | undefined,
  ): void {
    const action = join ? "join" : "leave";
    this.#open(`${action} group ${group} from source ${source}`);
    const groupIp = this.#group(action, group);
    const where = `${action} group ${group} from source ${source} on ${
      interfaceText(iface)
    }`;
    const sourceIp = this.#source(where, source);
    const choice = this.#interfaceChoice(where, iface);
    const libc = this.#libc;
    osCall(`Cannot ${where}`, () => {
      if (this.family === "IPv4" && choice.index === 0) {
        const name = join
          ? LINUX.IP_ADD_SOURCE_MEMBERSHIP
          : LINUX.IP_DROP_SOURCE_MEMBERSHIP;
        libc.setIpMreqSource(this.#fd, name, groupIp, choice.ip, sourceIp);
      } else {
        const level = this.family === "IPv4"
          ? LINUX.IPPROTO_IP
          : LINUX.IPPROTO_IPV6;
        const name = join
          ? LINUX.MCAST_JOIN_SOURCE_GROUP
          : LINUX.MCAST_LEAVE_SOURCE_GROUP;
        libc.setGroupSourceReq(
          this.#fd,
          level,
          name,
          this.family,
          choice.index,
          groupIp,
          sourceIp,
        );
      }
    });
  }

  /** Join `group`, on the interface with address (or name) `iface`. */
  join(group: string, iface?: string): void {
    this.#membership(true, group, iface);
  }

  /** Join `group` for datagrams from `source` only (SSM). */
  joinSource(source: string, group: string, iface?: string): void {
    this.#sourceMembership(true, source, group, iface);
  }

  /** Leave a group joined with `join`. */
  leave(group: string, iface?: string): void {
    this.#membership(false, group, iface);
  }

  /** Leave a group joined with `joinSource`. */
  leaveSource(source: string, group: string, iface?: string): void {
    this.#sourceMembership(false, source, group, iface);
  }

  /** Set the TTL (IPv4) or hop limit (IPv6) of outgoing multicast. */
  setTtl(ttl: number): void {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      throw new McastRangeError(
        "ERR_INVALID_TTL",
        `TTL ${ttl} is out of range 0-255`,
      );
    }
    this.#open(`set multicast TTL to ${ttl}`);
    const libc = this.#libc;
    if (this.family === "IPv4") {
      osCall(
        `Cannot set multicast TTL to ${ttl}`,
        () =>
          libc.setInt(this.#fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_TTL, ttl),
      );
      return;
    }
    osCall(
      `Cannot set multicast hop limit to ${ttl}`,
      () =>
        libc.setInt(
          this.#fd,
          LINUX.IPPROTO_IPV6,
          LINUX.IPV6_MULTICAST_HOPS,
          ttl,
        ),
    );
    attempt(() =>
      libc.setInt(this.#fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_TTL, ttl)
    );
  }

  /** Whether this host's sockets receive what this socket multicasts. */
  setLoopback(on: boolean): void {
    this.#open(`turn multicast loopback ${on ? "on" : "off"}`);
    const libc = this.#libc;
    const value = on ? 1 : 0;
    if (this.family === "IPv4") {
      osCall(
        `Cannot turn multicast loopback ${on ? "on" : "off"}`,
        () =>
          libc.setInt(
            this.#fd,
            LINUX.IPPROTO_IP,
            LINUX.IP_MULTICAST_LOOP,
            value,
          ),
      );
      return;
    }
    osCall(
      `Cannot turn IPv6 multicast loopback ${on ? "on" : "off"}`,
      () =>
        libc.setInt(
          this.#fd,
          LINUX.IPPROTO_IPV6,
          LINUX.IPV6_MULTICAST_LOOP,
          value,
        ),
    );
    attempt(() =>
      libc.setInt(this.#fd, LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_LOOP, value)
    );
  }

  /** Send outgoing multicast through the interface with this address (or name). */
  setInterface(iface: string): void {
    const where = `set the multicast interface to ${iface}`;
    this.#open(where);
    const choice = this.#interfaceChoice(where, iface);
    const libc = this.#libc;
    osCall(`Cannot ${where}`, () => {
      if (this.family === "IPv4") {
        libc.setIpMreqn(
          this.#fd,
          LINUX.IP_MULTICAST_IF,
          ANY4,
          choice.ip,
          choice.index,
        );
      } else {
        libc.setInt(
          this.#fd,
          LINUX.IPPROTO_IPV6,
          LINUX.IPV6_MULTICAST_IF,
          choice.index,
        );
      }
    });
    this.#interface = iface;
  }

  /**
   * Reads the multicast options back from the kernel (`getsockopt`).
   *
   * @example
   * ```ts ignore
   * import assert from "node:assert/strict";
   * socket.setTtl(7);
   * assert.equal(socket.socketOptions().ttl, 7);
   * ```
   */
  socketOptions(): FfiSocketOptions {
    this.#open("read socket options");
    const libc = this.#libc;
    const fd = this.#fd;
    return osCall("Cannot read socket options", () => {
      const v4 = this.family === "IPv4";
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

  #destination(address: string, port: number): RawSocketAddress {
    const last = this.#lastDestination;
    if (last !== undefined && last.address === address && last.port === port) {
      return last.raw;
    }
    let raw = parseHost(this.#libc, this.family, address, port);
    if (raw === null && this.family === "IPv6") {
      const v4 = this.#libc.parseAddress("IPv4", address);
      if (v4 !== null) {
        const ip = new Uint8Array(16);
        ip[10] = ip[11] = 0xff;
        ip.set(v4, 12);
        raw = { family: "IPv6", ip, port, scopeId: 0 };
      }
    }
    if (raw === null) {
      throw new SocketError(
        `Cannot send to ${
          formatEndpoint(address, port)
        }: "${address}" is not an ${this.family} address`,
      );
    }
    this.#lastDestination = { address, port, raw };
    return raw;
  }

  /**
   * Send one datagram. Resolves once the kernel has taken it; waits (up to
   * 2 s, in order) while the socket's send buffer is full.
   */
  send(data: Uint8Array, port: number, address: string): Promise<void> {
    checkPort(port);
    // Described only when needed: a successful send builds no string.
    if (this.#closed) {
      return Promise.reject(
        new SocketError(
          `Cannot send ${
            this.#describeSend(data.byteLength, address, port)
          }: the socket is closed`,
        ),
      );
    }
    const to = this.#destination(address, port);
    if (this.#pending.length === 0) {
      try {
        this.#libc.sendTo(this.#fd, data, to);
        return Promise.resolve();
      } catch (error) {
        if (!isRetryable(error)) {
          return Promise.reject(
            sendError(
              this.#describeSend(data.byteLength, address, port),
              error,
            ),
          );
        }
      }
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({
        data: data.slice(),
        to,
        description: this.#describeSend(data.byteLength, address, port),
        since: Date.now(),
        resolve,
        reject,
      });
      this.#scheduleRetry();
    });
  }

  #describeSend(bytes: number, address: string, port: number): string {
    return `${bytes} bytes to ${formatEndpoint(address, port)}${
      this.#interface === undefined ? "" : ` via interface ${this.#interface}`
    }`;
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#flush();
    }, this.#retryDelay);
    this.#retryDelay = Math.min(this.#retryDelay * 2, 50);
  }

  #flush(): void {
    while (this.#pending.length > 0) {
      const head = this.#pending[0];
      try {
        this.#libc.sendTo(this.#fd, head.data, head.to);
      } catch (error) {
        if (!isRetryable(error)) {
          this.#pending.shift();
          head.reject(sendError(head.description, error));
          continue;
        }
        if (Date.now() - head.since < SEND_RETRY_MS) {
          this.#scheduleRetry();
          return;
        }
        this.#pending.shift();
        head.reject(
          sendError(`${head.description} (send buffer full for 2 s)`, error),
        );
        continue;
      }
      this.#pending.shift();
      head.resolve();
    }
    this.#retryDelay = 1;
  }

  /**
   * Install the receive handler (one per socket; a second call replaces
   * it). The first call starts receiving; datagrams that the kernel
   * queued before it are delivered.
   */
  onDatagram(handler: DatagramHandler): void {
    this.#handler = handler;
    if (this.#receiver === undefined && !this.#closed) this.#startReceiver();
  }

  /**
   * Datagrams the kernel dropped for this socket because its receive
   * buffer was full, as reported with the latest datagram queued after a
   * drop (`SO_RXQ_OVFL`); 0 before any.
   */
  droppedByKernel(): number {
    return this.#receiver?.dropped() ?? 0;
  }

  /** Install the handler for asynchronous receive errors. */
  onError(handler: (error: Error) => void): void {
    this.#errorHandler = handler;
  }

  #startReceiver(): void {
    this.#receiver = new FfiReceiver({
      libc: this.#libc,
      fd: this.#fd,
      family: this.family,
      batchSize: this.#tuning.batchSize,
      batchesPerTurn: this.#tuning.batchesPerTurn,
      formatIPv6: (ip, scopeId) =>
        formatHost(this.#libc, { family: "IPv6", ip, port: 0, scopeId }),
      onDatagram: (data, from) => this.#handler!(data, from),
      onError: (error) => this.#report(error),
      describe: () => this.#describeLocal(),
    });
  }

  #describeLocal(): string {
    const { address, port } = this.#local;
    return formatEndpoint(address, port);
  }

  #report(error: Error): void {
    if (this.#closed) return;
    if (this.#errorHandler === undefined) throw error;
    this.#errorHandler(error);
  }

  /**
   * Close the socket; idempotent. Stops receiving (`shutdown(SHUT_RD)`
   * wakes a waiting `recvmmsg` at once), rejects sends still waiting for
   * room, then closes the descriptor.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const pending of this.#pending.splice(0)) {
      pending.reject(
        new SocketError(
          `Cannot send ${pending.description}: the socket was closed`,
        ),
      );
    }
    try {
      // Resolves once no receive can touch the descriptor any more.
      await this.#receiver?.stop();
    } finally {
      this.#libc.close(this.#fd);
      this.#libc.release();
    }
  }
}

function interfaceText(iface: string | undefined): string {
  return iface ? `interface ${iface}` : "the default interface";
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new McastRangeError(
      "ERR_INVALID_PORT",
      `Port ${port} is out of range 0-65535`,
    );
  }
}

/**
 * Parses `address` (IPv6 with an optional `%zone`) into libc form; null
 * when it is not an address of `family`.
 */
function parseHost(
  libc: Libc,
  family: Family,
  address: string,
  port: number,
): RawSocketAddress | null {
  let host = address;
  let scopeId = 0;
  if (family === "IPv6") {
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    const percent = host.indexOf("%");
    if (percent >= 0) {
      const zone = host.slice(percent + 1);
      host = host.slice(0, percent);
      scopeId = /^\d+$/.test(zone) ? Number(zone) : libc.interfaceIndex(zone);
      if (scopeId === 0) return null;
    }
  }
  const ip = libc.parseAddress(family, host);
  return ip === null ? null : { family, ip, port, scopeId };
}

function formatHost(libc: Libc, address: RawSocketAddress): string {
  const text = libc.formatAddress(address.ip);
  if (address.scopeId === 0) return text;
  return `${text}%${libc.interfaceName(address.scopeId) ?? address.scopeId}`;
}

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

/** Runs a best-effort libc call; false when it failed. */
function attempt(call: () => void): boolean {
  try {
    call();
    return true;
  } catch (error) {
    if (error instanceof ErrnoError) return false;
    throw error;
  }
}

/** Runs libc calls, turning an `ErrnoError` into a `SocketError`. */
function osCall<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof ErrnoError) {
      throw new SocketError(`${what}: ${error.detail}`, { cause: error });
    }
    throw error;
  }
}

function isRetryable(error: unknown): boolean {
  return error instanceof ErrnoError && error.errno === LINUX.EAGAIN;
}

function sendError(description: string, error: unknown): Error {
  if (error instanceof ErrnoError) {
    return new SocketError(`Cannot send ${description}: ${error.detail}`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new SocketError(String(error));
}
