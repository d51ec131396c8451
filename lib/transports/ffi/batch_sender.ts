/**
 * Many datagrams to one destination in one system call (`sendmmsg`), for
 * a sender that sends as fast as the socket takes (`send --interval 0`):
 * one call per batch of up to 64 instead of one `sendto` each, as the C
 * senders of iperf-style tools do.
 *
 * The kernel reads one large `ArrayBuffer` (off V8's heap, so it never
 * moves) that holds the `struct mmsghdr` array, one `struct iovec` per
 * datagram, the destination address and the datagrams' bytes, copied in
 * one after another. It grows when a batch needs more room.
 *
 * @module
 */

import {
  encodeSockaddr,
  type Libc,
  MMSG,
  type RawSocketAddress,
} from "./libc.ts";

/** Datagrams per `sendmmsg` call at most. */
export const SEND_BATCH_SIZE = 64;

const HEADERS = 0;
const IOVECS = HEADERS + SEND_BATCH_SIZE * MMSG.MMSGHDR_SIZE;
const ADDRESS = IOVECS + SEND_BATCH_SIZE * MMSG.IOVEC_SIZE;
const DATA = ADDRESS + MMSG.SOCKADDR_SLOT;
/** Room for 64 datagrams of 1500 bytes before the memory grows. */
const INITIAL_DATA_BYTES = SEND_BATCH_SIZE * 1500;
const TWO_TO_32 = 2 ** 32;

/**
 * One socket's batch sender. Not reentrant: each call fills the same
 * memory (calls are synchronous, so they never overlap).
 *
 * @example
 * ```ts ignore
 * import { FfiBatchSender } from "./batch_sender.ts";
 * const batches = new FfiBatchSender(libc, fd);
 * const sent = batches.send([a, b, c], 0, destination); // 3, or fewer when the buffer filled
 * ```
 */
export class FfiBatchSender {
  readonly #libc: Libc;
  readonly #fd: number;
  #memory = new ArrayBuffer(0);
  #bytes = new Uint8Array(0);
  #view = new DataView(this.#memory);
  #pointer: Deno.PointerObject | null = null;
  /** The memory's address as a number (user space addresses fit in 53 bits). */
  #address = 0;
  #destination: RawSocketAddress | undefined;

  /** A batch sender for socket `fd`. */
  constructor(libc: Libc, fd: number) {
    this.#libc = libc;
    this.#fd = fd;
    this.#allocate(INITIAL_DATA_BYTES);
  }

  /**
   * Sends `datagrams[start]` onwards (64 at most) to `to` in one
   * `sendmmsg` call, without blocking.
   *
   * @returns How many the kernel took (from `start`); 0 when its send
   *   buffer is full.
   * @throws {ErrnoError} when the first of them fails for another reason.
   */
  send(
    datagrams: readonly Uint8Array[],
    start: number,
    to: RawSocketAddress,
  ): number {
    const count = Math.min(SEND_BATCH_SIZE, datagrams.length - start);
    if (count <= 0) return 0;
    let total = 0;
    for (let i = 0; i < count; i++) total += datagrams[start + i].byteLength;
    if (DATA + total > this.#memory.byteLength) this.#allocate(total);
    if (this.#destination !== to) this.#setDestination(to);
    const bytes = this.#bytes;
    const view = this.#view;
    let offset = DATA;
    // The same array again (a message sent over and over) is copied once.
    let previous: Uint8Array | undefined;
    let address = 0;
    for (let i = 0; i < count; i++) {
      const datagram = datagrams[start + i];
      const length = datagram.byteLength;
      if (datagram !== previous) {
        bytes.set(datagram, offset);
        address = this.#address + offset;
        offset += length;
        previous = datagram;
      }
      const iovec = IOVECS + i * MMSG.IOVEC_SIZE;
      view.setUint32(iovec, address % TWO_TO_32, true);
      view.setUint32(iovec + 4, Math.floor(address / TWO_TO_32), true);
      view.setUint32(iovec + 8, length, true);
    }
    return this.#libc.sendMany(this.#fd, this.#pointer!, count);
  }

  /** New memory with room for `dataBytes` of datagrams; headers filled in. */
  #allocate(dataBytes: number): void {
    const size = DATA + Math.max(dataBytes, INITIAL_DATA_BYTES);
    this.#memory = new ArrayBuffer(size);
    this.#bytes = new Uint8Array(this.#memory);
    this.#view = new DataView(this.#memory);
    this.#pointer = Deno.UnsafePointer.of(this.#memory);
    this.#address = Number(Deno.UnsafePointer.value(this.#pointer));
    this.#destination = undefined;
    const view = this.#view;
    for (let i = 0; i < SEND_BATCH_SIZE; i++) {
      const header = HEADERS + i * MMSG.MMSGHDR_SIZE;
      this.#setPointer(header + MMSG.MSG_NAME, ADDRESS);
      this.#setPointer(header + MMSG.MSG_IOV, IOVECS + i * MMSG.IOVEC_SIZE);
      view.setBigUint64(header + MMSG.MSG_IOVLEN, 1n, true);
    }
  }

  /** Writes the address of `offset` in the memory as a pointer at `at`. */
  #setPointer(at: number, offset: number): void {
    this.#view.setBigUint64(at, BigInt(this.#address + offset), true);
  }

  #setDestination(to: RawSocketAddress): void {
    const size = encodeSockaddr(this.#bytes, ADDRESS, to, this.#view);
    for (let i = 0; i < SEND_BATCH_SIZE; i++) {
      const header = HEADERS + i * MMSG.MMSGHDR_SIZE;
      this.#view.setUint32(header + MMSG.MSG_NAMELEN, size, true);
    }
    this.#destination = to;
  }
}
