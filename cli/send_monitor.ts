/**
 * What `send` tells a monitoring pipeline while one group's run goes on,
 * beside its reply lines: `lost` events (`--json`, with `--seq`), the
 * interval lines or events of `--report-every` (`send_intervals.ts`), and
 * the rows of `--rtt-log` (`rtt_log.ts`). Every JSON line it writes
 * carries its `"time"`.
 *
 * @module
 */

import { formatEndpoint } from "../lib/address.ts";
import type { SendReply } from "../lib/sender/events.ts";
import { ndjson } from "./io.ts";
import type { RttLog } from "./rtt_log.ts";
import {
  intervalEvent,
  intervalLines,
  SendIntervals,
} from "./send_intervals.ts";
import { stamped } from "./wall_clock.ts";

/** A lost request, as `onLost` tells it. */
export interface LostRequest {
  /** The request, counted from 0 in the run. */
  seq: number;
  /** The responder's address. */
  from: string;
  /** The responder's port. */
  port: number;
  /** How long ago the request left, ms. */
  waitedMs: number;
}

/** How one run is watched. */
export interface RunMonitorOptions {
  /** NDJSON output. */
  json: boolean;
  /** Whether requests are numbered (`--seq`). */
  sequence: boolean;
  /** `--report-every`, ms. */
  reportEveryMs?: number;
  /** `--rtt-log`'s file, shared by the runs. */
  rttLog?: RttLog;
  /** With several groups: the run's group, tagged on its lines and events. */
  group?: string;
  /** Prints one line of output. */
  print(line: string): void;
}

/**
 * One group's run, watched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunMonitor } from "./send_monitor.ts";
 * const printed: string[] = [];
 * const monitor = new RunMonitor({ json: true, sequence: true, print: (l) => printed.push(l) });
 * monitor.lost({ seq: 4, from: "10.0.0.1", port: 5000, waitedMs: 1000 });
 * assert.equal(JSON.parse(printed[0]).responder, "10.0.0.1:5000");
 * assert.equal(monitor.lostCount, 1);
 * ```
 */
export class RunMonitor {
  /** Requests lost so far (their wait ran out without a known responder's reply). */
  lostCount = 0;
  /** Requests sent so far. */
  sent = 0;
  readonly #options: RunMonitorOptions;
  readonly #intervals: SendIntervals | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #startedAt = 0;

  /**
   * Watches a run.
   *
   * @param options What to print and where.
   */
  constructor(options: RunMonitorOptions) {
    this.#options = options;
    this.#intervals = options.reportEveryMs === undefined
      ? undefined
      : new SendIntervals(options.sequence);
  }

  /** Starts the interval lines, when asked for. */
  start(): void {
    const every = this.#options.reportEveryMs;
    this.#startedAt = performance.now();
    if (every === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), every);
  }

  /**
   * Requests sent so far (`onSent`).
   *
   * @param sent Sent so far.
   */
  onSent(sent: number): void {
    this.sent = sent;
    this.#intervals?.sent(sent);
  }

  /**
   * One reply event.
   *
   * @param reply The reply.
   */
  reply(reply: SendReply): void {
    this.#intervals?.reply(reply);
    this.#options.rttLog?.reply(reply, Math.max(0, this.sent - 1));
  }

  /**
   * One request a known responder did not answer in time (`onLost`).
   *
   * @param lost The request and the responder.
   */
  lost(lost: LostRequest): void {
    this.lostCount++;
    this.#intervals?.lost(lost.from, lost.port);
    this.#options.rttLog?.lost(lost);
    if (!this.#options.json) return;
    const { group } = this.#options;
    this.#options.print(stamped(ndjson({
      event: "lost",
      ...(group === undefined ? {} : { group }),
      seq: lost.seq,
      responder: formatEndpoint(lost.from, lost.port),
      from: lost.from,
      port: lost.port,
    })));
  }

  /** Stops the interval lines, printing the last (partial) interval; idempotent. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tick();
  }

  #tick(): void {
    const interval = this.#intervals!.take(performance.now() - this.#startedAt);
    const { json, group, print } = this.#options;
    if (json) {
      const event = intervalEvent(interval);
      print(stamped(ndjson(group === undefined ? event : { ...event, group })));
      return;
    }
    const prefix = group === undefined ? "" : `[${group}] `;
    for (const line of intervalLines(interval, prefix)) print(line);
  }
}
