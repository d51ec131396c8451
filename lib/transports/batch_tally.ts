/**
 * What became of a batch of sends (`Transport.sendBatch`): how many
 * datagrams left, and how many did not, by errno, with the first error of
 * each errno; a batch with failures ends in one `SendBatchError`, so the
 * caller learns every datagram's fate from one rejection.
 *
 * @module
 */

import { SendBatchError, SocketError } from "../errors.ts";
import { errnoOf } from "./socket_failure.ts";

/**
 * The errno a failed send is counted under: the `SocketError`'s, else the
 * one its cause names, else `UNKNOWN`.
 *
 * @param error What the send rejected with.
 * @returns An errno name, such as `EPERM`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketError } from "../errors.ts";
 * import { sendErrno } from "./batch_tally.ts";
 * assert.equal(sendErrno(new SocketError("refused", { errno: "EPERM" })), "EPERM");
 * assert.equal(sendErrno(new Error("odd")), "UNKNOWN");
 * ```
 */
export function sendErrno(error: unknown): string {
  if (error instanceof SocketError && error.errno !== undefined) {
    return error.errno;
  }
  return errnoOf(error) ??
    (error instanceof Error ? errnoOf(error.cause) : undefined) ?? "UNKNOWN";
}

/**
 * Counts one batch's sends.
 *
 * @example Two left, one was refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { SendBatchError, SocketError } from "../errors.ts";
 * import { BatchTally } from "./batch_tally.ts";
 * const tally = new BatchTally();
 * tally.sent += 2;
 * tally.failed(new SocketError("Cannot send ...", { errno: "EPERM" }));
 * const error = await tally.result().catch((e) => e);
 * assert.ok(error instanceof SendBatchError);
 * assert.deepEqual([error.sent, error.failed], [2, { EPERM: 1 }]);
 * ```
 */
export class BatchTally {
  /** Datagrams that left. */
  sent = 0;
  readonly #failed: Record<string, number> = {};
  readonly #errors: SocketError[] = [];

  /**
   * Counts a datagram that did not leave.
   *
   * @param error Why (a `SocketError`, or what the OS call threw).
   */
  failed(error: unknown): void {
    const errno = sendErrno(error);
    this.refused(
      errno,
      () =>
        error instanceof SocketError ? error : new SocketError(
          error instanceof Error ? error.message : String(error),
          { cause: error, errno },
        ),
    );
  }

  /**
   * Counts a datagram the OS refused with `errno`; `error` makes its
   * error, called only for the first of that errno (a sentence may list
   * the interfaces, too slow to build for each of a flood of refusals).
   *
   * @param errno The errno name.
   * @param error Makes the error.
   */
  refused(errno: string, error: () => SocketError): void {
    const seen = this.#failed[errno];
    this.#failed[errno] = (seen ?? 0) + 1;
    if (seen === undefined) this.#errors.push(error());
  }

  /** Resolves when every datagram left; else rejects with a `SendBatchError`. */
  result(): Promise<void> {
    if (this.#errors.length === 0) return Promise.resolve();
    return Promise.reject(
      new SendBatchError(this.sent, { ...this.#failed }, this.#errors),
    );
  }
}
