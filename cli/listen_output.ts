/**
 * What `listen` prints while it runs, without losing datagrams to its own
 * output: a line per message while a person can read them (at most
 * {@linkcode READABLE_LINES_PER_SECOND} a second), interval lines once
 * messages come faster, every event with `--json` (each with its
 * wall-clock `"time"`, `wall_clock.ts`), nothing per message with `-q`;
 * interval lines with `--report-every`; and the stop after `--count`
 * datagrams or `--duration`. Lines are written in batches
 * (`batched_lines.ts`).
 *
 * @module
 */

import type { ListenEvent } from "../lib/listener/listen.ts";
import type { ListenerStats } from "../lib/plugin.ts";
import { BatchedLines } from "./batched_lines.ts";
import { MessageJson } from "./message_json.ts";
import {
  intervalEvent,
  intervalFigures,
  intervalLine,
  snapshot,
} from "./interval_report.ts";
import { type Io, ndjson } from "./io.ts";
import { READABLE_LINES_PER_SECOND, ReadableRate } from "./readable_rate.ts";
import { isoNow, stamped } from "./wall_clock.ts";

/** The interval of the lines printed instead of a line per message. */
const FLOOD_INTERVAL_MS = 1000;

/** How often `--count` is checked besides at each event (refused datagrams have none). */
const COUNT_POLL_MS = 100;

/** How `listen` prints. */
export interface ListenOutputOptions {
  /** NDJSON: every event, interval events. */
  json: boolean;
  /**
   * Whether a message's text payload is its bytes' UTF-8 (the built-in
   * `text` codec): then a line may copy the bytes (`message_json.ts`).
   * @default {false}
   */
  textPayloads?: boolean;
  /** Only the ready line, the summary and interval lines when asked (no events: the summary counts them). */
  quiet: boolean;
  /** `--report-every`, milliseconds. */
  reportEveryMs?: number;
  /** `--count`: stop once this many datagrams have arrived. */
  count?: number;
  /** `--duration`, milliseconds from the ready line. */
  durationMs?: number;
  /** A human event's line (coloured, tagged) and whether it goes to stderr. */
  humanLine(event: ListenEvent): { text: string; err: boolean };
  /** Stops the listener (`--count`, `--duration`); called at most once. */
  stop(): void;
}

/** Whether an event is about one datagram (a line per message). */
function perDatagram(event: ListenEvent): boolean {
  return event.event === "message" || event.event === "reply" ||
    (event.event === "error" && event.from !== undefined);
}

/**
 * An event's NDJSON line, with `"time"` after `"event"`. A message with a
 * text payload, the usual case, is written from its sender's cached
 * prefix (`message_json.ts`); one with another payload that is no object
 * (a number) needs no replacer (bytes to hex), a third of the cost.
 */
function jsonLine(
  event: ListenEvent,
  messages: MessageJson,
  time: string,
): string {
  const line = messages.line(event, time);
  if (line !== undefined) return line;
  const { event: name, ...rest } = event;
  const timed = { event: name, time, ...rest };
  if (event.event === "message" && typeof event.payload !== "object") {
    return JSON.stringify(timed);
  }
  return ndjson(timed);
}

/** The running listener's output. */
export class ListenOutput {
  /** The listener's `onEvent`; undefined when nothing needs events (`-q` alone). */
  readonly onEvent: ((event: ListenEvent) => void) | undefined;
  readonly #options: ListenOutputOptions;
  readonly #lines: BatchedLines;
  readonly #messages = new MessageJson();
  #stats: (() => Readonly<ListenerStats>) | undefined;
  #readyAt = 0;
  #rate = new ReadableRate();
  #interval: ReturnType<typeof setInterval> | undefined;
  #before: ListenerStats | undefined;
  #beforeAt = 0;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #stopped = false;
  /** The `--json` time of this turn of the event loop, until it ends. */
  #time: string | undefined;

  /** Prints to `io`. */
  constructor(io: Io, options: ListenOutputOptions) {
    this.#options = options;
    this.#lines = new BatchedLines(io);
    this.onEvent = options.quiet && options.count === undefined
      ? undefined
      : (event) => this.#event(event);
  }

  /**
   * The listener is ready: prints `readyLine` at once and starts the
   * interval lines and the `--count` / `--duration` stops.
   */
  started(stats: () => Readonly<ListenerStats>, readyLine: string): void {
    this.#stats = stats;
    this.#readyAt = performance.now();
    this.#lines.out(this.#options.json ? stamped(readyLine) : readyLine);
    this.#lines.flush();
    const { reportEveryMs, count, durationMs } = this.#options;
    if (reportEveryMs !== undefined) this.#startIntervals(reportEveryMs);
    else if (this.#rate.flooded) this.#startIntervals(FLOOD_INTERVAL_MS);
    if (count !== undefined) {
      this.#timers.push(
        setInterval(() => this.#checkCount(), COUNT_POLL_MS),
      );
      this.#checkCount();
    }
    if (durationMs !== undefined) {
      this.#timers.push(setTimeout(() => this.#stop(), durationMs));
    }
  }

  /** Queues a line of output (the summary). */
  out(line: string): void {
    this.#lines.out(line);
  }

  /** Stops every timer and writes what is queued; idempotent. */
  finished(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
    this.#stopIntervals();
    this.#lines.flush();
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#options.stop();
  }

  #checkCount(): void {
    const { count } = this.#options;
    if (count !== undefined && (this.#stats?.().received ?? 0) >= count) {
      this.#stop();
    }
  }

  #event(event: ListenEvent): void {
    if (this.#options.count !== undefined) this.#checkCount();
    if (this.#options.quiet) return;
    if (this.#options.json) {
      const time = this.#now();
      if (
        this.#options.textPayloads &&
        this.#messages.writeBytes(event, time, this.#lines)
      ) return;
      return this.#lines.out(jsonLine(event, this.#messages, time));
    }
    if (perDatagram(event) && !this.#admit()) return;
    const { text, err } = this.#options.humanLine(event);
    if (err) this.#lines.err(text);
    else this.#lines.out(text);
  }

  /**
   * The wall-clock time of the events of this turn of the event loop: the
   * datagrams one read handed over (up to a `recvmmsg` batch) share one,
   * read once, instead of a clock read per line (0.08-0.15 us of a
   * 0.6 us line under a flood).
   */
  #now(): string {
    if (this.#time === undefined) {
      this.#time = isoNow();
      queueMicrotask(() => this.#time = undefined);
    }
    return this.#time;
  }

  /** Whether a line per message may be printed now; switches to interval lines when not. */
  #admit(): boolean {
    const verdict = this.#rate.admit(performance.now());
    if (verdict !== "switch") return verdict === "print";
    this.#lines.out(
      `more than ${READABLE_LINES_PER_SECOND} lines a second: a line a second from now on instead of a line per message (--json prints every message, -q only the summary)`,
    );
    if (this.#interval === undefined && this.#stats !== undefined) {
      this.#startIntervals(FLOOD_INTERVAL_MS);
    }
    return false;
  }

  #startIntervals(everyMs: number): void {
    this.#before = snapshot(this.#stats!());
    this.#beforeAt = performance.now() - this.#readyAt;
    this.#interval = setInterval(() => this.#tick(), everyMs);
  }

  #stopIntervals(): void {
    if (this.#interval !== undefined) clearInterval(this.#interval);
    this.#interval = undefined;
  }

  #tick(): void {
    const at = performance.now() - this.#readyAt;
    const after = snapshot(this.#stats!());
    const figures = intervalFigures(this.#before!, after, this.#beforeAt, at);
    this.#before = after;
    this.#beforeAt = at;
    this.#lines.out(
      this.#options.json
        ? stamped(ndjson(intervalEvent(figures)), this.#now())
        : intervalLine(figures),
    );
    const linesPerSecond = figures.receivedPerSecond +
      figures.repliedPerSecond;
    if (this.#rate.settle(linesPerSecond)) {
      this.#lines.out(
        `${READABLE_LINES_PER_SECOND} lines a second or fewer again: back to a line per message`,
      );
      if (this.#options.reportEveryMs === undefined) this.#stopIntervals();
    }
  }
}
