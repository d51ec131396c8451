/**
 * `listen`'s interval lines, like an iperf server's: what one interval
 * added to the listener's counters, per second, as a line for people or
 * an `interval` NDJSON event. Pure: the caller takes the snapshots.
 *
 * @module
 */

import type { ListenerStats } from "../lib/plugin.ts";

/** The counters that count lost or refused datagrams, with their names in a line. */
export const DROP_COUNTERS:
  readonly (readonly [keyof ListenerStats, string])[] = [
    ["refused", "refused"],
    ["rateLimited", "rate-limited"],
    ["oversize", "oversize"],
    ["unsigned", "unsigned"],
    ["badSignature", "bad signature"],
    ["stale", "stale"],
    ["replayed", "replayed"],
    ["decodeErrors", "undecodable"],
    ["pluginErrors", "plugin errors"],
    ["sendErrors", "send errors"],
    ["kernelDrops", "dropped by the kernel"],
  ];

/** What one interval added to the counters. */
export interface IntervalFigures {
  /** Seconds since the listener was ready, at the interval's start. */
  start: number;
  /** Seconds since the listener was ready, at its end. */
  end: number;
  /** Datagrams received in the interval. */
  received: number;
  /** Received per second over the interval. */
  receivedPerSecond: number;
  /** Replies sent in the interval. */
  replied: number;
  /** Replies per second over the interval. */
  repliedPerSecond: number;
  /** Each drop counter that grew in the interval, by how much. */
  drops: Partial<Record<keyof ListenerStats, number>>;
}

/** A copy of the counters, to subtract from later ones. */
export function snapshot(stats: Readonly<ListenerStats>): ListenerStats {
  return { ...stats };
}

/**
 * The interval from `before` (at `startMs`) to `after` (at `endMs`),
 * times in milliseconds since the listener was ready.
 */
export function intervalFigures(
  before: Readonly<ListenerStats>,
  after: Readonly<ListenerStats>,
  startMs: number,
  endMs: number,
): IntervalFigures {
  const seconds = Math.max(endMs - startMs, 1) / 1000;
  const received = after.received - before.received;
  const replied = after.replied - before.replied;
  const drops: IntervalFigures["drops"] = {};
  for (const [key] of DROP_COUNTERS) {
    const grew = (after[key] ?? 0) - (before[key] ?? 0);
    if (grew > 0) drops[key] = grew;
  }
  return {
    start: round(startMs / 1000, 1),
    end: round(endMs / 1000, 1),
    received,
    receivedPerSecond: Math.round(received / seconds),
    replied,
    repliedPerSecond: Math.round(replied / seconds),
    drops,
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * The interval as people read it:
 * `[  1.0-  2.0 s]  523411 received (523411/s), 0 replied (0/s), 12 dropped by the kernel`.
 */
export function intervalLine(figures: IntervalFigures): string {
  const time = (seconds: number) => seconds.toFixed(1).padStart(5);
  const parts = [
    `${figures.received} received (${figures.receivedPerSecond}/s)`,
    `${figures.replied} replied (${figures.repliedPerSecond}/s)`,
  ];
  for (const [key, name] of DROP_COUNTERS) {
    const value = figures.drops[key];
    if (value !== undefined) parts.push(`${value} ${name}`);
  }
  return `[${time(figures.start)}-${time(figures.end)} s] ${parts.join(", ")}`;
}

/** The interval as an NDJSON event: `{"event":"interval",...}`, drop counters flat. */
export function intervalEvent(
  figures: IntervalFigures,
): Record<string, unknown> {
  const { drops, ...rest } = figures;
  return { event: "interval", ...rest, ...drops };
}
