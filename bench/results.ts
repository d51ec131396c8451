/**
 * The shape of the bench's figures, as printed and as written to
 * `bench/results/latest.json`, and how repeated runs become one figure
 * (the median of each metric).
 *
 * @module
 */

import { median } from "./stats.ts";

/** The rows of the bench, in the order they are printed. */
export const ROWS = [
  {
    id: "one-way-64",
    title: "1. one-way receive, 64-byte datagrams",
    primary: "receivedPerSecond",
    higherIsBetter: true,
  },
  {
    id: "one-way-1400",
    title: "1. one-way receive, 1400-byte datagrams",
    primary: "receivedPerSecond",
    higherIsBetter: true,
  },
  {
    id: "request-reply",
    title: "2. request/reply ping-pong",
    primary: "roundTripsPerSecond",
    higherIsBetter: true,
  },
  {
    id: "request-reply-load",
    title:
      "2b. request/reply, send() load mode (open loop, paced, sequence-numbered)",
    primary: "roundTripsPerSecond",
    higherIsBetter: true,
  },
  {
    id: "request-reply-c",
    title: "2c. request/reply ping-pong, C client",
    primary: "roundTripsPerSecond",
    higherIsBetter: true,
  },
  {
    id: "request-reply-py",
    title:
      "2p. request/reply ping-pong, Python client (the origin example's sender in a loop)",
    primary: "roundTripsPerSecond",
    higherIsBetter: true,
  },
  {
    id: "ping-pong-listen",
    title:
      "2s. ping-pong, the listener: sockperf's client against sockperf's server and deno task listen (examples/sockperf_reflector.ts)",
    primary: "roundTripsPerSecond",
    higherIsBetter: true,
  },
  {
    id: "ping-pong-send",
    title:
      "2s. ping-pong, the sender: the C client and deno task send --seq --expect 1 against the C responder",
    primary: "roundTripsPerSecond",
    higherIsBetter: true,
  },
  {
    id: "ping-pong-mcast",
    title:
      "2s. ping-pong end to end: deno task send --seq --expect 1 against deno task listen, sockperf against its server",
    primary: "roundTripsPerSecond",
    higherIsBetter: true,
  },
  {
    id: "ping-pong-mcast-rtt",
    title:
      "2s. the same runs' median round trip as each reports it (send: the kernel's clock; sockperf: its own)",
    primary: "p50Ms",
    higherIsBetter: false,
  },
  {
    id: "fan-in-1",
    title: "3. fan-in, 1 listener",
    primary: "p50Ms",
    higherIsBetter: false,
  },
  {
    id: "fan-in-10",
    title: "3. fan-in, 10 listeners",
    primary: "p50Ms",
    higherIsBetter: false,
  },
  {
    id: "fan-in-50",
    title: "3. fan-in, 50 listeners",
    primary: "p50Ms",
    higherIsBetter: false,
  },
  {
    id: "memory",
    title: "4. listener RSS under a flood",
    primary: "peakRssMiB",
    higherIsBetter: false,
  },
  {
    id: "hot-path",
    title: "5. mcast's own cost per datagram, in-process (no sockets)",
    primary: "nsPerDatagram",
    higherIsBetter: false,
  },
  {
    id: "paced-50k",
    title: "6. 50k datagrams/s offered, 64 bytes, 10 s: loss and RSS",
    primary: "lossPercent",
    higherIsBetter: false,
  },
  {
    id: "cli-listen",
    title:
      "7. deno task listen --plugin silent under a 64-byte flood (received of the same flood)",
    primary: "received",
    higherIsBetter: true,
  },
  {
    id: "cli-listen-1400",
    title:
      "7. deno task listen --plugin silent under a 1400-byte flood (received of the same flood)",
    primary: "received",
    higherIsBetter: true,
  },
  {
    id: "send-rate-64",
    title:
      "8. send rate, 64-byte datagrams: deno task send -c N --interval 0 (offered/s, as the C receiver timed it)",
    primary: "offeredPerSecond",
    higherIsBetter: true,
  },
  {
    id: "send-rate-1400",
    title:
      "8. send rate, 1400-byte datagrams: deno task send -c N --interval 0 (offered/s, as the C receiver timed it)",
    primary: "offeredPerSecond",
    higherIsBetter: true,
  },
  {
    id: "fan-in-hosts",
    title:
      "9. fan-in from namespaced hosts: one request, N hosts on one bridge answer at once (replies received of N)",
    primary: "replies",
    higherIsBetter: true,
  },
  {
    id: "mesh",
    title:
      "10. mesh: N nodes on one bridge, seconds until every node has the full matrix once all run; CPU and RSS per node",
    primary: "fullMatrixSeconds",
    higherIsBetter: false,
  },
  {
    id: "recv-buffer",
    title: "pitfall: node:dgram setRecvBufferSize on Deno",
    primary: "receivedPerSecond",
    higherIsBetter: true,
  },
  {
    id: "long-run-listen",
    title:
      "11. long run: listen -q --metrics under 1,000 requests/s from 10,000 rotating sources (RSS at start, after warm-up, at the end; /metrics scrape time)",
    primary: "rssAtEndMiB",
    higherIsBetter: false,
  },
  {
    id: "long-run-send",
    title:
      "11. long run: send -c 0 --seq --metrics at 100/s against namespaced responders (RSS at start, after warm-up, at the end; /metrics scrape time)",
    primary: "rssAtEndMiB",
    higherIsBetter: false,
  },
] as const;

/** A row's id. */
export type RowId = typeof ROWS[number]["id"];

/** Figures of one repeat: metric name to number. */
export type Metrics = Record<string, number>;

/** One implementation (or variant) on one row. */
export interface Measurement {
  /** The row. */
  row: RowId;
  /** Stable id of what was measured. */
  id: string;
  /** Human name. */
  label: string;
  /**
   * `mcast` (its code), `baseline` (to compare with) or `variant` (a
   * setting compared with the baselines of its row, e.g. the pitfall).
   */
  side: "mcast" | "baseline" | "variant";
  /** Whether its failure fails the run. */
  required: boolean;
  /** Medians over the repeats. */
  metrics: Metrics;
  /** Every repeat. */
  runs: Metrics[];
  /** Why it failed, when it did. */
  error?: string;
  /** Baselines it is compared with; every baseline of its row when absent. */
  compareWith?: string[];
}

/** mcast (or variant) over baseline on a row's primary metric. */
export interface Ratio {
  /** The row. */
  row: RowId;
  /** The metric compared. */
  metric: string;
  /** Whether a higher metric is better. */
  higherIsBetter: boolean;
  /** The mcast (or variant) measurement's id. */
  subject: string;
  /** The baseline's id. */
  baseline: string;
  /** subject / baseline. */
  ratio: number;
}

/** The whole document written to `bench/results/latest.json`. */
export interface BenchResults {
  /** Format version. */
  version: 1;
  /** `full` or `quick`. */
  plan: string;
  /** ISO time the run started. */
  startedAt: string;
  /** Wall time of the run, seconds. */
  durationSeconds: number;
  /** The machine and tools. */
  machine: Record<string, string | number>;
  /** Which sender flooded rows 1 and 4. */
  flooder: string;
  /** CPU placement of the processes (`cpu_placement.ts`). */
  pinning: string;
  /** Implementations left out, and why. */
  skipped: { id: string; reason: string }[];
  /** The plan's sizes and limits. */
  settings: Record<string, unknown>;
  /** Row ids with titles and primary metric, every row of {@linkcode ROWS}. */
  rows: typeof ROWS;
  /** Every measurement. */
  measurements: Measurement[];
  /** mcast / baseline per row. */
  ratios: Ratio[];
}

/**
 * Medians of every metric over the repeats.
 *
 * @param runs One set of figures per repeat.
 * @returns The median of each metric.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarize } from "./results.ts";
 * const m = summarize([{ rate: 1 }, { rate: 3 }, { rate: 2 }]);
 * assert.equal(m.rate, 2);
 * ```
 */
export function summarize(runs: Metrics[]): Metrics {
  const names = new Set(runs.flatMap((run) => Object.keys(run)));
  const metrics: Metrics = {};
  for (const name of names) {
    metrics[name] = median(runs.map((run) => run[name]));
  }
  return metrics;
}

/**
 * Every mcast (and variant) measurement over every baseline of its row
 * (or those it names in `compareWith`), on the row's primary metric.
 *
 * @param measurements All measurements of the run.
 * @returns The ratios; failed or missing figures are left out.
 */
export function computeRatios(measurements: Measurement[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const row of ROWS) {
    const here = measurements.filter((m) =>
      m.row === row.id && m.error === undefined
    );
    for (const subject of here.filter((m) => m.side !== "baseline")) {
      const baselines = here.filter((m) =>
        m.side === "baseline" &&
        (subject.compareWith === undefined ||
          subject.compareWith.includes(m.id))
      );
      for (const baseline of baselines) {
        const ratio = subject.metrics[row.primary] /
          baseline.metrics[row.primary];
        if (!Number.isFinite(ratio)) continue;
        ratios.push({
          row: row.id,
          metric: row.primary,
          higherIsBetter: row.higherIsBetter,
          subject: subject.id,
          baseline: baseline.id,
          ratio,
        });
      }
    }
  }
  return ratios;
}
