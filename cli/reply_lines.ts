/**
 * `send`'s line per reply, without drowning a person in them: while
 * replies come at a readable rate (at most
 * {@linkcode READABLE_LINES_PER_SECOND} a second) each gets its line; when
 * more come, `send` says so and prints a line a second instead (sent and
 * replies in that second, like `listen`'s interval lines), and goes back
 * to a line per reply after a second with that many or fewer. Every reply
 * is still counted in the summary; `--json` prints every one. The line a
 * second says the loss (with `--seq`) and the round trips' p50, p99 and
 * max in that second, not only counts.
 *
 * @module
 */

import { LatencyHistogram } from "../lib/stats/latency_histogram.ts";
import { READABLE_LINES_PER_SECOND, ReadableRate } from "./readable_rate.ts";

/** What the interval lines count. */
export interface ReplyCounts {
  /** Requests sent so far, every group together. */
  sent: number;
  /** Replies so far, every group together. */
  replies: number;
  /** With `--seq`: requests lost so far (their wait ran out), every group together. */
  lost?: number;
}

/** The interval of the lines printed instead of a line per reply. */
const FLOOD_INTERVAL_MS = 1000;

/**
 * One interval:
 * `[  2.0-  3.0 s] 1000 sent (1000/s), 990 replies (990/s), 10 lost (1%), rtt p50 0.12 p99 0.9 max 2.1 ms`.
 */
function intervalLine(
  startMs: number,
  endMs: number,
  counts: { before: ReplyCounts; after: ReplyCounts },
  rtt: LatencyHistogram,
): string {
  const { before, after } = counts;
  const seconds = Math.max(endMs - startMs, 1) / 1000;
  const sent = after.sent - before.sent;
  const replies = after.replies - before.replies;
  const at = (ms: number) => (ms / 1000).toFixed(1).padStart(5);
  const parts = [
    `${sent} sent (${Math.round(sent / seconds)}/s)`,
    `${replies} replies (${Math.round(replies / seconds)}/s)`,
  ];
  if (after.lost !== undefined) {
    const lost = after.lost - (before.lost ?? 0);
    const asked = lost + rtt.count;
    const percent = asked === 0 ? 0 : Math.round((lost / asked) * 10000) / 100;
    parts.push(`${lost} lost (${percent}%)`);
  }
  if (rtt.count > 0) {
    const [p50, p99] = rtt.percentiles([0.5, 0.99]).map(ms3);
    parts.push(`rtt p50 ${p50} p99 ${p99} max ${ms3(rtt.max)} ms`);
  }
  return `[${at(startMs)}-${at(endMs)} s] ${parts.join(", ")}`;
}

/** Milliseconds to the microsecond. */
function ms3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * The gate in front of `send`'s reply lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReplyLines } from "./reply_lines.ts";
 * const printed: string[] = [];
 * const counts = { sent: 0, replies: 0, lost: 0 };
 * const lines = new ReplyLines((line) => printed.push(line), () => counts);
 * for (let i = 0; i < 30; i++) lines.reply(`reply ${i}`);
 * lines.stop();
 * assert.equal(printed.length, 21); // 20 replies, then the notice
 * assert.match(printed[20], /^more than 20 replies a second/);
 * ```
 */
export class ReplyLines {
  readonly #print: (line: string) => void;
  readonly #counts: () => Readonly<ReplyCounts>;
  readonly #startedAt = performance.now();
  readonly #rate = new ReadableRate();
  /** The answers' round trips in the current interval line's second. */
  readonly #rtt = new LatencyHistogram({ significantDigits: 2 });
  #timer: ReturnType<typeof setInterval> | undefined;
  #before: ReplyCounts = { sent: 0, replies: 0 };
  #beforeAt = 0;

  /**
   * Lines go to `print`; the interval lines read `counts`.
   *
   * @param print Prints one line.
   * @param counts The run's counts so far.
   */
  constructor(
    print: (line: string) => void,
    counts: () => Readonly<ReplyCounts>,
  ) {
    this.#print = print;
    this.#counts = counts;
  }

  /**
   * A reply's line: printed now, or left to the interval lines.
   *
   * @param line The line.
   * @param rttMs Its round trip, for the interval lines (none for a
   *   duplicate, or a reply that answers no request).
   */
  reply(line: string, rttMs?: number): void {
    if (rttMs !== undefined) this.#rtt.record(rttMs);
    const verdict = this.#rate.admit(performance.now());
    if (verdict === "print") return this.#print(line);
    if (verdict === "skip") return;
    this.#print(
      `more than ${READABLE_LINES_PER_SECOND} replies a second: a line a second from now on instead of a line per reply (--json prints every reply, -q only the summary)`,
    );
    this.#before = { ...this.#counts() };
    this.#beforeAt = performance.now() - this.#startedAt;
    this.#rtt.reset();
    this.#timer ??= setInterval(() => this.#tick(), FLOOD_INTERVAL_MS);
  }

  /** Stops the interval lines; idempotent. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const at = performance.now() - this.#startedAt;
    const after = { ...this.#counts() };
    this.#print(
      intervalLine(
        this.#beforeAt,
        at,
        { before: this.#before, after },
        this.#rtt,
      ),
    );
    this.#rtt.reset();
    const seconds = Math.max(at - this.#beforeAt, 1) / 1000;
    const perSecond = (after.replies - this.#before.replies) / seconds;
    this.#before = after;
    this.#beforeAt = at;
    if (this.#rate.settle(perSecond)) {
      this.stop();
      this.#print(
        `${READABLE_LINES_PER_SECOND} replies a second or fewer again: back to a line per reply`,
      );
    }
  }
}
