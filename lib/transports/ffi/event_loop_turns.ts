/**
 * Turns of the event loop for code that holds the main thread between
 * them: the ffi transport's receive loop waiting on its own thread
 * (`receiver.ts`) and a sender waiting for replies there or sending a
 * burst (`Transport.turn`).
 *
 * A `setImmediate` turn takes ~6-8 us here, but while such turns keep
 * coming Deno's runtime (tokio's scheduler) looks at its I/O only now and
 * then (its event interval): signals, sockets read through Deno and
 * timers waited. Measured on this project's machine with a turn every
 * 10 ms: `send --expect 1` noticed SIGTERM ~250 ms late, and a
 * `node:dgram` listener in the same process got each request ~930 ms
 * late. A turn that waits on a blocking-pool thread (`Libc.ioTurn`)
 * makes the runtime wait in `epoll_wait`, where it looks at all of them,
 * but costs ~85-110 us: every 2 ms it slowed a burst of sends by 5-10%.
 * So most turns are `setImmediate` turns, and one at least every
 * {@linkcode IO_TURN_EVERY_MS} waits for I/O: signals within about that.
 *
 * @module
 */

import type { Libc } from "./libc.ts";

/** The longest time between two turns in which the runtime polls its I/O, ms. */
export const IO_TURN_EVERY_MS = 50;

/**
 * Gives the event loop turns: a quick one, or, when the last that polled
 * I/O is {@linkcode IO_TURN_EVERY_MS} old, one that polls it.
 *
 * @example
 * ```ts ignore
 * import { EventLoopTurns } from "./event_loop_turns.ts";
 * const turns = new EventLoopTurns(libc);
 * await turns.turn();
 * ```
 */
export class EventLoopTurns {
  readonly #libc: Libc;
  /** When the last turn that polled I/O ended (`performance.now`). */
  #ioTurnAt = performance.now();

  /**
   * Turns for the code of one socket.
   *
   * @param libc The C library the I/O turn calls into.
   */
  constructor(libc: Libc) {
    this.#libc = libc;
  }

  /**
   * One turn of the event loop; at least every
   * {@linkcode IO_TURN_EVERY_MS} one in which the runtime polls its I/O.
   *
   * @returns When the turn is over.
   */
  async turn(): Promise<void> {
    if (performance.now() - this.#ioTurnAt < IO_TURN_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      return;
    }
    await this.#libc.ioTurn();
    this.#ioTurnAt = performance.now();
  }
}
