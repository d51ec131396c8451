/**
 * The page `send --metrics` serves: each group's live run
 * (`SendRunOptions.onStart`) read at scrape time: requests, and per
 * responder replies, losses, duplicates and the round-trip histogram the
 * run keeps for its summary, turned into Prometheus buckets then. A
 * datagram costs nothing more with metrics on. At most
 * {@linkcode MAX_RESPONDERS_TRACKED} responders per group get series of
 * their own; the others are summed under `responder="other"` and counted
 * in `mcast_send_responders_left_out`, so the label set stays bounded and
 * the sums stay right.
 *
 * @module
 */

import { formatEndpoint } from "../../lib/address.ts";
import type { LiveResponder, LiveRun } from "../../lib/sender/live_run.ts";
import { Exposition, type HistogramSeries } from "./exposition.ts";
import { writeProcessMetrics } from "./process_metrics.ts";

/** Responders per group with series of their own; the rest are `other`. */
export const MAX_RESPONDERS_TRACKED = 100;

/**
 * The round-trip histogram's bucket bounds, seconds: 1, 1.5, 2, 3, 5 and 7
 * a decade from 10 us to 10 s (37 bounds): `histogram_quantile` reads a
 * percentile within its bucket, at most half a step (~25%) off, fine
 * enough to see a path change; the exact percentiles are in the summary.
 */
export const RTT_BOUNDS_SECONDS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let exponent = -5; exponent <= 0; exponent++) {
    for (const mantissa of [1, 1.5, 2, 3, 5, 7]) {
      bounds.push(Number((mantissa * 10 ** exponent).toPrecision(2)));
    }
  }
  bounds.push(10);
  return bounds;
})();

const BOUNDS_MS = RTT_BOUNDS_SECONDS.map((bound) => bound * 1000);

/** One group's run, as the page reads it. */
export interface SendMetricsSource {
  /** The group. */
  group: string;
  /** Its run's live view, once it has started. */
  live?: LiveRun;
}

/** A responder's figures, or the sum of those left out. */
interface Row {
  responder: string;
  replies: number;
  lost: number;
  duplicates: number;
  /** Observations per bound (not cumulative), then above the last. */
  perBound: number[];
  count: number;
  sumSeconds: number;
}

function emptyRow(responder: string): Row {
  return {
    responder,
    replies: 0,
    lost: 0,
    duplicates: 0,
    perBound: new Array(BOUNDS_MS.length + 1).fill(0),
    count: 0,
    sumSeconds: 0,
  };
}

/**
 * Adds one responder's counters and histogram to `row`: each histogram
 * slot goes to the first bound at or above the slot's start (as
 * `LatencyHistogram.countAtOrBelow` counts: a slot is 0.1% wide).
 */
function addTo(row: Row, responder: LiveResponder): void {
  row.replies += responder.replies;
  row.lost += responder.lost;
  row.duplicates += responder.duplicates;
  const { rtt } = responder;
  if (rtt.count === 0) return;
  rtt.addCountsByBound(BOUNDS_MS, row.perBound);
  row.count += rtt.count;
  row.sumSeconds += rtt.mean * rtt.count / 1000;
}

/** A group's rows: the first tracked responders, then `other` if any were left out. */
function groupRows(live: LiveRun): { rows: Row[]; leftOut: number } {
  const rows: Row[] = [];
  let other: Row | undefined;
  let leftOut = 0;
  for (const responder of live.responders()) {
    let row: Row;
    if (rows.length < MAX_RESPONDERS_TRACKED) {
      row = emptyRow(formatEndpoint(responder.from, responder.port));
      rows.push(row);
    } else {
      row = other ??= emptyRow("other");
      leftOut++;
    }
    addTo(row, responder);
  }
  if (other !== undefined) rows.push(other);
  return { rows, leftOut };
}

/**
 * Builds the page from each group's run as it is now; a group whose run
 * has not started yet shows 0 requests.
 *
 * @param sources One entry per group.
 * @returns The page in Prometheus's text format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sendPage } from "./send_metrics.ts";
 * const page = sendPage([{ group: "239.1.2.3", live: { sent: 3, responders: () => [] } }]);
 * assert.match(page, /^mcast_send_requests_total\{group="239.1.2.3"\} 3$/m);
 * ```
 */
export function sendPage(sources: readonly SendMetricsSource[]): string {
  const groups = sources.map(({ group, live }) => ({
    group,
    sent: live?.sent ?? 0,
    ...(live === undefined ? { rows: [], leftOut: 0 } : groupRows(live)),
  }));
  const page = new Exposition();
  page.counter(
    "mcast_send_requests_total",
    "Requests that left, per group.",
    groups.map(({ group, sent }) => ({ labels: { group }, value: sent })),
  );
  const perResponder = (value: (row: Row) => number) =>
    groups.flatMap(({ group, rows }) =>
      rows.map((row) => ({
        labels: { group, responder: row.responder },
        value: value(row),
      }))
    );
  page.counter(
    "mcast_send_replies_total",
    'Replies received per responder (duplicates included); responder="other" sums those past the tracked ones.',
    perResponder((row) => row.replies),
  );
  page.counter(
    "mcast_send_lost_total",
    "With --seq: requests whose wait ran out without the responder's reply, from its first answer on.",
    perResponder((row) => row.lost),
  );
  page.counter(
    "mcast_send_duplicates_total",
    "Replies for a request the responder had answered already.",
    perResponder((row) => row.duplicates),
  );
  page.histogram(
    "mcast_send_rtt_seconds",
    "Round-trip time of each answer (the first reply to a request), seconds.",
    groups.flatMap(({ group, rows }) =>
      rows.map((row) => rttSeries(group, row))
    ),
  );
  page.gauge(
    "mcast_send_responders",
    "Responders heard so far, per group.",
    groups.map(({ group, rows, leftOut }) => ({
      labels: { group },
      value: rows.length - (leftOut > 0 ? 1 : 0) + leftOut,
    })),
  );
  page.gauge(
    "mcast_send_responders_left_out",
    `Responders past the first ${MAX_RESPONDERS_TRACKED} of a group, summed under responder="other".`,
    groups.map(({ group, leftOut }) => ({ labels: { group }, value: leftOut })),
  );
  writeProcessMetrics(page, "send");
  return page.text();
}

/** A row's histogram series, its buckets made cumulative. */
function rttSeries(group: string, row: Row): HistogramSeries {
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < RTT_BOUNDS_SECONDS.length; i++) {
    total += row.perBound[i];
    cumulative.push(total);
  }
  return {
    labels: { group, responder: row.responder },
    bounds: RTT_BOUNDS_SECONDS,
    cumulative,
    count: row.count,
    sum: Math.round(row.sumSeconds * 1e9) / 1e9,
  };
}
