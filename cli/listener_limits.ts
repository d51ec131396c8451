/**
 * Which of a listener's rate limits could explain a run's loss. A listener
 * answers one source at most 10 times a second by default (a burst of 20)
 * and 1,000 times a second in all: `send --seq --rate 1000` against a
 * default listener loses 98% of its requests, and only the listener's
 * summary says why (rate-limited). When a responder answered no more
 * than a limit allows at the rate the requests left (and not far fewer:
 * then something stricter stopped them), and fewer than were sent, `send`
 * names that limit and the listener's flag that raises it.
 *
 * @module
 */

import { RateLimiter } from "../lib/safety/rate_limiter.ts";
import type { ResponderSummary } from "../lib/sender/round_trip_stats.ts";
import { formatEndpoint } from "../lib/address.ts";

/** A listener's defaults: 10/s per source (burst 20), 1,000/s in all (burst 2,000). */
const DEFAULTS = new RateLimiter().limits;

/** Room for timing: a bucket refills while the last replies are on their way. */
const SLACK = 1.1;

/** What a run did, as the hint needs it. */
export interface RunPace {
  /** Requests that left. */
  sent: number;
  /** Seconds from the first request to the end of the run (its last reply counted). */
  seconds: number;
  /** Requests a second while they were sent. */
  rate: number;
  /** The summary's rows. */
  rows: readonly Row[];
}

/** What the hint reads of a summary's row. */
type Row = Pick<
  ResponderSummary,
  "from" | "port" | "replies" | "lossPercent" | "duplicates" | "unmatched"
>;

/** Replies a token bucket lets through in `seconds`: its burst, then its rate. */
function allowance(rate: number, burst: number, seconds: number): number {
  return (burst + rate * seconds) * SLACK + 1;
}

/**
 * The hint, or `undefined` when no default limit explains the loss.
 *
 * @param pace What the run sent, how fast, and who answered what.
 * @returns One line naming the limits and the listener's flags.
 *
 * @example 500 requests at 1,000 a second, 25 answered
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenerLimitsHint } from "./listener_limits.ts";
 * const row = { from: "10.0.0.2", port: 10000, replies: 25, lossPercent: 95, duplicates: 0 };
 * const hint = listenerLimitsHint({ sent: 500, seconds: 1, rate: 1000, rows: [row] });
 * assert.match(hint!, /10 replies a second to each source \(a burst of 20; listen --rate-limit R/);
 * assert.equal(listenerLimitsHint({ sent: 5, seconds: 4, rate: 1, rows: [{ ...row, replies: 4, lossPercent: 20 }] }), undefined);
 * ```
 */
export function listenerLimitsHint(pace: RunPace): string | undefined {
  const { sent, seconds, rate, rows } = pace;
  if (sent === 0) return undefined;
  const limited = (limit: number, burst: number) =>
    rate > limit && rows.some((row) => fits(row, limit, burst));
  const perSource = limited(DEFAULTS.perSource, DEFAULTS.perSourceBurst);
  const global = limited(DEFAULTS.global, DEFAULTS.globalBurst);
  if (!perSource && !global) return undefined;
  const limits = [
    ...(perSource
      ? [
        `${DEFAULTS.perSource} replies a second to each source (a burst of ${DEFAULTS.perSourceBurst}; listen --rate-limit R raises it, 0 turns it off)`,
      ]
      : []),
    ...(global
      ? [
        `${DEFAULTS.global} replies a second in all (a burst of ${DEFAULTS.globalBurst}; listen --global-rate R)`,
      ]
      : []),
  ];
  const answered = rows.filter((row) => row.lossPercent > 0).map((row) =>
    `${formatEndpoint(row.from, row.port)} answered ${answers(row)} of ${sent}`
  );
  return `hint: ${answered.join(", ")} at ${
    Math.round(rate)
  } requests a second: no more than a listener's default limit allows, ${
    limits.join(" and ")
  }; its summary counts the rest as rate-limited`;

  // A limit explains a responder's loss when more was sent than it lets
  // through and the responder answered about that: no more, and not far
  // less (then a stricter cause stopped them).
  function fits(row: Row, limit: number, burst: number) {
    const allowed = allowance(limit, burst, seconds);
    const answered = answers(row);
    return row.lossPercent > 0 && sent > allowed && answered <= allowed &&
      answered >= allowed / SLACK / 2;
  }
}

/** Requests a row's responder answered (each once). */
function answers(row: Row): number {
  return row.replies - row.duplicates - (row.unmatched ?? 0);
}
