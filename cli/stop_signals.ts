/**
 * How `mcast send|listen` stops on a signal, and how the launcher's child
 * stops when the launcher is gone.
 *
 * `deno task listen` runs three processes in one process group: `deno
 * task`, the launcher (`cli/launch.ts`) and the child (`cli.ts`). `deno
 * task` passes every signal it gets on to the launcher, and the launcher
 * passes SIGINT, SIGTERM and SIGHUP on to the child. A signal sent to the
 * whole group (Ctrl-C on a terminal, GNU `timeout`, systemd's
 * `KillMode=control-group`) therefore reaches the child more than once:
 * from the group, and again through the launcher. Copies that arrive
 * within {@linkcode REPEAT_WINDOW_MS} of the delivery they repeat count as
 * that delivery; a stop signal later than that is a deliberate second one.
 *
 * @module
 */

/** The signals that stop a command the way Ctrl-C does. */
export const STOP_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"] // all that Deno can listen for there (with SIGBREAK)
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Stop signals within this many milliseconds of the last one taken count
 * as copies of it (the group's delivery and the launcher's).
 */
export const REPEAT_WINDOW_MS = 250;

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGTERM: 15,
};

/**
 * The exit status of a process that a signal ends at once: 128 + its
 * number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), as shells
 * report it.
 */
export function signalExitStatus(signal: Deno.Signal): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 0);
}

/**
 * Tells a new delivery of a stop signal from a copy of the one before.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SignalRepeats } from "./stop_signals.ts";
 * let now = 0;
 * const repeats = new SignalRepeats(250, () => now);
 * assert.equal(repeats.isNew(), true); // the first: stop
 * now = 5;
 * assert.equal(repeats.isNew(), false); // the same signal, through the launcher
 * now = 800;
 * assert.equal(repeats.isNew(), true); // a second Ctrl-C
 * ```
 */
export class SignalRepeats {
  #last = -Infinity;
  readonly #windowMs: number;
  readonly #now: () => number;

  /**
   * @param windowMs How close a copy follows the delivery it repeats.
   * @param now The clock, in milliseconds.
   */
  constructor(
    windowMs: number = REPEAT_WINDOW_MS,
    now: () => number = () => performance.now(),
  ) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Whether a signal arriving now is a new delivery, not a copy of the last one taken. */
  isNew(): boolean {
    const now = this.#now();
    if (now - this.#last < this.#windowMs) return false;
    this.#last = now;
    return true;
  }
}

/**
 * The argument the launcher puts before the command (`cli.ts
 * --launcher-pid=PID listen ...`): the child then stops when its parent is
 * no longer that process (the launcher was killed, even with SIGKILL, and
 * the child was handed to another parent).
 */
export const LAUNCHER_PID_ARG = "--launcher-pid=";

/**
 * Calls `onGone` once when this process's parent is no longer `parentPid`.
 * Checks every `intervalMs`; the timer does not keep the process alive.
 *
 * @returns A function that stops watching.
 */
export function watchParent(
  parentPid: number,
  onGone: () => void,
  intervalMs = 100,
): () => void {
  let gone = false;
  const check = () => {
    if (gone || Deno.ppid === parentPid) return;
    gone = true;
    clearInterval(timer);
    onGone();
  };
  const timer = setInterval(check, intervalMs);
  Deno.unrefTimer(timer);
  check();
  return () => clearInterval(timer);
}
