/**
 * Sends that wait for room in a full socket send buffer. The FFI
 * transport sends without blocking (`sendto` with `MSG_DONTWAIT`); when
 * the kernel answers `EAGAIN` the datagram is copied into this queue and
 * retried in order on a timer (1 ms, doubling up to 50 ms) for up to 2 s.
 * While anything waits here, new sends queue behind it, so datagrams
 * leave in the order they were sent.
 *
 * @module
 */

import { SocketError } from "../../errors.ts";
import { ErrnoError, type Libc, LINUX, type RawSocketAddress } from "./libc.ts";
import { explainSocketFailure, type FailedCall } from "../socket_failure.ts";

/** How long a send may wait for room in a full send buffer. */
const SEND_RETRY_MS = 2000;

/** A datagram waiting for room, and the promise its `send` returned. */
interface PendingSend {
  data: Uint8Array;
  to: RawSocketAddress;
  description: string;
  call: FailedCall | undefined;
  since: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The queue of one socket's waiting sends.
 *
 * @example
 * ```ts ignore
 * import { FfiSendQueue, isRetryable } from "./send_queue.ts";
 * const queue = new FfiSendQueue(libc, fd);
 * try {
 *   if (queue.idle) libc.sendTo(fd, data, to);
 * } catch (error) {
 *   if (isRetryable(error)) await queue.enqueue(data, to, "3 bytes to 239.1.2.3:5000");
 * }
 * queue.close();
 * ```
 */
export class FfiSendQueue {
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #pending: PendingSend[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryDelay = 1;

  /** A queue that sends through `libc` on socket `fd`. */
  constructor(libc: Libc, fd: number) {
    this.#libc = libc;
    this.#fd = fd;
  }

  /** True when no send waits: a new one may go to the kernel at once. */
  get idle(): boolean {
    return this.#pending.length === 0;
  }

  /**
   * Queues a copy of `data` for `to`; resolves once the kernel takes it.
   * Rejects with `SocketError` (message `Cannot send ${description}: …`,
   * or the sentence for `call`'s errno, see {@linkcode sendError}) when
   * sending fails or the buffer stays full for 2 s.
   */
  enqueue(
    data: Uint8Array,
    to: RawSocketAddress,
    description: string,
    call?: FailedCall,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({
        data: data.slice(),
        to,
        description,
        call,
        since: Date.now(),
        resolve,
        reject,
      });
      this.#scheduleRetry();
    });
  }

  /** Stops retrying and rejects every waiting send: the socket closed. */
  close(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const pending of this.#pending.splice(0)) {
      pending.reject(
        new SocketError(
          `Cannot send ${pending.description}: the socket was closed`,
        ),
      );
    }
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
          head.reject(sendError(head.description, error, head.call));
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
}

/**
 * Whether a failed send may succeed later: `EAGAIN`, the send buffer is
 * full.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrnoError, LINUX } from "./libc.ts";
 * import { isRetryable } from "./send_queue.ts";
 * assert.equal(isRetryable(new ErrnoError("sendto", LINUX.EAGAIN)), true);
 * assert.equal(isRetryable(new ErrnoError("sendto", LINUX.EMSGSIZE)), false);
 * ```
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof ErrnoError && error.errno === LINUX.EAGAIN;
}

/**
 * The error a failed send rejects with: a `SocketError` saying what was
 * sent (`description`) and why, caused by the `ErrnoError`; for an errno
 * a user can cause, the sentence `socket_failure.ts` has for `call`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrnoError } from "./libc.ts";
 * import { sendError } from "./send_queue.ts";
 * const unreachable = new ErrnoError("sendto", 101); // ENETUNREACH
 * const error = sendError("3 bytes to 239.1.2.3:5000", unreachable);
 * assert.equal(error.message, "Cannot send 3 bytes to 239.1.2.3:5000: ENETUNREACH");
 * assert.equal((error as { errno?: string }).errno, "ENETUNREACH");
 * ```
 */
export function sendError(
  description: string,
  error: unknown,
  call?: FailedCall,
): Error {
  if (error instanceof ErrnoError) {
    const explained = call && explainSocketFailure(call, error.code);
    return new SocketError(
      explained ?? `Cannot send ${description}: ${error.detail}`,
      { cause: error, errno: error.code },
    );
  }
  return error instanceof Error ? error : new SocketError(String(error));
}
