/**
 * A mesh node's drops, said as they happen: for each reason a `drop`
 * event naming the latest sender and what happened, at most one per
 * reason a second with the count since the previous one (as a listener's
 * drop events), so a flood cannot flood the output. Counting is exact;
 * only the reporting is thinned.
 *
 * @module
 */

import type { MeshDropEvent } from "./events.ts";

/** Why a datagram was dropped (or an answer not sent). */
export type MeshDropReason = MeshDropEvent["reason"];

/** How long each reason stays quiet after an event. */
const QUIET_MS = 1000;

interface Pending {
  count: number;
  from: string;
  detail: string;
  lastAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Reports drops through `emit`, at most one event per reason a second.
 *
 * @example Three drops of one reason in a row: one event now, one later with the other two
 * ```ts
 * import assert from "node:assert/strict";
 * import { MeshDrops } from "./drops.ts";
 * const events: { count: number }[] = [];
 * const drops = new MeshDrops((event) => events.push(event));
 * for (let i = 0; i < 3; i++) drops.report("malformed", "10.77.1.9", "cut short");
 * assert.deepEqual(events.map((e) => e.count), [1]);
 * drops.stop(); // what waits is said at once
 * assert.deepEqual(events.map((e) => e.count), [1, 2]);
 * ```
 */
export class MeshDrops {
  readonly #emit: (event: MeshDropEvent) => void;
  readonly #pending = new Map<MeshDropReason, Pending>();
  #stopped = false;
  /** Every drop counted, by reason, since the start. */
  readonly totals: Partial<Record<MeshDropReason, number>> = {};

  /**
   * Creates the reporter.
   *
   * @param emit Receives each drop event.
   */
  constructor(emit: (event: MeshDropEvent) => void) {
    this.#emit = emit;
  }

  /**
   * Counts `count` drops of `reason`; says so now, or with the next event
   * of this reason once its second is over.
   *
   * @param reason Why.
   * @param from The sender (or the prober whose answer was dropped).
   * @param detail What happened, as a sentence.
   * @param count How many (default 1).
   */
  report(
    reason: MeshDropReason,
    from: string,
    detail: string,
    count = 1,
  ): void {
    if (this.#stopped) return;
    this.totals[reason] = (this.totals[reason] ?? 0) + count;
    let state = this.#pending.get(reason);
    if (state === undefined) {
      state = { count: 0, from, detail, lastAt: -Infinity, timer: undefined };
      this.#pending.set(reason, state);
    }
    state.count += count;
    state.from = from;
    state.detail = detail;
    this.#later(reason, state);
  }

  /** Says what still waits and stops the timers; later drops are not reported. */
  stop(): void {
    this.#stopped = true;
    for (const [reason, state] of this.#pending) this.#flush(reason, state);
  }

  #later(reason: MeshDropReason, state: Pending): void {
    const wait = state.lastAt + QUIET_MS - performance.now();
    if (wait <= 0) return this.#flush(reason, state);
    state.timer ??= setTimeout(() => {
      state.timer = undefined;
      this.#later(reason, state);
    }, Math.ceil(wait));
  }

  #flush(reason: MeshDropReason, state: Pending): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    if (state.count === 0) return;
    const { count, from, detail } = state;
    state.count = 0;
    state.lastAt = performance.now();
    this.#emit({
      event: "drop",
      time: new Date().toISOString(),
      from,
      reason,
      count,
      detail,
    });
  }
}
