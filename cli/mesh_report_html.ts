/**
 * `mesh --report FILE.html`: one self-contained page of a mesh run, like
 * send's (`report_html.ts`): the verdict and failing pairs in words, a
 * heatmap of each matrix (multicast loss, unicast loss; rows = sender,
 * columns = receiver, a tooltip per cell), and each pair's round-trip
 * times over the run (the median and 99th percentile so far at every
 * interval, multicast and unicast, with the intervals where multicast
 * probes were lost marked). Inline SVG, no script, nothing fetched (the
 * page's Content-Security-Policy forbids it).
 *
 * Memory stays bounded however long the run and however many pairs:
 * each pair keeps at most {@linkcode SAMPLES_PER_PAIR} samples (every
 * other one is dropped when full), and the page draws at most
 * {@linkcode MAX_PLOTTED_PAIRS} pairs' plots, the failing ones first.
 *
 * @module
 */

import type {
  MeshIntervalEvent,
  MeshMatrixEvent,
  MeshPair,
} from "../lib/mesh/events.ts";
import {
  failureLine,
  pairKey,
  pairsByKey,
  percentText,
} from "./mesh_matrix_text.ts";

/** Samples kept per pair (time, multicast p50/p99, unicast p50/p99, lost). */
export const SAMPLES_PER_PAIR = 128;
/** Pairs whose round-trip plot the page draws at most. */
export const MAX_PLOTTED_PAIRS = 240;
/** Numbers per sample. */
const FIELDS = 6;
/** Heatmap area, SVG units. */
const MAP_SIZE = 640;
const MAP_MARGIN = 28;
/** One round-trip plot. */
const PLOT_W = 280;
const PLOT_H = 100;
const PLOT_PAD = 6;
/** Room above a plot's lines for its two lines of text. */
const PLOT_TOP = 30;

/** One pair's samples, oldest first. */
class PairTrace {
  readonly values = new Float32Array(SAMPLES_PER_PAIR * FIELDS);
  length = 0;
  /** Keep one interval of every `stride` (doubles when full). */
  stride = 1;
  seen = 0;
  lastReceived = 0;
  lastExpected = 0;
  /** Probes lost in the intervals skipped since the last sample kept. */
  pendingLost = 0;

  add(t: number, pair: MeshPair): void {
    const lost = (pair.expected - this.lastExpected) -
      (pair.received - this.lastReceived);
    this.lastExpected = pair.expected;
    this.lastReceived = pair.received;
    this.pendingLost += Math.max(0, lost);
    if (++this.seen % this.stride !== 0 && this.length > 0) return;
    if (this.length === SAMPLES_PER_PAIR) this.#halve();
    const at = this.length++ * FIELDS;
    const nan = (v: number | undefined) => v ?? NaN;
    this.values.set([
      t,
      nan(pair.multicastRttMs?.p50),
      nan(pair.multicastRttMs?.p99),
      nan(pair.unicastRttMs?.p50),
      nan(pair.unicastRttMs?.p99),
      this.pendingLost,
    ], at);
    this.pendingLost = 0;
  }

  /**
   * Merges every two samples into the later one (their losses added) and
   * doubles the stride.
   */
  #halve(): void {
    const v = this.values;
    const half = Math.floor(this.length / 2);
    for (let i = 0; i < half; i++) {
      const lost = v[2 * i * FIELDS + 5] + v[(2 * i + 1) * FIELDS + 5];
      v.copyWithin(i * FIELDS, (2 * i + 1) * FIELDS, (2 * i + 2) * FIELDS);
      v[i * FIELDS + 5] = lost;
    }
    this.length = half;
    this.stride *= 2;
  }

  sample(i: number): number[] {
    return Array.from(this.values.subarray(i * FIELDS, (i + 1) * FIELDS));
  }
}

/** What the page says about the run, besides the events. */
export interface MeshReportInfo {
  /** The group. */
  group: string;
  /** The port. */
  port: number;
  /** The command line, shown under the title. */
  command: string;
  /** `--max-loss`, percent. */
  maxLossPercent: number;
}

/** Keeps what the report draws from a run's interval events. */
export class MeshRecorder {
  readonly #traces = new Map<string, PairTrace>();
  #started: number | undefined;

  /** Notes the matrix so far at one interval. */
  interval(event: MeshIntervalEvent): void {
    const at = Date.parse(event.time);
    this.#started ??= at;
    const t = (at - this.#started) / 1000;
    for (const pair of event.pairs) {
      const key = pairKey(pair.from, pair.to);
      let trace = this.#traces.get(key);
      if (trace === undefined) {
        trace = new PairTrace();
        this.#traces.set(key, trace);
      }
      trace.add(t, pair);
    }
  }

  /** The samples kept for a pair: `[seconds, mcP50, mcP99, ucP50, ucP99, lost]` each. */
  samples(from: string, to: string): number[][] {
    const trace = this.#traces.get(pairKey(from, to));
    if (trace === undefined) return [];
    return Array.from({ length: trace.length }, (_, i) => trace.sample(i));
  }
}

/** Text safe inside HTML. */
function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** A loss's colour: green at 0, yellow to red above, grey when not measured. */
export function lossColour(loss: number | null): string {
  if (loss === null) return "#d0d7de";
  if (loss <= 0) return "#2da44e";
  // Yellow (212,167,44) at the least loss to red (209,36,47) at 100%.
  const f = Math.min(1, Math.max(0, loss / 100));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * f);
  return `rgb(${mix(212, 209)},${mix(167, 36)},${mix(44, 47)})`;
}

/** One heatmap: `loss` picks multicast or unicast. */
function heatmap(
  matrix: MeshMatrixEvent,
  which: "multicast" | "unicast",
): string {
  const { hosts } = matrix;
  const n = Math.max(1, hosts.length);
  const cell = Math.min(32, Math.floor(MAP_SIZE / n));
  const size = MAP_MARGIN + cell * n;
  const byKey = pairsByKey(matrix.pairs);
  const every = n <= 40 ? 1 : 10;
  const parts: string[] = [];
  hosts.forEach((host, i) => {
    const label = String(i + 1);
    if ((i + 1) % every === 0 || every === 1) {
      const mid = MAP_MARGIN + cell * i + cell / 2;
      parts.push(
        `<text x="${mid}" y="${
          MAP_MARGIN - 8
        }" text-anchor="middle">${label}</text>`,
        `<text x="${MAP_MARGIN - 4}" y="${
          mid + 4
        }" text-anchor="end">${label}</text>`,
      );
    }
    hosts.forEach((to, j) => {
      const x = MAP_MARGIN + cell * j;
      const y = MAP_MARGIN + cell * i;
      const pair = byKey.get(pairKey(host, to));
      const loss = pair === undefined
        ? null
        : which === "multicast"
        ? pair.multicastLossPercent
        : pair.unicastLossPercent;
      const fill = host === to
        ? "#57606a"
        : pair?.state === "gone"
        ? "#8c959f"
        : lossColour(loss);
      const tip = host === to
        ? `${host} (itself)`
        : `${host} -> ${to}: ${which} ${
          loss === null ? "not measured" : `${percentText(loss)}% lost`
        }${pair === undefined ? " (never heard)" : `, ${pair.state}`}`;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell - 1}" height="${
          cell - 1
        }" fill="${fill}"><title>${escape(tip)}</title></rect>`,
      );
    });
  });
  return `<figure><figcaption>${which} loss, % (rows: sender, columns: receiver)</figcaption><svg class="heatmap ${which}" viewBox="0 0 ${size} ${size}" style="max-width:${size}px" role="img" aria-label="${which} loss matrix">${
    parts.join("")
  }</svg></figure>`;
}

/** The colour key under the heatmaps. */
function colourKey(): string {
  const swatch = (colour: string, text: string) =>
    `<span class="key"><i style="background:${colour}"></i>${
      escape(text)
    }</span>`;
  return `<p>${
    [
      swatch(lossColour(0), "0%"),
      swatch(lossColour(1), "some loss"),
      swatch(lossColour(100), "100%"),
      swatch(lossColour(null), "not measured"),
      swatch("#8c959f", "gone"),
      swatch("#57606a", "the host itself"),
    ].join(" ")
  }</p>`;
}

/** A polyline through the finite points of one field. */
function line(
  samples: number[][],
  field: number,
  x: (t: number) => number,
  y: (v: number) => number,
  css: string,
): string {
  const points = samples.filter((s) => Number.isFinite(s[field]))
    .map((s) => `${x(s[0]).toFixed(1)},${y(s[field]).toFixed(1)}`);
  if (points.length === 0) return "";
  if (points.length === 1) {
    const [cx, cy] = points[0].split(",");
    return `<circle class="${css}" cx="${cx}" cy="${cy}" r="2"/>`;
  }
  return `<polyline class="${css}" points="${points.join(" ")}"/>`;
}

/** One pair's round-trip plot. */
function pairPlot(pair: MeshPair, samples: number[][]): string {
  const tMax = Math.max(1, ...samples.map((s) => s[0]));
  let yMax = 0;
  for (const s of samples) {
    for (const v of [s[1], s[2], s[3], s[4]]) {
      if (Number.isFinite(v)) yMax = Math.max(yMax, v);
    }
  }
  yMax = yMax > 0 ? yMax * 1.1 : 1;
  const x = (t: number) => PLOT_PAD + (t / tMax) * (PLOT_W - 2 * PLOT_PAD);
  const y = (v: number) =>
    PLOT_H - PLOT_PAD - (v / yMax) * (PLOT_H - PLOT_PAD - PLOT_TOP);
  const ticks = samples.filter((s) => s[5] > 0).map((s) =>
    `<line class="lost" x1="${x(s[0]).toFixed(1)}" y1="${PLOT_H - 5}" x2="${
      x(s[0]).toFixed(1)
    }" y2="${PLOT_H - 1}"/>`
  );
  const ms = (v: number) => String(Number(v.toPrecision(3)));
  const rtt = (label: string, value: { p50: number; p99: number } | null) =>
    `${label} ${value === null ? "-" : `${ms(value.p50)}/${ms(value.p99)}`}`;
  return `<svg class="pair" viewBox="0 0 ${PLOT_W} ${PLOT_H}" role="img" aria-label="${
    escape(`${pair.from} to ${pair.to}`)
  } round-trip times"><text class="pair-name" x="${PLOT_PAD}" y="12">${
    escape(`${pair.from} -> ${pair.to}`)
  }</text><text x="${PLOT_PAD}" y="24">${
    escape(
      `${rtt("mc", pair.multicastRttMs)}, ${
        rtt("uc", pair.unicastRttMs)
      } ms (p50/p99)`,
    )
  }</text><text class="scale" x="${PLOT_W - PLOT_PAD}" y="${
    PLOT_TOP - 2
  }" text-anchor="end">${ms(yMax)} ms</text>${line(samples, 2, x, y, "mc99")}${
    line(samples, 1, x, y, "mc")
  }${line(samples, 4, x, y, "uc99")}${line(samples, 3, x, y, "uc")}${
    ticks.join("")
  }</svg>`;
}

/** The pairs to plot: the failing ones, then the rest by their slowest p99. */
function plotted(matrix: MeshMatrixEvent): MeshPair[] {
  const failing = new Set(
    matrix.failures.map((failure) => pairKey(failure.from, failure.to)),
  );
  const p99 = (pair: MeshPair) =>
    Math.max(pair.multicastRttMs?.p99 ?? -1, pair.unicastRttMs?.p99 ?? -1);
  return [...matrix.pairs].sort((a, b) => {
    const fa = failing.has(pairKey(a.from, a.to)) ? 0 : 1;
    const fb = failing.has(pairKey(b.from, b.to)) ? 0 : 1;
    return fa - fb || p99(b) - p99(a);
  }).slice(0, MAX_PLOTTED_PAIRS);
}

/** The verdict and the failing pairs in words. */
function verdict(matrix: MeshMatrixEvent, maxLossPercent: number): string {
  if (matrix.ok) {
    return `<p class="ok">ok: every pair among ${matrix.expected.length} expected hosts within --max-loss ${
      percentText(maxLossPercent)
    }%.</p>`;
  }
  const byKey = pairsByKey(matrix.pairs);
  const items = matrix.failures.map((failure) =>
    `<li>${
      escape(
        failureLine(
          failure,
          byKey.get(pairKey(failure.from, failure.to)),
          maxLossPercent,
        ),
      )
    }</li>`
  );
  const missing = matrix.missing.length === 0
    ? ""
    : `<p class="bad">Expected, never heard: ${
      escape(matrix.missing.join(", "))
    }</p>`;
  return `<p class="bad">FAILED: ${matrix.failures.length} pairs over --max-loss ${
    percentText(maxLossPercent)
  }%:</p><ul>${items.join("")}</ul>${missing}`;
}

const STYLE =
  `body{font:14px system-ui,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin:24px 0 6px}
.maps{display:flex;flex-wrap:wrap;gap:24px}figure{margin:0}figcaption{font-size:13px;margin-bottom:4px}
svg{display:block;height:auto;background:#fafafa}svg text{font-size:10px;fill:#555}
svg.heatmap{width:100%}.pairs{display:flex;flex-wrap:wrap;gap:8px}svg.pair{width:${PLOT_W}px}.pair-name{font-weight:600;fill:#1b1b1b}.scale{fill:#888}
.mc{fill:none;stroke:#1f6feb;stroke-width:1.5}circle.mc{fill:#1f6feb}.mc99{fill:none;stroke:#1f6feb;stroke-width:1;stroke-dasharray:3 2;opacity:.6}
.uc{fill:none;stroke:#bc4c00;stroke-width:1.5}circle.uc{fill:#bc4c00}.uc99{fill:none;stroke:#bc4c00;stroke-width:1;stroke-dasharray:3 2;opacity:.6}
.lost{stroke:#d1242f;stroke-width:2}.ok{color:#1a7f37;font-weight:600}.bad{color:#d1242f;font-weight:600}
.key{margin-right:14px;white-space:nowrap}.key i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px}
table{border-collapse:collapse}th,td{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left}`;

/**
 * The whole page.
 *
 * @param matrix The final matrix event.
 * @param recorder What the run's interval events left.
 * @param info Group, port, command line and `--max-loss`.
 * @param writtenAt When the page was written. @default now
 */
export function meshReportPage(
  matrix: MeshMatrixEvent,
  recorder: MeshRecorder,
  info: MeshReportInfo,
  writtenAt: Date = new Date(),
): string {
  const n = matrix.hosts.length;
  const title = `mcast mesh: ${info.group} port ${info.port}, ${n} ${
    n === 1 ? "host" : "hosts"
  }`;
  const hosts = matrix.hosts.map((host, i) =>
    `<tr><td>${i + 1}</td><td>${escape(host)}${
      host === matrix.self ? " (this host)" : ""
    }</td></tr>`
  ).join("");
  const pairs = plotted(matrix);
  const plots = pairs.map((pair) =>
    pairPlot(pair, recorder.samples(pair.from, pair.to))
  );
  const left = matrix.pairs.length - pairs.length;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style></head>
<body><h1>${escape(title)}</h1>
<p><code>${escape(info.command)}</code><br>as seen ${
    matrix.self === "" ? "by a watcher" : `from ${escape(matrix.self)}`
  }, written ${escape(writtenAt.toISOString())}</p>
${verdict(matrix, info.maxLossPercent)}
<h2>Loss matrices</h2>
<div class="maps">${heatmap(matrix, "multicast")}${
    heatmap(matrix, "unicast")
  }</div>${colourKey()}
<h2>Hosts</h2><table><thead><tr><th>#</th><th>address</th></tr></thead><tbody>${hosts}</tbody></table>
<h2>Round-trip times over the run</h2>
<p>Per pair: the median (solid) and 99th percentile (dashed) so far at each interval, multicast in blue, unicast in orange, ms; a red tick marks an interval where multicast probes were lost.${
    left > 0
      ? ` ${left} more pairs are not drawn (the failing ones and the slowest come first).`
      : ""
  }</p>
<div class="pairs">${plots.join("\n")}</div>
</body></html>
`;
}
