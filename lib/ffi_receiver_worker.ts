/**
 * The Worker that runs the FFI transport's blocking receive loop: it calls
 * `recvmmsg` on the socket that the main thread opened, packs each batch
 * of datagrams into one fresh `ArrayBuffer` and transfers it to the main
 * thread (one message per batch).
 *
 * Protocol (all messages are plain objects):
 * - main → worker: {@link ReceiverStart} once.
 * - worker → main: {@link ReceiverMessage}: `batch` (one per `recvmmsg`),
 *   `error` (a failed `recvmmsg`; the loop goes on unless the descriptor is
 *   unusable) and finally `stopped`, after which the Worker never touches
 *   the descriptor again, so the main thread may close it.
 *
 * Control words in the shared `Int32Array` (see {@link CONTROL}): the main
 * thread sets `STOP` and calls `shutdown(fd, SHUT_RD)`, which wakes a
 * blocked `recvmmsg` at once; `SO_RCVTIMEO` bounds the wait as a second
 * line. `IN_FLIGHT` counts batches posted but not yet handled: at the
 * limit the Worker stops reading, so a slow main thread makes the kernel
 * drop datagrams (and count them) instead of this process queueing
 * without bound.
 *
 * Batch layout: `count` records of {@link RECORD_SIZE} bytes, then the
 * datagrams back to back. Record fields (little-endian unless noted):
 * `u32` data offset (from the end of the records), `u32` length, `u16`
 * address family, `u16` port, `u32` `msg_flags`, `u32` IPv6 scope id,
 * 16 address bytes (network order; IPv4 uses the first 4).
 *
 * @module
 */

import { LIBC_PATH, LINUX, MMSG, RECEIVER_SYMBOLS } from "./ffi_libc.ts";

/**
 * Indexes of the shared control words.
 *
 * @example Ask a receiver to stop
 * ```ts
 * import { CONTROL } from "./ffi_receiver_worker.ts";
 * const control = new Int32Array(new SharedArrayBuffer(CONTROL.SIZE * 4));
 * Atomics.store(control, CONTROL.STOP, 1);
 * ```
 */
export const CONTROL = {
  /** Non-zero: leave the loop. */
  STOP: 0,
  /** Batches posted and not yet handled by the main thread. */
  IN_FLIGHT: 1,
  /** Number of control words. */
  SIZE: 2,
} as const;

/**
 * Bytes per datagram record at the start of a batch buffer.
 *
 * @example Where the datagrams of a batch start
 * ```ts
 * import { RECORD_SIZE } from "./ffi_receiver_worker.ts";
 * const count = 3;
 * console.assert(count * RECORD_SIZE === 120);
 * ```
 */
export const RECORD_SIZE = 40;

/**
 * What the main thread posts once to start the loop.
 *
 * @example
 * ```ts
 * import { CONTROL, type ReceiverStart } from "./ffi_receiver_worker.ts";
 * const start: ReceiverStart = {
 *   type: "start",
 *   fd: 7,
 *   batchSize: 64,
 *   maxInFlight: 32,
 *   control: new SharedArrayBuffer(CONTROL.SIZE * 4),
 * };
 * console.assert(start.type === "start");
 * ```
 */
export interface ReceiverStart {
  /** Discriminant. */
  type: "start";
  /** The bound socket to read (owned by the main thread). */
  fd: number;
  /** Datagrams per `recvmmsg` call (1-1024). */
  batchSize: number;
  /** Batches in flight before the Worker pauses. */
  maxInFlight: number;
  /** {@link CONTROL} words. */
  control: SharedArrayBuffer;
}

/**
 * What the Worker posts to the main thread.
 *
 * @example Tell the kinds apart
 * ```ts
 * import type { ReceiverMessage } from "./ffi_receiver_worker.ts";
 * function kind(message: ReceiverMessage): string {
 *   return message.type === "batch" ? `${message.count} datagrams` : message.type;
 * }
 * console.assert(kind({ type: "stopped" }) === "stopped");
 * ```
 */
export type ReceiverMessage =
  | { type: "batch"; count: number; buffer: ArrayBuffer }
  | { type: "error"; errno: number; fatal: boolean; message?: string }
  | { type: "stopped" };

/** Largest UDP payload (IPv6, 65535 - 8); every slot holds a whole one. */
const SLOT_SIZE = 65536;
/** How long one blocked `recvmmsg` may wait before it checks `STOP`. */
const RECEIVE_TIMEOUT_MS = 250;
/** Errors after which the descriptor cannot be read any more. */
const FATAL = new Set<number>([
  LINUX.EBADF,
  LINUX.ENOTSOCK,
  LINUX.EFAULT,
  LINUX.EINVAL,
]);

interface WorkerScope {
  onmessage: ((event: MessageEvent<ReceiverStart>) => void) | null;
  postMessage(message: ReceiverMessage, transfer?: Transferable[]): void;
  close(): void;
}

function receiveLoop(start: ReceiverStart, post: WorkerScope["postMessage"]) {
  const control = new Int32Array(start.control);
  const library = Deno.dlopen(LIBC_PATH, RECEIVER_SYMBOLS);
  try {
    const errno = new Deno.UnsafePointerView(
      library.symbols.__errno_location()!,
    );
    const batch = start.batchSize;
    const headers = 0;
    const iovecs = headers + batch * MMSG.MMSGHDR_SIZE;
    const names = iovecs + batch * MMSG.IOVEC_SIZE;
    const data = Math.ceil((names + batch * MMSG.SOCKADDR_SLOT) / 4096) * 4096;
    // One region for everything the kernel touches: large, so it is off
    // V8's heap, and referenced until the loop ends.
    const region = new ArrayBuffer(data + batch * SLOT_SIZE);
    const view = new DataView(region);
    const bytes = new Uint8Array(region);
    const pointer = Deno.UnsafePointer.of(region);
    const base = Deno.UnsafePointer.value(pointer);
    const address = (offset: number) => BigInt(base) + BigInt(offset);
    for (let i = 0; i < batch; i++) {
      const header = headers + i * MMSG.MMSGHDR_SIZE;
      const iovec = iovecs + i * MMSG.IOVEC_SIZE;
      const name = names + i * MMSG.SOCKADDR_SLOT;
      view.setBigUint64(header + MMSG.MSG_NAME, address(name), true);
      view.setUint32(header + MMSG.MSG_NAMELEN, MMSG.SOCKADDR_SLOT, true);
      view.setBigUint64(header + MMSG.MSG_IOV, address(iovec), true);
      view.setBigUint64(header + MMSG.MSG_IOVLEN, 1n, true);
      view.setBigUint64(iovec, address(data + i * SLOT_SIZE), true);
      view.setBigUint64(iovec + 8, BigInt(SLOT_SIZE), true);
    }
    let used = 0;
    while (Atomics.load(control, CONTROL.STOP) === 0) {
      const inFlight = Atomics.load(control, CONTROL.IN_FLIGHT);
      if (inFlight >= start.maxInFlight) {
        Atomics.wait(control, CONTROL.IN_FLIGHT, inFlight, RECEIVE_TIMEOUT_MS);
        continue;
      }
      for (let i = 0; i < used; i++) {
        const header = headers + i * MMSG.MMSGHDR_SIZE;
        view.setUint32(header + MMSG.MSG_NAMELEN, MMSG.SOCKADDR_SLOT, true);
        view.setInt32(header + MMSG.MSG_FLAGS, 0, true);
      }
      const count = library.symbols.recvmmsg(
        start.fd,
        pointer,
        batch,
        LINUX.MSG_WAITFORONE,
        null,
      );
      if (Atomics.load(control, CONTROL.STOP) !== 0) break;
      if (count < 0) {
        used = 0;
        const code = errno.getInt32();
        if (code === LINUX.EAGAIN || code === LINUX.EINTR) continue;
        const fatal = FATAL.has(code);
        post({ type: "error", errno: code, fatal });
        if (fatal) break;
        // A transient failure (ENOMEM, ENOBUFS): do not spin on it.
        Atomics.wait(control, CONTROL.STOP, 0, 10);
        continue;
      }
      used = count;
      let total = 0;
      for (let i = 0; i < count; i++) {
        const length = view.getUint32(
          i * MMSG.MMSGHDR_SIZE + MMSG.MSG_LEN,
          true,
        );
        total += Math.min(length, SLOT_SIZE);
      }
      const records = count * RECORD_SIZE;
      const out = new ArrayBuffer(records + total);
      const outView = new DataView(out);
      const outBytes = new Uint8Array(out);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const header = i * MMSG.MMSGHDR_SIZE;
        const length = Math.min(
          view.getUint32(header + MMSG.MSG_LEN, true),
          SLOT_SIZE,
        );
        const name = names + i * MMSG.SOCKADDR_SLOT;
        const record = i * RECORD_SIZE;
        const family = view.getUint16(name, true);
        outView.setUint32(record, offset, true);
        outView.setUint32(record + 4, length, true);
        outView.setUint16(record + 8, family, true);
        outView.setUint16(record + 10, view.getUint16(name + 2, false), true);
        outView.setUint32(
          record + 12,
          view.getInt32(header + MMSG.MSG_FLAGS, true),
          true,
        );
        if (family === LINUX.AF_INET6) {
          outView.setUint32(record + 16, view.getUint32(name + 24, true), true);
          outBytes.set(bytes.subarray(name + 8, name + 24), record + 20);
        } else {
          outBytes.set(bytes.subarray(name + 4, name + 8), record + 20);
        }
        const slot = data + i * SLOT_SIZE;
        outBytes.set(bytes.subarray(slot, slot + length), records + offset);
        offset += length;
      }
      Atomics.add(control, CONTROL.IN_FLIGHT, 1);
      post({ type: "batch", count, buffer: out }, [out]);
    }
    // Keep the region alive up to here, past the last recvmmsg.
    void bytes.byteLength;
  } finally {
    library.close();
  }
}

// Only when loaded as a Worker: the main thread imports this module for
// its protocol constants and types.
const workerScope =
  (globalThis as { WorkerGlobalScope?: abstract new () => unknown })
    .WorkerGlobalScope;
if (workerScope !== undefined && self instanceof workerScope) {
  const scope = self as unknown as WorkerScope;
  scope.onmessage = (event: MessageEvent<ReceiverStart>) => {
    scope.onmessage = null;
    try {
      receiveLoop(
        event.data,
        (message, transfer) => scope.postMessage(message, transfer ?? []),
      );
    } catch (error) {
      scope.postMessage({
        type: "error",
        errno: 0,
        fatal: true,
        message: error instanceof Error ? error.message : String(error),
      });
    } finally {
      scope.postMessage({ type: "stopped" });
    }
  };
}
