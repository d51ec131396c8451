/**
 * The FFI transport's receive loop, on the main thread: it awaits one
 * `recvmmsg` that waits on a Deno blocking-pool thread
 * (`nonblocking: true`), delivers that batch, then takes whatever else is
 * queued with synchronous `MSG_DONTWAIT` calls, a bounded number of
 * batches per turn of the event loop so that timers and replies keep
 * running under a flood.
 *
 * Why not a Worker: handing each batch from a Worker to the main thread
 * (`postMessage`) costs a second thread wake-up per request; measured on
 * this project's machine a listener answered 14.7k round trips/s that way
 * against 32.8k/s with this loop (Python's socket loop: 29.6k/s), at the
 * same one-way rate (docs/performance.md).
 *
 * Memory the kernel writes is one large `ArrayBuffer` (off V8's heap, so
 * it never moves) that lives as long as the receiver; datagrams are
 * handed out as views into it, valid until the handler returns.
 *
 * @module
 */

import { MAX_DATAGRAM_BYTES } from "../../defaults.ts";
import { SocketError } from "../../errors.ts";
import { ErrnoError, type Libc, LINUX, MMSG } from "./libc.ts";
import type { EventLoopTurns } from "./event_loop_turns.ts";
import { timespecMs } from "./kernel_clock.ts";
import { RECEIVE_TIMEOUT_MS } from "./socket.ts";
import type { DatagramHandler, Family, Peer } from "../transport.ts";

/** Largest UDP payload (IPv6, 65535 - 8); every slot holds a whole one. */
const SLOT_SIZE = MAX_DATAGRAM_BYTES;
/**
 * Control data per datagram: room for an `SO_RXQ_OVFL` message
 * (`CMSG_SPACE(4)`, 24 bytes), an `IP_PKTINFO` or `IPV6_PKTINFO` one
 * (`CMSG_SPACE(12)`, 32; `CMSG_SPACE(20)`, 40) and an `SCM_TIMESTAMPNS`
 * one (`CMSG_SPACE(16)`, 32).
 */
const CONTROL_SLOT = 128;
/** The same, as the 64-bit `msg_controllen` takes it (made once: a `BigInt` per call is an allocation). */
const CONTROL_SLOT_LENGTH = BigInt(CONTROL_SLOT);
/** `struct cmsghdr`: `cmsg_len` (8), `cmsg_level` (4), `cmsg_type` (4), then the data. */
const CMSG_LEVEL = 8;
const CMSG_TYPE = 12;
const CMSG_DATA = 16;
/** Entries in each source-address cache before it is cleared. */
const PEER_CACHE_LIMIT = 1024;
/** How long to wait after a transient receive error before trying again. */
const ERROR_PAUSE_MS = 10;
/**
 * Waiting on the owner's thread ({@linkcode FfiReceiver.waitOnThread}):
 * how long for the next datagram before going back to the background
 * wait, and how often the event loop gets a turn meanwhile.
 */
const SLICE_MS = 10;
const TURN_MS = 2;
/** Errors after which the descriptor cannot be read any more. */
const FATAL = new Set<number>([
  LINUX.EBADF,
  LINUX.ENOTSOCK,
  LINUX.EFAULT,
  LINUX.EINVAL,
]);

/**
 * What an {@linkcode FfiReceiver} needs: the socket, its batching, and
 * where datagrams and errors go.
 *
 * @example
 * ```ts ignore
 * import type { FfiReceiverOptions } from "./receiver.ts";
 * const options: Partial<FfiReceiverOptions> = { batchSize: 64, batchesPerTurn: 16 };
 * ```
 */
export interface FfiReceiverOptions {
  /** The C library handle that owns `fd`. */
  libc: Libc;
  /** A bound UDP socket with `SO_RCVTIMEO` set (it bounds how long stopping takes). */
  fd: number;
  /** The socket's family. */
  family: Family;
  /** Datagrams per `recvmmsg` call (1-1024). */
  batchSize: number;
  /** Batches taken in one turn of the event loop before it runs again (1-1024). */
  batchesPerTurn: number;
  /** Formats an IPv6 source address with its zone (`fe80::1%eth0`). */
  formatIPv6: (ip: Uint8Array, scopeId: number) => string;
  /** Whether to read each datagram's destination (`IP_PKTINFO`, set by the transport) and pass it as `to`. */
  destinations?: boolean;
  /**
   * Whether to read each datagram's receive time stamp (`SO_TIMESTAMPNS`,
   * set by the transport) and pass it as `receivedAt`, in milliseconds on
   * the kernel clock (`kernel_clock.ts`).
   */
  timestamps?: boolean;
  /** Gives the event loop its turns while the loop waits on the owner's thread. */
  turns: EventLoopTurns;
  /** Called per datagram; `data` is valid only during the call. */
  onDatagram: DatagramHandler;
  /** Called for a receive error; `fatal` ones end the loop. */
  onError: (error: SocketError, fatal: boolean) => void;
  /** The socket, for error messages (`0.0.0.0:5000`). */
  describe: () => string;
}

/**
 * Runs the receive loop of one socket from construction until
 * {@linkcode FfiReceiver.stop}.
 *
 * @example
 * ```ts ignore
 * import { FfiReceiver } from "./receiver.ts";
 * const receiver = new FfiReceiver(options);
 * // ... datagrams flow to options.onDatagram ...
 * await receiver.stop();
 * ```
 */
export class FfiReceiver {
  /** Receivers of this process whose loop runs: one may wait on the thread. */
  static #live = 0;
  readonly #options: FfiReceiverOptions;
  // Everything the kernel touches: headers, iovecs, source addresses and
  // one slot per datagram. Held until the loop has ended.
  readonly #region: ArrayBuffer;
  readonly #view: DataView;
  readonly #headers: Deno.PointerObject;
  readonly #names: number;
  readonly #controls: number;
  readonly #data: number;
  #drops = 0;
  readonly #peers4 = new Map<number, Peer>();
  readonly #peers6 = new Map<string, Peer>();
  readonly #destinations = new Map<string, string>();
  /** Per slot, the view its last datagram was handed in ({@linkcode FfiReceiver.#slotView}). */
  readonly #views: (Uint8Array | undefined)[] = [];
  /** The IPv4 source of the last datagram (`ip * 65536 + port`) and its peer: most come from the source before. */
  #lastKey4 = -1;
  #lastPeer4: Peer | undefined;
  #used = 0;
  /** The latest datagram's receive time stamp, while it is delivered. */
  #receivedAt: number | undefined;
  #stopping = false;
  /** The owner asked to receive on its own thread ({@linkcode FfiReceiver.waitHere}). */
  #parkAsked = false;
  /** No background wait is in flight: the owner receives. */
  #parked = false;
  /** Ends the park: the background wait goes on. */
  #unpark: (() => void) | undefined;
  /** Whether the owner may be waited for on its thread now ({@linkcode FfiReceiver.waitOnThread}). */
  #mayWait: (() => boolean) | undefined;
  readonly #loop: Promise<void>;

  /**
   * Lays out the batch memory and starts the loop.
   *
   * @param options The socket, its batching and the handlers.
   */
  constructor(options: FfiReceiverOptions) {
    this.#options = options;
    const batch = options.batchSize;
    const iovecs = batch * MMSG.MMSGHDR_SIZE;
    this.#names = iovecs + batch * MMSG.IOVEC_SIZE;
    this.#controls = this.#names + batch * MMSG.SOCKADDR_SLOT;
    this.#data = Math.ceil((this.#controls + batch * CONTROL_SLOT) / 4096) *
      4096;
    this.#region = new ArrayBuffer(this.#data + batch * SLOT_SIZE);
    this.#view = new DataView(this.#region);
    const pointer = Deno.UnsafePointer.of(this.#region);
    if (pointer === null) {
      throw new SocketError("Cannot address receive memory");
    }
    this.#headers = pointer;
    const base = BigInt(Deno.UnsafePointer.value(pointer));
    const view = this.#view;
    for (let i = 0; i < batch; i++) {
      const header = i * MMSG.MMSGHDR_SIZE;
      const iovec = iovecs + i * MMSG.IOVEC_SIZE;
      const name = this.#names + i * MMSG.SOCKADDR_SLOT;
      view.setBigUint64(header + MMSG.MSG_NAME, base + BigInt(name), true);
      view.setUint32(header + MMSG.MSG_NAMELEN, MMSG.SOCKADDR_SLOT, true);
      view.setBigUint64(header + MMSG.MSG_IOV, base + BigInt(iovec), true);
      view.setBigUint64(header + MMSG.MSG_IOVLEN, 1n, true);
      view.setBigUint64(
        header + MMSG.MSG_CONTROL,
        base + BigInt(this.#controls + i * CONTROL_SLOT),
        true,
      );
      view.setBigUint64(
        header + MMSG.MSG_CONTROLLEN,
        BigInt(CONTROL_SLOT),
        true,
      );
      view.setBigUint64(
        iovec,
        base + BigInt(this.#data + i * SLOT_SIZE),
        true,
      );
      view.setBigUint64(iovec + 8, BigInt(SLOT_SIZE), true);
    }
    this.#loop = this.#run();
  }

  /**
   * Datagrams the kernel dropped for this socket (its receive buffer was
   * full), as the latest datagram queued after a drop reported it
   * (`SO_RXQ_OVFL`, set by the transport).
   *
   * @returns The count since the socket opened.
   */
  dropped(): number {
    return this.#drops;
  }

  /**
   * Ends the loop: wakes a waiting `recvmmsg` (`shutdown(SHUT_RD)`) and
   * resolves once no call can touch the descriptor or the memory any more,
   * so the caller may close the socket. Idempotent.
   *
   * @returns When the loop has ended.
   */
  stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      // ENOTCONN on an unconnected UDP socket, yet the receive side is
      // shut and a waiting recvmmsg returns at once.
      this.#options.libc.shutdown(this.#options.fd, LINUX.SHUT_RD);
      this.#unpark?.();
    }
    return this.#loop;
  }

  /**
   * Waits on this thread, blocking it, at most `timeoutMs` for datagrams,
   * and delivers those that came before it returns: the kernel wakes this
   * thread itself, with no pool thread and no turn of the event loop in
   * between, as it wakes a C program blocked in `recvfrom`. For an owner
   * that has nothing else to do meanwhile (a ping-pong), in short slices
   * with turns of the event loop between them. The first call asks the
   * background wait to stop after its next datagram (or its
   * `SO_RCVTIMEO`); until it has, this returns -1 at once, and the owner
   * waits as usual (that datagram comes the usual way).
   * {@linkcode FfiReceiver.receiveInBackground} gives receiving back.
   *
   * @param timeoutMs The longest wait, milliseconds (rounded up); at most
   *   a slice of 10 ms (the socket's `SO_RCVTIMEO` while parked), waited
   *   in the receive itself, one system call.
   * @returns How many datagrams were delivered (0: none came in time, or
   *   a signal ended the wait), or -1: not yet.
   */
  waitHere(timeoutMs: number): number {
    if (this.#stopping) return 0;
    if (!this.#parked) {
      this.#parkAsked = true;
      return -1;
    }
    // A whole slice: one call waits (SO_RCVTIMEO is a slice while parked)
    // and takes what came; a shorter wait is a poll first.
    if (timeoutMs >= SLICE_MS) return this.#takeQueued(true);
    const { libc, fd } = this.#options;
    if (!libc.waitReadable(fd, Math.max(0, Math.ceil(timeoutMs)))) return 0;
    return this.#takeQueued(false);
  }

  /**
   * While datagrams keep coming (the next within 10 ms of the last) and
   * `mayWait()` says the owner has nothing pending (asked once the promise
   * reactions a delivery queued have run), the loop waits for the next
   * one on this thread instead of a pool thread, the event loop getting a
   * turn at least every 2 ms; then it goes back to the background wait.
   * Only while this is the one receiver of the process (another socket's
   * datagrams would wait out a slice).
   *
   * @param mayWait Whether the owner may be waited for now.
   */
  waitOnThread(mayWait: () => boolean): void {
    this.#mayWait = mayWait;
  }

  /**
   * Delivers what is queued, up to `batchesPerTurn` batches; how many
   * (-1: an error). With `wait`, the first call waits for a datagram (at
   * most the socket's `SO_RCVTIMEO`).
   */
  #takeQueued(wait: boolean): number {
    const { batchSize, batchesPerTurn } = this.#options;
    let delivered = 0;
    for (let turn = 0; turn < batchesPerTurn && !this.#stopping; turn++) {
      this.#reset();
      const count = this.#receiveQueued(wait && turn === 0);
      if (count < 0) return delivered > 0 ? delivered : -1;
      if (count === 0) break;
      this.#used = count;
      this.#deliver(count);
      delivered += count;
      // A short batch emptied the queue: no call to learn that again.
      if (count < batchSize) break;
    }
    return delivered;
  }

  /** Waits for datagrams on this thread while they keep coming (see {@linkcode FfiReceiver.waitOnThread}). */
  async #onThread(mayWait: () => boolean): Promise<void> {
    let turnAt = performance.now();
    let waiting = false;
    try {
      while (!this.#stopping && !this.#parkAsked) {
        // Never while another socket of the process receives.
        if (FfiReceiver.#live !== 1) return;
        // The promise reactions the delivery queued (a reply still on its
        // way) first; with none pending, no turn of the microtask queue
        // (other reactions run at the next turn, within 2 ms, or when the
        // stream stops).
        if (!mayWait()) {
          await undefined;
          if (FfiReceiver.#live !== 1 || !mayWait()) return;
        }
        // One call waits (a slice at most) and takes what came.
        if (!waiting) waiting = this.#receiveTimeout(SLICE_MS);
        if (this.#takeQueued(true) <= 0) return;
        if (performance.now() - turnAt >= TURN_MS) {
          // Now and then one in which the runtime polls its I/O (signals).
          await this.#options.turns.turn();
          turnAt = performance.now();
        }
      }
    } finally {
      if (waiting) this.#receiveTimeout(RECEIVE_TIMEOUT_MS);
    }
  }

  /**
   * Sets how long a waiting receive waits (`SO_RCVTIMEO`): a slice while
   * this thread waits, {@linkcode RECEIVE_TIMEOUT_MS} for the pool thread.
   * Whether it was set (a socket closing refuses it).
   */
  #receiveTimeout(ms: number): boolean {
    const { libc, fd } = this.#options;
    try {
      libc.setTimeval(fd, LINUX.SOL_SOCKET, LINUX.SO_RCVTIMEO, ms);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Gives receiving back to the background wait after
   * {@linkcode FfiReceiver.waitHere} (or cancels its request); idempotent.
   */
  receiveInBackground(): void {
    this.#parkAsked = false;
    this.#unpark?.();
  }

  async #run(): Promise<void> {
    FfiReceiver.#live++;
    try {
      await this.#receiveLoop();
    } finally {
      FfiReceiver.#live--;
    }
  }

  async #receiveLoop(): Promise<void> {
    const { libc, fd, batchSize, batchesPerTurn } = this.#options;
    while (!this.#stopping) {
      if (this.#parkAsked) {
        this.#parked = true;
        this.#receiveTimeout(SLICE_MS);
        await new Promise<void>((resolve) => this.#unpark = resolve);
        this.#parked = false;
        this.#unpark = undefined;
        this.#receiveTimeout(RECEIVE_TIMEOUT_MS);
        continue;
      }
      this.#reset();
      // SO_RCVTIMEO bounds the wait: -1 with EAGAIN when nothing came.
      let count = await libc.receiveWaiting(fd, this.#headers, batchSize);
      if (this.#stopping) break;
      // -1: errno is the pool thread's; a call here tells why (0 when it
      // was only SO_RCVTIMEO) and takes anything queued meanwhile.
      if (count < 0) count = this.#receiveQueued();
      const delivered = count > 0;
      for (let turn = 1; count > 0; turn++) {
        this.#used = count;
        this.#deliver(count);
        if (this.#stopping || turn >= batchesPerTurn) break;
        this.#reset();
        count = this.#receiveQueued();
      }
      if (count === -2) {
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
      } else if (delivered && this.#mayWait !== undefined) {
        await this.#onThread(this.#mayWait);
      }
    }
  }

  /**
   * A synchronous receive (with `wait`, waiting for the first datagram at
   * most `SO_RCVTIMEO`): the count, 0 for none, -1 fatal, -2 transient.
   */
  #receiveQueued(wait = false): number {
    const { libc, fd, batchSize } = this.#options;
    try {
      return wait
        ? libc.receiveBlocking(fd, this.#headers, batchSize)
        : libc.receiveQueued(fd, this.#headers, batchSize);
    } catch (error) {
      if (this.#stopping) return -1;
      const errno = error instanceof ErrnoError ? error.errno : 0;
      const fatal = FATAL.has(errno);
      const detail = error instanceof ErrnoError ? error.detail : String(error);
      this.#options.onError(
        new SocketError(
          `Cannot receive on ${this.#options.describe()}: ${detail}${
            fatal ? "; receiving stopped" : ""
          }`,
          { cause: error },
        ),
        fatal,
      );
      if (fatal) this.#stopping = true;
      return fatal ? -1 : -2;
    }
  }

  /** Makes the headers used by the last call ready for the next one. */
  #reset(): void {
    const view = this.#view;
    for (let i = 0; i < this.#used; i++) {
      const header = i * MMSG.MMSGHDR_SIZE;
      view.setUint32(header + MMSG.MSG_NAMELEN, MMSG.SOCKADDR_SLOT, true);
      view.setBigUint64(
        header + MMSG.MSG_CONTROLLEN,
        CONTROL_SLOT_LENGTH,
        true,
      );
      view.setInt32(header + MMSG.MSG_FLAGS, 0, true);
    }
    this.#used = 0;
  }

  #deliver(count: number): void {
    const view = this.#view;
    const handler = this.#options.onDatagram;
    let failure: { error: unknown } | undefined;
    for (let i = 0; i < count && !this.#stopping; i++) {
      const header = i * MMSG.MMSGHDR_SIZE;
      const length = Math.min(
        view.getUint32(header + MMSG.MSG_LEN, true),
        SLOT_SIZE,
      );
      // The kernel adds SO_RXQ_OVFL only once it has dropped something;
      // IP_PKTINFO comes with every datagram when asked for.
      const to = this.#control(header, this.#controls + i * CONTROL_SLOT);
      const data = this.#slotView(i, length);
      try {
        handler(
          data,
          this.#peer(this.#names + i * MMSG.SOCKADDR_SLOT),
          undefined,
          to,
          this.#receivedAt,
        );
      } catch (error) {
        failure ??= { error };
      }
    }
    // Like an EventEmitter listener: a throwing handler is an uncaught
    // error, raised after the rest of the batch was delivered.
    if (failure !== undefined) reportError(failure.error);
  }

  /**
   * A view of the first `length` bytes of slot `slot`: the one made for
   * the slot's last datagram when it had the same length (a ping-pong's
   * replies, a flood's datagrams), else a new one. Handlers may not keep
   * `data` past their call, so a view can serve again; making one cost
   * ~55 ns here.
   */
  #slotView(slot: number, length: number): Uint8Array {
    const kept = this.#views[slot];
    if (kept !== undefined && kept.length === length) return kept;
    const view = new Uint8Array(
      this.#region,
      this.#data + slot * SLOT_SIZE,
      length,
    );
    this.#views[slot] = view;
    return view;
  }

  /**
   * Reads a datagram's control messages (`cmsghdr`s, each padded to 8
   * bytes): keeps the kernel's drop count (`SO_RXQ_OVFL`) and the receive
   * time stamp (`SCM_TIMESTAMPNS`, in `#receivedAt`), and returns the
   * destination address (`IP_PKTINFO`'s `ipi_addr`, `IPV6_PKTINFO`'s
   * `ipi6_addr`) when the transport asked for it.
   */
  #control(header: number, control: number): string | undefined {
    this.#receivedAt = undefined;
    const view = this.#view;
    // size_t fields, little-endian: their low 32 bits are the value here.
    const end = control +
      Math.min(
        view.getUint32(header + MMSG.MSG_CONTROLLEN, true),
        CONTROL_SLOT,
      );
    let to: string | undefined;
    for (let at = control; at + CMSG_DATA <= end;) {
      const length = view.getUint32(at, true);
      if (length < CMSG_DATA || at + length > end) break;
      const level = view.getInt32(at + CMSG_LEVEL, true);
      const type = view.getInt32(at + CMSG_TYPE, true);
      if (level === LINUX.SOL_SOCKET && type === LINUX.SO_RXQ_OVFL) {
        this.#drops = view.getUint32(at + CMSG_DATA, true);
      } else if (level === LINUX.SOL_SOCKET && type === LINUX.SO_TIMESTAMPNS) {
        this.#receivedAt = timespecMs(view, at + CMSG_DATA);
      } else if (this.#options.destinations) {
        if (level === LINUX.IPPROTO_IP && type === LINUX.IP_PKTINFO) {
          to = this.#destination(at + CMSG_DATA + 8, 4);
        } else if (
          level === LINUX.IPPROTO_IPV6 && type === LINUX.IPV6_PKTINFO
        ) {
          to = this.#destination(at + CMSG_DATA, 16);
        }
      }
      at += (length + 7) & ~7;
    }
    return to;
  }

  /** The address of `size` bytes at `at`, as text (one string per address). */
  #destination(at: number, size: 4 | 16): string {
    const bytes = new Uint8Array(this.#region, at, size);
    const key = bytes.join(".");
    let address = this.#destinations.get(key);
    if (address === undefined) {
      address = size === 4 ? key : this.#options.formatIPv6(bytes.slice(), 0);
      if (this.#destinations.size >= PEER_CACHE_LIMIT) {
        this.#destinations.clear();
      }
      this.#destinations.set(key, address);
    }
    return address;
  }

  /** The source address at `name` (a sockaddr), one frozen object per source. */
  #peer(name: number): Peer {
    const view = this.#view;
    const family = view.getUint16(name, true);
    const port = view.getUint16(name + 2, false);
    if (family === LINUX.AF_INET) {
      const ip = view.getUint32(name + 4, false);
      const key = ip * 65536 + port;
      if (key === this.#lastKey4) return this.#lastPeer4!;
      let peer = this.#peers4.get(key);
      if (peer === undefined) {
        const address = `${ip >>> 24}.${(ip >>> 16) & 255}.${
          (ip >>> 8) & 255
        }.${ip & 255}`;
        peer = Object.freeze({ address, port, family: "IPv4" as const });
        if (this.#peers4.size >= PEER_CACHE_LIMIT) this.#peers4.clear();
        this.#peers4.set(key, peer);
      }
      this.#lastKey4 = key;
      this.#lastPeer4 = peer;
      return peer;
    }
    const scopeId = view.getUint32(name + 24, true);
    const key = `${view.getUint32(name + 8)},${view.getUint32(name + 12)},${
      view.getUint32(name + 16)
    },${view.getUint32(name + 20)},${port},${scopeId}`;
    let peer = this.#peers6.get(key);
    if (peer === undefined) {
      const ip = new Uint8Array(this.#region.slice(name + 8, name + 24));
      const address = this.#options.formatIPv6(ip, scopeId);
      peer = Object.freeze({ address, port, family: "IPv6" as const });
      if (this.#peers6.size >= PEER_CACHE_LIMIT) this.#peers6.clear();
      this.#peers6.set(key, peer);
    }
    return peer;
  }
}
