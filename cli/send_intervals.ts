/**
 * `send --report-every D`: the sender's interval lines, like iperf's `-i`.
 * Per responder, what one interval added: requests sent, replies, lost
 * requests (their wait ran out without its reply: `onLost`, with `--seq`),
 * the loss, and the round-trip times' p50, p99 and max in that interval
 * (a 2-digit histogram per responder, reset each interval). People get a
 * line per responder, the most lossy first, and past
 * {@linkcode MAX_LISTED} responders a count of the rest; `--json` gets an
 * `interval` event with every responder.
 *
 * @module
 */

import { formatEndpoint } from "../lib/address.ts";
import type { SendReply } from "../lib/sender/events.ts";
import { LatencyHistogram } from "../lib/stats/latency_histogram.ts";

/** Responders listed by name in a human interval; past it, the most lossy this many, then a count. */
export const MAX_LISTED = 20;
/** How many are named when there are more than {@linkcode MAX_LISTED}. */
export const TOP_LISTED = 10;

/** One responder's interval. */
export interface ResponderInterval {
  /** `address:port`. */
  responder: string;
  /** Requests sent in the interval (to the group: the same for every responder). */
  requests: number;
  /** Its replies in the interval, duplicates included. */
  replies: number;
  /** Requests whose wait ran out in the interval without its reply. */
  lost: number;
  /**
   * Percentage lost: with `--seq`, of the requests it answered or lost in
   * the interval; without, of the requests sent, those it did not answer.
   */
  lossPercent: number;
  /** Its answers' round trips in the interval, ms (null when none came). */
  rttMs: { p50: number; p99: number; max: number } | null;
}

/** One interval of a run. */
export interface SendInterval {
  /** Seconds since the run started, at the interval's start. */
  start: number;
  /** ... and at its end. */
  end: number;
  /** Requests sent in the interval. */
  requests: number;
  /** Replies in the interval, every responder. */
  replies: number;
  /** Requests lost in the interval, every responder. */
  lost: number;
  /** Every responder heard so far, the most lossy first. */
  perResponder: ResponderInterval[];
}

/** One responder's counts in the current interval. */
class Tally {
  replies = 0;
  answers = 0;
  lost = 0;
  readonly rtt = new LatencyHistogram({ significantDigits: 2 });
}

/**
 * Keeps one run's interval counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SendIntervals } from "./send_intervals.ts";
 * const intervals = new SendIntervals(true);
 * intervals.sent(10);
 * intervals.reply({ from: "10.0.0.1", port: 5000, rttMs: 0.5, seq: 1 });
 * intervals.lost("10.0.0.1", 5000);
 * const interval = intervals.take(1000);
 * assert.equal(interval.perResponder[0].lossPercent, 50);
 * ```
 */
export class SendIntervals {
  readonly #sequence: boolean;
  readonly #tallies = new Map<string, Tally>();
  /** The responder whose tally was asked for last, and its tally. */
  #last: { from: string; port: number; tally: Tally } | undefined;
  #sent = 0;
  #sentBefore = 0;
  #startMs = 0;

  /**
   * Counts for one run.
   *
   * @param sequence Whether the run numbers its requests (`--seq`).
   */
  constructor(sequence: boolean) {
    this.#sequence = sequence;
  }

  /**
   * The requests sent so far in the run (`onSent`).
   *
   * @param total Sent so far.
   */
  sent(total: number): void {
    this.#sent = total;
  }

  /**
   * One reply event.
   *
   * @param reply The reply (its address, port, round trip, number and duplicate mark).
   */
  reply(
    reply: Pick<SendReply, "from" | "port" | "rttMs" | "seq" | "duplicate">,
  ): void {
    const tally = this.#tallyOf(reply.from, reply.port);
    tally.replies++;
    if (reply.duplicate === true) return;
    if (this.#sequence && reply.seq === undefined) return;
    tally.answers++;
    tally.rtt.record(reply.rttMs);
  }

  /**
   * One request lost by one responder (`onLost`).
   *
   * @param from Its address.
   * @param port Its port.
   */
  lost(from: string, port: number): void {
    this.#tallyOf(from, port).lost++;
  }

  /**
   * Ends the interval at `endMs` (ms since the run started) and starts the next.
   *
   * @param endMs Now, in ms since the run started.
   * @returns What the interval added.
   */
  take(endMs: number): SendInterval {
    const requests = this.#sent - this.#sentBefore;
    const perResponder: ResponderInterval[] = [];
    let replies = 0;
    let lost = 0;
    for (const [responder, tally] of this.#tallies) {
      perResponder.push(this.#figures(responder, tally, requests));
      replies += tally.replies;
      lost += tally.lost;
      tally.replies = tally.answers = tally.lost = 0;
      tally.rtt.reset();
    }
    perResponder.sort((a, b) => b.lossPercent - a.lossPercent);
    const interval = {
      start: round(this.#startMs / 1000, 1),
      end: round(endMs / 1000, 1),
      requests,
      replies,
      lost,
      perResponder,
    };
    this.#sentBefore = this.#sent;
    this.#startMs = endMs;
    return interval;
  }

  #figures(
    responder: string,
    tally: Tally,
    requests: number,
  ): ResponderInterval {
    // With --seq, loss is told (onLost); without, what was not answered.
    const lost = this.#sequence
      ? tally.lost
      : Math.max(0, requests - tally.answers);
    const asked = this.#sequence ? tally.lost + tally.answers : requests;
    const [p50, p99] = tally.rtt.percentiles([0.5, 0.99]);
    return {
      responder,
      requests,
      replies: tally.replies,
      lost,
      lossPercent: asked === 0 ? 0 : round((lost / asked) * 100, 2),
      rttMs: tally.rtt.count === 0 ? null : {
        p50: round(p50, 3),
        p99: round(p99, 3),
        max: round(tally.rtt.max, 3),
      },
    };
  }

  /**
   * The tally of `from` port `port`: the last one asked for when it is the
   * same responder (most replies come from the one before), with no
   * endpoint text made and looked up per reply.
   */
  #tallyOf(from: string, port: number): Tally {
    const last = this.#last;
    if (last !== undefined && last.from === from && last.port === port) {
      return last.tally;
    }
    const responder = formatEndpoint(from, port);
    let tally = this.#tallies.get(responder);
    if (tally === undefined) {
      tally = new Tally();
      this.#tallies.set(responder, tally);
    }
    this.#last = { from, port, tally };
    return tally;
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A responder's interval as a line's tail. */
function responderText(row: ResponderInterval): string {
  const rtt = row.rttMs === null
    ? "no rtt"
    : `rtt p50 ${row.rttMs.p50} p99 ${row.rttMs.p99} max ${row.rttMs.max} ms`;
  return `${row.replies} replies, ${row.lost} lost (${row.lossPercent}%), ${rtt}`;
}

/**
 * The interval as people read it: a line with the totals, then a line per
 * responder, the most lossy first; past {@linkcode MAX_LISTED} responders,
 * the {@linkcode TOP_LISTED} most lossy and a line counting the rest.
 *
 * @param interval The interval.
 * @param prefix Put before each line (`[group] ` with several groups).
 * @returns The lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intervalLines } from "./send_intervals.ts";
 * const lines = intervalLines({
 *   start: 0, end: 1, requests: 10, replies: 9, lost: 1,
 *   perResponder: [{ responder: "10.0.0.1:5000", requests: 10, replies: 9, lost: 1,
 *     lossPercent: 10, rttMs: { p50: 0.2, p99: 0.9, max: 1.1 } }],
 * });
 * assert.equal(lines[1], "[  0.0-  1.0 s]   10.0.0.1:5000  9 replies, 1 lost (10%), rtt p50 0.2 p99 0.9 max 1.1 ms");
 * ```
 */
export function intervalLines(
  interval: SendInterval,
  prefix = "",
): string[] {
  const time = (seconds: number) => seconds.toFixed(1).padStart(5);
  const at = `${prefix}[${time(interval.start)}-${time(interval.end)} s]`;
  const seconds = Math.max(interval.end - interval.start, 0.001);
  const rows = interval.perResponder;
  const lines = [
    `${at} ${interval.requests} requests (${
      Math.round(interval.requests / seconds)
    }/s), ${interval.replies} replies from ${rows.length} ${
      rows.length === 1 ? "responder" : "responders"
    }, ${interval.lost} lost`,
  ];
  const listed = rows.length > MAX_LISTED ? rows.slice(0, TOP_LISTED) : rows;
  const width = Math.max(0, ...listed.map((row) => row.responder.length));
  for (const row of listed) {
    lines.push(`${at}   ${row.responder.padEnd(width)}  ${responderText(row)}`);
  }
  const rest = rows.slice(listed.length);
  if (rest.length > 0) {
    const replies = rest.reduce((sum, row) => sum + row.replies, 0);
    const lost = rest.reduce((sum, row) => sum + row.lost, 0);
    const worst = rest[0].lossPercent;
    lines.push(
      `${at}   ... and ${rest.length} more responders: ${replies} replies, ${lost} lost (each ${worst}% or less)`,
    );
  }
  return lines;
}

/**
 * The interval as an NDJSON event: `{"event":"interval",...}` with every
 * responder.
 *
 * @param interval The interval.
 * @returns The event.
 */
export function intervalEvent(
  interval: SendInterval,
): Record<string, unknown> {
  return { event: "interval", ...interval };
}
