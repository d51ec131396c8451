/**
 * A fast Linux implementation of {@link Transport} that calls libc through
 * `Deno.dlopen` (needs `--allow-ffi`). Datagrams arrive in batches of up
 * to 64 per `recvmmsg` call (`receiver.ts`: one call waits on a Deno
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
 * This file holds the public API and {@link FfiTransport}, which composes
 * private parts, each in its own file:
 *
 * - `socket.ts`: opening and binding the socket, its options (TTL,
 *   loopback, receive buffer, `IP_MULTICAST_ALL`), reading them back;
 * - `interface.ts`: which interface a name or address means, and the
 *   outgoing multicast interface;
 * - `membership.ts`: joining and leaving groups, any-source and SSM;
 * - `send_queue.ts`: sends waiting for room in a full send buffer;
 * - `batch_sender.ts`: many datagrams in one `sendmmsg` call;
 * - `receiver.ts`: the receive loop (`recvmmsg` batches);
 * - `address.ts`: ports and addresses in the form libc takes;
 * - `os_call.ts`: libc failures turned into `SocketError`s;
 * - `libc.ts`: the C library binding itself.
 *
 * @module
 */

import { formatEndpoint } from "../../address.ts";
import { SOCKET_RECEIVE_BUFFER_BYTES } from "../../defaults.ts";
import { McastRangeError, SocketError } from "../../errors.ts";
import { checkPort, formatHost, parseDestination } from "./address.ts";
import { setMulticastInterface } from "./interface.ts";
import { EventLoopTurns } from "./event_loop_turns.ts";
import { ErrnoError, Libc, type RawSocketAddress } from "./libc.ts";
import { changeMembership, changeSourceMembership } from "./membership.ts";
import { FfiReceiver } from "./receiver.ts";
import { FfiSendQueue, isRetryable, sendError } from "./send_queue.ts";
import { FfiBatchSender, SEND_BATCH_SIZE } from "./batch_sender.ts";
import { BatchTally, sendErrno } from "../batch_tally.ts";
import {
  type FfiSocketOptions,
  openSocket,
  readSocketOptions,
  setMulticastLoopback,
  setMulticastTtl,
} from "./socket.ts";
import type {
  DatagramHandler,
  Family,
  KernelClock,
  Transport,
  TransportFactory,
  TransportOpenOptions,
} from "../transport.ts";
import type { FailedCall } from "../socket_failure.ts";

export type { FfiSocketOptions } from "./socket.ts";

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
   * else `SO_RCVBUF`, which `net.core.rmem_max` caps); 32 MiB
   * (`SOCKET_RECEIVE_BUFFER_BYTES` in `lib/defaults.ts`).
   */
  receiveBufferBytes?: number;
}

const DEFAULTS = {
  batchSize: 64,
  batchesPerTurn: 16,
  receiveBufferBytes: SOCKET_RECEIVE_BUFFER_BYTES,
};

let availability: boolean | undefined;

/**
 * Whether {@link openFfiTransport} can work here: Linux on x86_64 or
 * aarch64, the `ffi` permission granted, and glibc's `libc.so.6` loadable
 * (not musl). Never prompts; the answer is computed once.
 *
 * @example Pick a transport
 * ```ts ignore
 * import { ffiTransportAvailable, openFfiTransport } from "./ffi_transport.ts";
 * import { openDgramTransport } from "../node_dgram.ts";
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
): TransportFactory {
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
export const openFfiTransport: TransportFactory = createFfiTransportFactory();

/**
 * How long `sendBatch` sends one datagram a call after `sendmmsg` stopped
 * short: `sendmmsg` does not say why it stopped (a refusal or a full send
 * buffer), `sendto` does, for each datagram, at about half the rate.
 */
const ONE_BY_ONE_MS = 1000;

/** Tuning after defaults and checks. */
type Tuning = Required<FfiTransportOptions>;

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
  /** True when opened with `destinations`: the handler gets each datagram's destination. */
  readonly reportsDestination: boolean;
  /**
   * With `timestamps`: the kernel's clock (`CLOCK_REALTIME`), of each
   * datagram's `receivedAt` (`SO_TIMESTAMPNS`) and of each send, read
   * just before its system call.
   */
  readonly kernelClock?: KernelClock;

  readonly #libc: Libc;
  readonly #fd: number;
  readonly #tuning: Tuning;
  readonly #local: { address: string; port: number };
  /** Sends waiting for room in the send buffer (`send_queue.ts`). */
  readonly #sends: FfiSendQueue;
  /** Turns of the event loop for whoever holds this thread (`turn`, the receiver). */
  readonly #turns: EventLoopTurns;
  /** `sendmmsg` batches, made on first use. */
  #batches: FfiBatchSender | undefined;
  /**
   * Until when `sendBatch` sends datagram by datagram (see
   * {@linkcode ONE_BY_ONE_MS}); `performance.now()` time.
   */
  #oneByOneUntil = -Infinity;
  #interface: string | undefined;
  #handler: DatagramHandler | undefined;
  #errorHandler: ((error: Error) => void) | undefined;
  #receiver: FfiReceiver | undefined;
  #closed = false;
  /** The kernel's drop count as last read. */
  #drops = 0;
  #closing: Promise<void> | undefined;
  /** With `timestamps`: the latest send's time on the kernel clock. */
  #sentAt = 0;
  #mayWait: (() => boolean) | undefined;
  readonly #timestamps: boolean;
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
    const { libc, fd, local } = openSocket(options, tuning.receiveBufferBytes);
    return new FfiTransport(
      libc,
      fd,
      options.family,
      local,
      tuning,
      options.destinations === true,
      options.timestamps === true,
    );
  }

  private constructor(
    libc: Libc,
    fd: number,
    family: Family,
    local: { address: string; port: number },
    tuning: Tuning,
    destinations: boolean,
    timestamps: boolean,
  ) {
    this.reportsDestination = destinations;
    this.#timestamps = timestamps;
    if (timestamps) {
      this.kernelClock = {
        now: () => libc.kernelNow(),
        sentAt: () => this.#sentAt,
      };
    }
    this.#libc = libc;
    this.#fd = fd;
    this.family = family;
    this.#local = local;
    this.#tuning = tuning;
    this.#sends = new FfiSendQueue(libc, fd);
    this.#turns = new EventLoopTurns(libc);
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

  #membership(join: boolean, group: string, iface: string | undefined): void {
    this.#open(`${join ? "join" : "leave"} group ${group}`);
    changeMembership(this.#libc, this.#fd, this.family, join, group, iface);
  }

  #sourceMembership(
    join: boolean,
    source: string,
    group: string,
    iface: string | undefined,
  ): void {
    const action = join ? "join" : "leave";
    this.#open(`${action} group ${group} from source ${source}`);
    changeSourceMembership(
      this.#libc,
      this.#fd,
      this.family,
      join,
      source,
      group,
      iface,
    );
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
    setMulticastTtl(this.#libc, this.#fd, this.family, ttl);
  }

  /** Whether this host's sockets receive what this socket multicasts. */
  setLoopback(on: boolean): void {
    this.#open(`turn multicast loopback ${on ? "on" : "off"}`);
    setMulticastLoopback(this.#libc, this.#fd, this.family, on);
  }

  /** Send outgoing multicast through the interface with this address (or name). */
  setInterface(iface: string): void {
    const where = `set the multicast interface to ${iface}`;
    this.#open(where);
    setMulticastInterface(this.#libc, this.#fd, this.family, iface, where);
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
    return readSocketOptions(this.#libc, this.#fd, this.family);
  }

  /** `SO_RCVBUF` as the kernel reports it (see {@linkcode Transport}). */
  receiveBufferBytes(): number {
    return this.socketOptions().receiveBufferBytes;
  }

  /** `address` and `port` in libc form; the last one is kept for the next send. */
  #destination(address: string, port: number): RawSocketAddress {
    const last = this.#lastDestination;
    if (last !== undefined && last.address === address && last.port === port) {
      return last.raw;
    }
    const raw = parseDestination(this.#libc, this.family, address, port);
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
    if (this.#timestamps) this.#sentAt = this.#libc.kernelNow();
    if (this.#sends.idle) {
      try {
        this.#libc.sendTo(this.#fd, data, to);
        return Promise.resolve();
      } catch (error) {
        if (!isRetryable(error)) {
          return Promise.reject(
            sendError(
              this.#describeSend(data.byteLength, address, port),
              error,
              this.#failedSend(data.byteLength, address, port),
            ),
          );
        }
      }
    }
    return this.#sends.enqueue(
      data,
      to,
      this.#describeSend(data.byteLength, address, port),
      this.#failedSend(data.byteLength, address, port),
    );
  }

  /**
   * Send one datagram now if the kernel takes it at once: true when it
   * left, false when the send buffer is full (or sends wait for room
   * already: {@linkcode FfiTransport.send} then keeps them in order);
   * throws the `SocketError` that `send` would reject with.
   */
  sendNow(data: Uint8Array, port: number, address: string): boolean {
    checkPort(port);
    if (this.#closed) {
      throw new SocketError(
        `Cannot send ${
          this.#describeSend(data.byteLength, address, port)
        }: the socket is closed`,
      );
    }
    if (!this.#sends.idle) return false;
    const to = this.#destination(address, port);
    if (this.#timestamps) this.#sentAt = this.#libc.kernelNow();
    try {
      this.#libc.sendTo(this.#fd, data, to);
      return true;
    } catch (error) {
      if (isRetryable(error)) return false;
      throw sendError(
        this.#describeSend(data.byteLength, address, port),
        error,
        this.#failedSend(data.byteLength, address, port),
      );
    }
  }

  /**
   * Send many datagrams to one destination, in order: `sendmmsg` batches
   * of up to 64, one system call each. Resolves once the kernel has taken
   * every one; what does not fit in a full send buffer waits (up to 2 s
   * each, in order) as with {@linkcode FfiTransport.send}. A datagram the
   * kernel refuses (a firewall rule: `EPERM`, a full queue: `ENOBUFS`) is
   * counted and the rest go on; then it rejects with a `SendBatchError`
   * that says how many left and how many did not, by errno.
   *
   * `sendmmsg` stops at a datagram the kernel refuses without saying why,
   * as it stops at a full send buffer: the datagram it stopped at is sent
   * again, alone, and for {@linkcode ONE_BY_ONE_MS} after that the
   * datagrams go one `sendto` each, which names every refusal's errno and
   * tries each datagram once.
   */
  sendBatch(
    datagrams: readonly Uint8Array[],
    port: number,
    address: string,
  ): Promise<void> {
    checkPort(port);
    const tally = new BatchTally();
    if (this.#timestamps) this.#sentAt = this.#libc.kernelNow();
    const start = this.#closed || !this.#sends.idle
      ? 0
      : this.#sendNow(datagrams, address, port, tally);
    if (start === datagrams.length) return tally.result();
    // The rest, one by one, through the queue that waits for room.
    return Promise.allSettled(
      datagrams.slice(start).map((data) => this.send(data, port, address)),
    ).then((outcomes) => {
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") tally.sent++;
        else tally.failed(outcome.reason);
      }
      return tally.result();
    });
  }

  /**
   * Sends what the kernel takes now, counting refusals in `tally`;
   * returns where a full send buffer stopped it (the length when none did).
   */
  #sendNow(
    datagrams: readonly Uint8Array[],
    address: string,
    port: number,
    tally: BatchTally,
  ): number {
    const to = this.#destination(address, port);
    const batches = this.#batches ??= new FfiBatchSender(this.#libc, this.#fd);
    let start = 0;
    while (start < datagrams.length) {
      const oneByOne = performance.now() < this.#oneByOneUntil;
      const asked = oneByOne
        ? 1
        : Math.min(SEND_BATCH_SIZE, datagrams.length - start);
      let sent: number;
      try {
        sent = oneByOne
          ? this.#sendAlone(datagrams[start], to)
          : batches.send(datagrams, start, to);
      } catch (error) {
        // A failure is reported when it is the first of a call: that
        // datagram did not leave; the next call starts after it.
        const bytes = datagrams[start].byteLength;
        tally.refused(
          error instanceof ErrnoError ? error.code : sendErrno(error),
          () => {
            const failure = sendError(
              this.#describeSend(bytes, address, port),
              error,
              this.#failedSend(bytes, address, port),
            );
            return failure instanceof SocketError
              ? failure
              : new SocketError(failure.message, { cause: failure });
          },
        );
        this.#oneByOneUntil = performance.now() + ONE_BY_ONE_MS;
        start++;
        continue;
      }
      if (sent === 0) break; // the send buffer is full
      if (sent < asked) {
        this.#oneByOneUntil = performance.now() + ONE_BY_ONE_MS;
      }
      tally.sent += sent;
      start += sent;
    }
    return start;
  }

  /** `sendto` of one datagram: 1 when it left, 0 when the buffer is full. */
  #sendAlone(datagram: Uint8Array, to: RawSocketAddress): number {
    try {
      this.#libc.sendTo(this.#fd, datagram, to);
      return 1;
    } catch (error) {
      if (isRetryable(error)) return 0;
      throw error;
    }
  }

  /** A send as `socket_failure.ts` explains its failures. */
  #failedSend(bytes: number, address: string, port: number): FailedCall {
    return {
      operation: "send",
      family: this.family,
      address,
      port,
      iface: this.#interface,
      bytes,
    };
  }

  #describeSend(bytes: number, address: string, port: number): string {
    return `${bytes} bytes to ${formatEndpoint(address, port)}${
      this.#interface === undefined ? "" : ` via interface ${this.#interface}`
    }`;
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
   * Datagrams the kernel dropped for this socket (mostly because its
   * receive buffer was full): the count now (`SO_MEMINFO`), or on kernels
   * without it as the latest datagram queued after a drop reported it
   * (`SO_RXQ_OVFL`). One `getsockopt`: ask about once a second. After
   * `close()`, the last count read.
   */
  droppedByKernel(): number {
    const reported = this.#receiver?.dropped() ?? 0;
    if (!this.#closed) {
      try {
        this.#drops = this.#libc.socketDrops(this.#fd) ?? reported;
      } catch {
        this.#drops = reported;
      }
    }
    return Math.max(this.#drops, reported);
  }

  /**
   * Waits on this thread, blocking it, at most `timeoutMs` (a slice of 10 ms at most) for datagrams,
   * and hands them to the handler before returning (see
   * {@linkcode Transport.waitHere}): -1 until the background wait (a pool
   * thread's `recvmmsg`) has stopped, after its next datagram or within
   * its 250 ms `SO_RCVTIMEO`; -1 too before a handler is installed.
   */
  waitHere(timeoutMs: number): number {
    return this.#receiver?.waitHere(timeoutMs) ?? -1;
  }

  /** Receiving goes back to the background wait after `waitHere`. */
  receiveInBackground(): void {
    this.#receiver?.receiveInBackground();
  }

  /**
   * One turn of the event loop, at least every 50 ms one in which the
   * runtime polls its I/O (see {@linkcode Transport.turn},
   * `event_loop_turns.ts`).
   */
  turn(): Promise<void> {
    return this.#turns.turn();
  }

  /**
   * While datagrams keep coming, wait for the next on this thread when
   * `mayWait()` says nothing is pending (see
   * {@linkcode Transport.waitOnThread}).
   */
  waitOnThread(mayWait: () => boolean): void {
    this.#mayWait = mayWait;
    this.#receiver?.waitOnThread(mayWait);
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
      destinations: this.reportsDestination,
      timestamps: this.#timestamps,
      turns: this.#turns,
      onDatagram: (data, from, truncated, to, receivedAt) =>
        this.#handler!(data, from, truncated, to, receivedAt),
      onError: (error) => this.#report(error),
      describe: () => this.#describeLocal(),
    });
    if (this.#mayWait !== undefined) this.#receiver.waitOnThread(this.#mayWait);
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
    this.#sends.close();
    try {
      // Resolves once no receive can touch the descriptor any more.
      await this.#receiver?.stop();
    } finally {
      this.#libc.close(this.#fd);
      this.#libc.release();
    }
  }
}
