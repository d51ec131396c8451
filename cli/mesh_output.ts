/**
 * What `mcast mesh` prints while it runs and at its end. With `--json`,
 * every event of the run as one NDJSON line, the `matrix` line last.
 * For people: the ready line; while the matrix has at most
 * {@linkcode MATRIX_MAX_HOSTS} hosts, a line per interval naming the
 * pairs that are not well and a line per peer that joins or goes; above
 * that, a line a second with counts only; drops on stderr; at the end the
 * matrix and the verdict (`mesh_matrix_text.ts`). `-q` keeps only the
 * ready line and the end.
 *
 * @module
 */

import type {
  MeshEvent,
  MeshIntervalEvent,
  MeshPair,
  MeshPeerEvent,
  MeshReadyEvent,
} from "../lib/mesh/events.ts";
import { noPaint, type Paint } from "./colour.ts";
import { type Io, ndjson } from "./io.ts";
import {
  MATRIX_MAX_HOSTS,
  matrixLines,
  percentText,
} from "./mesh_matrix_text.ts";

/** Pairs named in an interval line at most; the rest are counted. */
const NAMED_PAIRS = 3;
/** The states in the order an interval line counts them. */
const STATE_ORDER: readonly MeshPair["state"][] = [
  "ok",
  "lossy",
  "multicast-fails",
  "both-fail",
  "unicast-fails",
  "gone",
  "unheard",
];
/** A big mesh's count line comes at most this often, ms. */
const COUNT_LINE_MS = 1000;

/** How `mesh` prints. */
export interface MeshOutputOptions {
  /** NDJSON: every event. */
  json: boolean;
  /** Only the ready line and the end. */
  quiet: boolean;
  /** `--max-loss`, percent, for the verdict's words. */
  maxLossPercent: number;
  /** Colours for stdout. @default {noPaint} */
  paintOut?: Paint;
  /** Colours for stderr. @default {noPaint} */
  paintErr?: Paint;
}

/** The ready event as people read it. */
export function readyLine(ready: MeshReadyEvent, intervalMs: number): string {
  const where = `${ready.group} port ${ready.port} (${ready.family})`;
  return ready.watch
    ? `mesh watcher on ${where}: listening only, sends nothing; Ctrl-C to stop with the matrix`
    : `mesh on ${where} as ${ready.self}, probing every ${intervalMs} ms; Ctrl-C to stop with the matrix`;
}

/** A peer event as people read it. */
export function peerLine(event: MeshPeerEvent): string {
  switch (event.state) {
    case "joined":
      return `${event.peer} joined${
        event.firstSeq === undefined || event.firstSeq === 0
          ? ""
          : ` (first probe heard: number ${event.firstSeq})`
      }`;
    case "goodbye":
      return `${event.peer} stopped (said goodbye)`;
    case "gone":
      return `${event.peer} gone (silent)`;
  }
}

/** A pair that is not well, as an interval line names it. */
function pairNote(pair: MeshPair): string {
  const loss = pair.multicastLossPercent === null
    ? ""
    : ` ${percentText(pair.multicastLossPercent)}%`;
  return `${pair.from} -> ${pair.to} ${pair.state}${loss}`;
}

/**
 * An interval line: seconds since ready, probes sent, hosts, and the
 * pairs by state (`ok` always, the others when there are some); with
 * `named`, the first few pairs that are neither ok nor gone.
 *
 * @param event The interval event.
 * @param elapsedMs Milliseconds since the ready event.
 * @param named Whether to name the pairs that are not well.
 */
export function intervalLine(
  event: MeshIntervalEvent,
  elapsedMs: number,
  named: boolean,
): string {
  const { pairs, hosts } = event;
  const counts = new Map<MeshPair["state"], number>(
    STATE_ORDER.map((state) => [state, 0]),
  );
  const unwell: MeshPair[] = [];
  for (const pair of pairs) {
    counts.set(pair.state, counts.get(pair.state)! + 1);
    if (pair.state !== "ok" && pair.state !== "gone") unwell.push(pair);
  }
  const states = STATE_ORDER.filter((state) =>
    state === "ok" || counts.get(state)! > 0
  ).map((state) => `${counts.get(state)} ${state}`).join(", ");
  const line = `${
    (elapsedMs / 1000).toFixed(1).padStart(6)
  }s  ${event.probesSent} sent, ${hosts.length} ${
    hosts.length === 1 ? "host" : "hosts"
  }, ${pairs.length} pairs: ${states}`;
  if (!named || unwell.length === 0) return line;
  const shown = unwell.slice(0, NAMED_PAIRS).map(pairNote).join("; ");
  const more = unwell.length > NAMED_PAIRS
    ? `; ${unwell.length - NAMED_PAIRS} more`
    : "";
  return `${line} (${shown}${more})`;
}

/** The running mesh's output. */
export class MeshOutput {
  readonly #io: Io;
  readonly #options: MeshOutputOptions;
  readonly #paintOut: Paint;
  readonly #paintErr: Paint;
  #ready: MeshReadyEvent | undefined;
  #readyAt = 0;
  #intervalMs = 1000;
  #hosts = 0;
  #lastCountLine = -Infinity;

  /**
   * @param io Where lines go.
   * @param options JSON or people, `-q`, `--max-loss` and colours.
   */
  constructor(io: Io, options: MeshOutputOptions) {
    this.#io = io;
    this.#options = options;
    this.#paintOut = options.paintOut ?? noPaint;
    this.#paintErr = options.paintErr ?? noPaint;
  }

  /** The probe interval, for the ready line. */
  set intervalMs(ms: number) {
    this.#intervalMs = ms;
  }

  /** Prints one event as `--json` or people want it. */
  event(event: MeshEvent): void {
    if (this.#options.json) {
      this.#io.out(ndjson({ ...event }));
      return;
    }
    switch (event.event) {
      case "ready":
        this.#ready = event;
        this.#readyAt = Date.parse(event.time);
        this.#io.out(readyLine(event, this.#intervalMs));
        return;
      case "peer":
        if (!this.#options.quiet && this.#hosts <= MATRIX_MAX_HOSTS) {
          this.#io.out(peerLine(event));
        }
        return;
      case "interval":
        this.#interval(event);
        return;
      case "drop":
        if (!this.#options.quiet) {
          this.#io.err(this.#paintErr(
            "warn",
            `drop (${event.reason}) from ${event.from}: ${event.detail} (${event.count} since the last such line)`,
          ));
        }
        return;
      case "matrix":
        for (
          const line of matrixLines(event, {
            group: this.#ready?.group ?? "?",
            port: this.#ready?.port ?? 0,
            maxLossPercent: this.#options.maxLossPercent,
            paint: this.#paintOut,
          })
        ) this.#io.out(line);
        return;
    }
  }

  #interval(event: MeshIntervalEvent): void {
    this.#hosts = event.hosts.length;
    if (this.#options.quiet) return;
    const small = event.hosts.length <= MATRIX_MAX_HOSTS;
    const at = Date.parse(event.time);
    if (!small && at - this.#lastCountLine < COUNT_LINE_MS) return;
    this.#lastCountLine = at;
    this.#io.out(intervalLine(event, at - this.#readyAt, small));
  }
}
