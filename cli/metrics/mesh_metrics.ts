/**
 * The page `mesh --metrics` serves: the matrix as of the latest interval
 * event, which `mesh()` builds once an interval anyway (every pair's loss
 * and round trips, multicast beside unicast), read at scrape time. At most
 * {@linkcode MAX_PAIRS_EXPORTED} pairs get series (a 50-node mesh), the
 * others are counted in `mcast_mesh_pairs_left_out`, so the label set
 * stays bounded.
 *
 * @module
 */

import type { MeshIntervalEvent, MeshPair } from "../../lib/mesh/events.ts";
import { Exposition, type Sample } from "./exposition.ts";
import { writeProcessMetrics } from "./process_metrics.ts";

/** Ordered pairs with series of their own (a 50-node mesh has 2,450). */
export const MAX_PAIRS_EXPORTED = 2500;

/** What the page reads: the mesh's latest interval event, once one came. */
export interface MeshMetricsSource {
  /** This node's address (`""` for a watcher). */
  self: string;
  /** The latest interval event. */
  latest?: MeshIntervalEvent;
}

const KINDS = [
  ["multicast", "multicastLossPercent", "multicastRttMs"],
  ["unicast", "unicastLossPercent", "unicastRttMs"],
] as const;

/** One sample per pair and kind that has a figure. */
function perKind(
  pairs: readonly MeshPair[],
  value: (pair: MeshPair, kind: typeof KINDS[number]) => number | undefined,
): Sample[] {
  return pairs.flatMap((pair) =>
    KINDS.flatMap((kind) => {
      const figure = value(pair, kind);
      return figure === undefined ? [] : [{
        labels: { from: pair.from, to: pair.to, kind: kind[0] },
        value: figure,
      }];
    })
  );
}

/**
 * Builds the page from the latest interval event; before the first one,
 * only the process metrics and zeros.
 *
 * @param source This node and the mesh's latest interval event.
 * @returns The page in Prometheus's text format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meshPage } from "./mesh_metrics.ts";
 * const page = meshPage({ self: "10.77.1.1" });
 * assert.match(page, /^mcast_mesh_hosts 0$/m);
 * ```
 */
export function meshPage(source: MeshMetricsSource): string {
  const all = source.latest?.pairs ?? [];
  const pairs = all.slice(0, MAX_PAIRS_EXPORTED);
  const page = new Exposition();
  page.gauge(
    "mcast_mesh_loss_ratio",
    "Probes of `from` that `to` did not hear (0-1), counted from the first heard, by kind (multicast, unicast).",
    perKind(pairs, (pair, [, loss]) => {
      const percent = pair[loss];
      return percent === null ? undefined : percent / 100;
    }),
  );
  for (const [name, quantile] of [["p50", 0.5], ["p99", 0.99]] as const) {
    page.gauge(
      `mcast_mesh_rtt_${name}_seconds`,
      `The ${quantile} quantile of the round trips of from's probes answered by to, seconds, by kind.`,
      perKind(pairs, (pair, [, , rtt]) => {
        const figures = pair[rtt];
        return figures === null ? undefined : figures[name] / 1000;
      }),
    );
  }
  page.gauge(
    "mcast_mesh_pair_ok",
    "1 when the pair's multicast loss is within --max-loss, 0 otherwise (its state: ok, lossy, multicast-fails, both-fail, unicast-fails, gone, unheard).",
    pairs.map((pair) => ({
      labels: { from: pair.from, to: pair.to, state: pair.state },
      value: pair.state === "ok" || pair.state === "unicast-fails" ? 1 : 0,
    })),
  );
  page.gauge(
    "mcast_mesh_hosts",
    "Nodes in the matrix, this one included.",
    source.latest?.hosts.length ?? 0,
  );
  page.gauge(
    "mcast_mesh_pairs_left_out",
    `Pairs past the first ${MAX_PAIRS_EXPORTED}, without series.`,
    all.length - pairs.length,
  );
  page.counter(
    "mcast_mesh_probes_sent_total",
    "Multicast probes this node has sent.",
    source.latest?.probesSent ?? 0,
  );
  page.gauge("mcast_mesh_info", "This node's address.", [
    { labels: { self: source.self }, value: 1 },
  ]);
  writeProcessMetrics(page, "mesh");
  return page.text();
}
