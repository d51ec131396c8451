/**
 * A run's failed sends: a send the OS refuses after the first (a firewall
 * rule: `EPERM`; a full queue: `ENOBUFS`; no route: `ENETUNREACH`,
 * `EHOSTUNREACH`) is counted by errno and the run goes on, as ping and
 * iperf go on. Only a failure of the run's first send, or every send
 * failing for {@linkcode ALL_FAILING_MS}, ends it, with the error.
 *
 * @module
 */

import { SendBatchError, SocketError } from "../errors.ts";
import { sendErrno } from "../transports/batch_tally.ts";

/** How long every send may fail before the run ends, in milliseconds. */
export const ALL_FAILING_MS = 1000;

/**
 * Called when sends fail and the run goes on: the first error of the
 * failure (its message the errno's sentence, as a failed first send
 * would say it) and the failures so far, by errno.
 */
export type SendErrorHandler = (
  error: SocketError,
  counts: Readonly<Record<string, number>>,
) => void;

/**
 * Counts a run's failed sends and decides when they end it.
 *
 * @example One refused send among others, then a second of nothing but refusals
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketError } from "../errors.ts";
 * import { SendFailures } from "./send_failures.ts";
 * const failures = new SendFailures();
 * const refused = new SocketError("Cannot send ...: a firewall rule ...", { errno: "EPERM" });
 * failures.left(1);
 * failures.failed(refused, 1, 10);
 * assert.deepEqual(failures.counts, { EPERM: 1 });
 * failures.failed(refused, 1, 500);
 * assert.throws(() => failures.failed(refused, 1, 1010), /every send failed for 1 s/);
 * ```
 */
export class SendFailures {
  /** Sends that failed, by errno. */
  readonly counts: Record<string, number> = {};
  readonly #onError: SendErrorHandler | undefined;
  /** Whether any send of the run left. */
  #anyLeft = false;
  /** When the sends began to fail, every one of them since; else undefined. */
  #failingSince: number | undefined;

  /**
   * Failures are reported to `onError` as they come.
   *
   * @param onError Told of each failure the run goes on after.
   */
  constructor(onError?: SendErrorHandler) {
    this.#onError = onError;
  }

  /** How many sends failed. */
  get total(): number {
    let total = 0;
    for (const count of Object.values(this.counts)) total += count;
    return total;
  }

  /**
   * Notes that `count` sends left.
   *
   * @param count How many.
   */
  left(count: number): void {
    if (count === 0) return;
    this.#anyLeft = true;
    this.#failingSince = undefined;
  }

  /**
   * Counts the sends that failed with `error`: a `SendBatchError` counts
   * its failures by errno (and notes the datagrams of its batch that
   * left); any other `SocketError` counts `count` under its errno.
   *
   * @param error What the send rejected with.
   * @param count How many sends it stands for (a batch's size).
   * @param now When (performance.now()).
   * @throws {SocketError} `error` itself when nothing of the run had left
   *   yet; a `SocketError` naming it when every send failed for
   *   {@linkcode ALL_FAILING_MS}.
   */
  failed(error: SocketError, count: number, now: number): void {
    if (error instanceof SendBatchError) {
      this.left(error.sent);
      for (const [errno, failed] of Object.entries(error.failed)) {
        this.counts[errno] = (this.counts[errno] ?? 0) + failed;
      }
    } else {
      const errno = sendErrno(error);
      this.counts[errno] = (this.counts[errno] ?? 0) + count;
    }
    if (!this.#anyLeft) throw error;
    if (error instanceof SendBatchError && error.sent > 0) {
      this.#onError?.(error.errors[0], this.counts);
      return;
    }
    this.#failingSince ??= now;
    if (now - this.#failingSince >= ALL_FAILING_MS) {
      throw new SocketError(
        `${error.message}; every send failed for ${
          ALL_FAILING_MS / 1000
        } s, so the run stopped`,
        { cause: error, errno: error.errno },
      );
    }
    this.#onError?.(
      error instanceof SendBatchError ? error.errors[0] : error,
      this.counts,
    );
  }
}
