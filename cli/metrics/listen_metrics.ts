/**
 * The page `listen --metrics` serves: the listener's live counters
 * (`ListenerStats`, kept for the summary anyway) read at scrape time, so a
 * datagram costs nothing more with metrics on.
 *
 * @module
 */

import type { ListenerStats } from "../../lib/plugin.ts";
import { Exposition, type Sample } from "./exposition.ts";
import { writeProcessMetrics } from "./process_metrics.ts";

/** Each drop counter of `ListenerStats` and its `reason` label. */
const DROP_REASONS: readonly [keyof ListenerStats, string][] = [
  ["refused", "refused"],
  ["rateLimited", "rate_limited"],
  ["oversize", "oversize"],
  ["unsigned", "unsigned"],
  ["badSignature", "bad_signature"],
  ["stale", "stale"],
  ["replayed", "replayed"],
  ["decodeErrors", "undecodable"],
  ["pluginErrors", "plugin_error"],
  ["sendErrors", "send_error"],
  ["kernelDrops", "kernel"],
];

/** What the page reads: the listener and what it was started with. */
export interface ListenMetricsSource {
  /** The live counters, summed over the groups. */
  stats: Readonly<ListenerStats>;
  /** The groups joined. */
  groups: readonly string[];
  /** With several groups: each one's live counters. */
  perGroup?: Readonly<Record<string, { received: number; replied: number }>>;
  /**
   * How long after the join the first datagram arrived, ms, read at
   * scrape time (`Listener.firstDatagramAfterMs`; undefined until one did).
   */
  firstDatagramAfterMs?: () => number | undefined;
  /** The port, responder, codec and transport, for `mcast_listen_info`. */
  info: { port: number; plugin: string; codec: string; transport: string };
}

/**
 * Builds the page from the listener's counters as they are now; before
 * the listener is up (`source` undefined) only the process metrics.
 *
 * @param source The running listener, once it runs.
 * @returns The page in Prometheus's text format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newListenerStats } from "../../lib/plugin.ts";
 * import { listenPage } from "./listen_metrics.ts";
 * const stats = { ...newListenerStats(), received: 5, replied: 4, refused: 1 };
 * const page = listenPage({
 *   stats,
 *   groups: ["239.1.2.3"],
 *   info: { port: 10000, plugin: "ack", codec: "text", transport: "ffi" },
 * });
 * assert.match(page, /^mcast_listen_datagrams_total\{group="239.1.2.3"\} 5$/m);
 * assert.match(page, /^mcast_listen_dropped_total\{reason="refused"\} 1$/m);
 * ```
 */
export function listenPage(source: ListenMetricsSource | undefined): string {
  const page = new Exposition();
  if (source !== undefined) writeListener(page, source);
  writeProcessMetrics(page, "listen");
  return page.text();
}

function writeListener(page: Exposition, source: ListenMetricsSource): void {
  const { stats, groups, perGroup, info } = source;
  const byGroup = (key: "received" | "replied"): Sample[] =>
    groups.map((group) => ({
      labels: { group },
      value: perGroup?.[group]?.[key] ?? stats[key],
    }));
  page.counter(
    "mcast_listen_datagrams_total",
    "Datagrams received, per group joined.",
    byGroup("received"),
  );
  page.counter(
    "mcast_listen_replies_total",
    "Replies sent, per group the request came to.",
    byGroup("replied"),
  );
  page.counter(
    "mcast_listen_unanswered_total",
    "Datagrams the responder chose not to answer.",
    stats.unanswered,
  );
  page.counter(
    "mcast_listen_dropped_total",
    "Datagrams not answered, or replies not sent, by reason (kernel: never read, the receive buffer was full).",
    DROP_REASONS.flatMap(([key, reason]) => {
      const value = stats[key];
      return value === undefined ? [] : [{ labels: { reason }, value }];
    }),
  );
  page.gauge(
    "mcast_listen_pending_replies",
    "Datagrams still being answered (an asynchronous responder, a jitter delay, a send under way).",
    stats.pending,
  );
  const joined = source.firstDatagramAfterMs?.();
  page.gauge(
    "mcast_listen_first_datagram_seconds",
    "How long after the join the first datagram arrived, seconds (no sample until one did).",
    joined === undefined ? [] : [{ value: joined / 1000 }],
  );
  page.gauge("mcast_listen_info", "What this listener runs.", [{
    labels: {
      port: String(info.port),
      plugin: info.plugin,
      codec: info.codec,
      transport: info.transport,
    },
    value: 1,
  }]);
}
