/**
 * The one small interface between mcast and the operating system's UDP
 * sockets. `node:dgram` is the portable implementation
 * (`node_dgram.ts`); faster or more capable ones (`Deno.listenDatagram`,
 * FFI on Linux) plug in behind the same interface.
 *
 * @module
 */

import type { Family, Peer } from "../address.ts";

// Where addresses live; named here too, as the socket layer's types.
export type { Family, Peer } from "../address.ts";

/**
 * Called once per received datagram. `data` is only valid during the call
 * when the transport reuses its receive buffers (`reusesBuffers`): copy it
 * to keep it. `truncated` is true when the datagram was larger than the
 * transport's receive buffer and `data` holds only its first bytes (see
 * `TransportOpenOptions.receiveBytes`). `receivedAt` is when the kernel
 * received it, on the transport's {@linkcode KernelClock}, where the
 * transport reads it (opened with `timestamps`).
 */
export type DatagramHandler = (
  data: Uint8Array,
  from: Peer,
  truncated?: boolean,
  to?: string,
  receivedAt?: number,
) => void;

/**
 * The kernel's clock, on a transport that reads it (ffi, opened with
 * `timestamps`): the time the kernel stamped on each datagram it received
 * (the handler's `receivedAt`) and the time just before a send's system
 * call, in milliseconds on one clock, so that a round trip timed with
 * them leaves out the event loop at both ends. Only differences mean
 * something (its origin is arbitrary).
 */
export interface KernelClock {
  /** Now, on this clock. */
  now(): number;
  /**
   * When the latest `send` or `sendBatch` call made its (first) system
   * call, read just before it; for a send that waited for room in a full
   * send buffer, when it was queued.
   */
  sentAt(): number;
}

/** What a transport needs to open a socket. */
export interface TransportOpenOptions {
  /** Address family of the socket. */
  family: Family;
  /** Local address to bind (`0.0.0.0`, `::`, a group address, an interface address). */
  address: string;
  /** Local port; 0 picks an ephemeral one. */
  port: number;
  /** Share the port with other sockets (SO_REUSEADDR / SO_REUSEPORT). */
  reuseAddress: boolean;
  /**
   * Tell the handler each datagram's destination address (`to`: the group
   * it was sent to), so that one socket can serve several groups.
   * Transports that can (`IP_PKTINFO`: the FFI transport) say so with
   * `reportsDestination`; the others ignore it. @default {false}
   */
  destinations?: boolean;
  /**
   * The largest datagram expected, for transports that allocate a buffer
   * per received datagram (`node:dgram` on Deno does): smaller is faster.
   * A larger datagram arrives cut, with `truncated` set, and from then on
   * the transport takes datagrams up to the UDP maximum. Transports that
   * reuse one buffer ignore it and never cut. @default {65536} (nothing is cut)
   */
  receiveBytes?: number;
  /**
   * Stamp each received datagram with the kernel's receive time
   * (`receivedAt`, `SO_TIMESTAMPNS` on ffi) and note when each send left
   * (`kernelClock`). Transports that can say so with `kernelClock`; the
   * others ignore it. @default {false}
   */
  timestamps?: boolean;
}

/**
 * A bound UDP socket with multicast controls. Methods throw synchronously
 * on bad arguments or OS refusals; `send` rejects when the OS refuses.
 */
export interface Transport {
  /** Address family of the socket. */
  readonly family: Family;
  /** A short name for logs: `dgram`, `deno` or `ffi` for mcast's own. */
  readonly name?: string;
  /** True when `data` passed to the handler is reused after the call returns. */
  readonly reusesBuffers: boolean;
  /** True when the handler gets each datagram's destination (`to`), as asked with `destinations`. */
  readonly reportsDestination?: boolean;
  /** The kernel's clock, when opened with `timestamps` on a transport that reads it. */
  readonly kernelClock?: KernelClock;
  /** The bound local address and port. */
  localAddress(): { address: string; port: number };
  /**
   * Join `group`, on the interface with address `iface` (or the OS's
   * choice). A transport whose OS call is asynchronous returns a promise;
   * callers await it before they count on the membership.
   */
  join(group: string, iface?: string): void | Promise<void>;
  /** Join `group` for datagrams from `source` only (SSM). */
  joinSource(source: string, group: string, iface?: string): void;
  /** Leave a group joined with `join`. */
  leave(group: string, iface?: string): void | Promise<void>;
  /** Leave a group joined with `joinSource`. */
  leaveSource(source: string, group: string, iface?: string): void;
  /** Set the IP TTL / hop limit of outgoing multicast datagrams. */
  setTtl(ttl: number): void;
  /** Whether this host's own sockets receive what this socket multicasts. */
  setLoopback(on: boolean): void;
  /** Send outgoing multicast through the interface with this address. */
  setInterface(iface: string): void;
  /**
   * Send one datagram; rejects with a `SocketError` (its `errno` the OS's
   * reason, when it gave one) when the OS refuses it.
   */
  send(data: Uint8Array, port: number, address: string): Promise<void>;
  /**
   * Send one datagram now, on this thread, if the kernel takes it at once:
   * true when it left, false when the socket's send buffer is full (then
   * {@linkcode Transport.send} waits for room); throws a `SocketError`
   * when the OS refuses it, as `send` rejects. No promise to await: for a
   * ping-pong's next request. Only transports that can have it (ffi).
   */
  sendNow?(data: Uint8Array, port: number, address: string): boolean;
  /**
   * Send many datagrams to one destination, in order, in as few system
   * calls as the transport can (ffi: `sendmmsg`); resolves once every one
   * left. When some do not (the OS refused them), it goes on with the
   * rest and rejects with a `SendBatchError` saying how many left and how
   * many did not, by errno; a caller takes any other rejection to mean
   * that none left. Only transports that batch have it: callers fall
   * back to {@linkcode Transport.send}.
   */
  sendBatch?(
    datagrams: readonly Uint8Array[],
    port: number,
    address: string,
  ): Promise<void>;
  /** Install the receive handler (one per socket); datagrams before it are dropped. */
  onDatagram(handler: DatagramHandler): void;
  /** Install the handler for asynchronous socket errors. */
  onError(handler: (error: Error) => void): void;
  /** Close the socket; idempotent. */
  close(): Promise<void>;
  /**
   * Datagrams the kernel dropped for this socket (mostly because its
   * receive buffer was full): the socket never saw them. `undefined` (or
   * no method) where this process cannot read the count. A read may cost
   * a system call or a read of `/proc`: callers ask about once a second,
   * never per datagram.
   */
  droppedByKernel?(): number | undefined;
  /**
   * The socket's receive buffer in bytes, as the kernel reports it
   * (`SO_RCVBUF`); only transports that can read it have it.
   */
  receiveBufferBytes?(): number;
  /**
   * Waits on the calling thread, blocking it, at most `timeoutMs` (and at
   * most a slice of about 10 ms) for datagrams, and hands those that came
   * to the handler before it returns: the kernel wakes the caller itself, as it wakes a C program
   * blocked in `recvfrom`, with no other thread and no turn of the event
   * loop in between. For a caller with nothing else to do meanwhile (a
   * ping-pong), in short slices with turns of the event loop between
   * them. Returns how many it handed over, or -1 when it cannot wait
   * here yet (the transport's own wait is still under way: wait as
   * usual); {@linkcode Transport.receiveInBackground} ends it. Only
   * transports that can have it (ffi).
   */
  waitHere?(timeoutMs: number): number;
  /** Receiving goes back to the transport's own wait after `waitHere`. */
  receiveInBackground?(): void;
  /**
   * One turn of the event loop for a caller that holds the thread between
   * turns (`waitHere`, bursts of sends), such that signals, timers and
   * other sockets are seen within tens of milliseconds: a `setImmediate`
   * turn alone does not always let the runtime poll its I/O. Only
   * transports that can have it (ffi).
   */
  turn?(): Promise<void>;
  /**
   * While datagrams keep coming (the next within about 10 ms), wait for
   * the next one on the calling thread, blocking it, whenever `mayWait()`
   * says the caller has nothing pending (asked after each batch, once the
   * promise reactions it queued have run), the event loop getting a turn
   * every few milliseconds; after a quiet spell, the transport's own wait
   * again. No thread hand-over per datagram, as a C server blocked in
   * `recvfrom`. For a process with nothing else to do (a listener run
   * from the command line); only transports that can have it (ffi, and
   * only while it is the process's one receiving socket).
   */
  waitOnThread?(mayWait: () => boolean): void;
}

/**
 * Opens and binds a socket. Implementations reject with `SocketError` when
 * the OS refuses.
 */
export type TransportFactory = (
  options: TransportOpenOptions,
) => Promise<Transport>;
