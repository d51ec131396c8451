/**
 * `send --report FILE.html`: one self-contained HTML page of a run, like
 * `vegeta plot`. Per responder, its round-trip times over the run with the
 * requests it never answered marked, and a histogram of its round-trip
 * times; then the responder table. Inline SVG drawn here, no script, no
 * external resource (the page's Content-Security-Policy forbids fetching
 * anything), so it opens offline in any browser.
 *
 * @module
 */

import { formatEndpoint } from "../lib/address.ts";
import type { SendReply } from "../lib/sender/sender.ts";
import type { ResponderRow } from "./responder_table.ts";

/** Requests whose send time is kept; a longer run is drawn up to here. */
const MAX_REQUESTS = 1_000_000;
/** Plot size in SVG units. */
const WIDTH = 900;
const HEIGHT = 240;
const HISTOGRAM_HEIGHT = 160;
/** Margins for the axes' labels. */
const LEFT = 56;
const BOTTOM = 28;
const TOP = 24;
const RIGHT = 12;
/** Histogram bins. */
const BINS = 40;

/** One responder's answers: request number to round-trip time (first reply). */
interface Trace {
  from: string;
  port: number;
  rtt: Map<number, number>;
}

/** One group's part of the page. */
export interface ReportGroup {
  /** The group. */
  group: string;
  /** Its port. */
  port: number;
  /** Requests sent to it: those that left. */
  sent: number;
  /** Requests that did not leave, by errno (the summary's `sendErrors`). */
  sendErrors?: Readonly<Record<string, number>>;
  /** The responder table's rows (in the summary's order). */
  rows: readonly ResponderRow[];
  /** What was recorded during its run. */
  recorder: RunRecorder;
}

/** Keeps what the report draws: when each request left and each responder's answers. */
export class RunRecorder {
  /** When the first request left: the time axis starts there. */
  #started: number | undefined;
  readonly #sentAt: number[] = [];
  readonly #traces = new Map<string, Trace>();

  /**
   * Notes the requests numbered so far (`onSent`'s count, plus those that
   * did not leave: the report places requests by number).
   */
  sent(count: number): void {
    this.#started ??= performance.now();
    const now = performance.now() - this.#started;
    while (this.#sentAt.length < Math.min(count, MAX_REQUESTS)) {
      this.#sentAt.push(now);
    }
  }

  /** Notes a reply: its request (`seq`, or the latest without one) and its round-trip time. */
  reply(reply: SendReply): void {
    if (reply.verified === false) return;
    const seq = reply.seq ?? this.#sentAt.length - 1;
    if (seq < 0 || seq >= MAX_REQUESTS) return;
    const key = `${reply.from}\u0000${reply.port}`;
    let trace = this.#traces.get(key);
    if (trace === undefined) {
      trace = { from: reply.from, port: reply.port, rtt: new Map() };
      this.#traces.set(key, trace);
    }
    if (!trace.rtt.has(seq)) trace.rtt.set(seq, reply.rttMs);
  }

  /**
   * Each responder's section of the page, in the order of `rows`.
   *
   * @param rows The summary's rows.
   * @param notSent Requests that did not leave (they are among those drawn).
   */
  sections(rows: readonly ResponderRow[], notSent = 0): string[] {
    return rows.map((row) => {
      const trace = this.#traces.get(`${row.from}\u0000${row.port}`) ??
        { from: row.from, port: row.port, rtt: new Map() };
      return responderSection(trace, this.#sentAt, notSent);
    });
  }
}

/** Text safe inside HTML. */
function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** A number rounded for an axis label (the ticks are round already). */
function label(value: number): string {
  return String(Number(value.toPrecision(4)));
}

/**
 * The upper end of an axis: the first round value (1, 1.2, 2, 2.4, 3, 4, 5, 6,
 * 8 times a power of ten; each splits into four round ticks) at or above
 * the largest value; 1 for none.
 */
function axisTop(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 1.2, 2, 2.4, 3, 4, 5, 6, 8, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

/** Axis lines, four labelled ticks on each axis, and the axes' titles. */
function axes(
  height: number,
  xMax: number,
  yMax: number,
  titles: { x: string; y: string },
): string {
  const plotH = height - TOP - BOTTOM;
  const plotW = WIDTH - LEFT - RIGHT;
  const parts = [
    `<line class="axis" x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${
      TOP + plotH
    }"/>`,
    `<line class="axis" x1="${LEFT}" y1="${TOP + plotH}" x2="${
      LEFT + plotW
    }" y2="${TOP + plotH}"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = TOP + plotH - (plotH * i) / 4;
    const x = LEFT + (plotW * i) / 4;
    parts.push(
      `<line class="grid" x1="${LEFT}" y1="${y}" x2="${
        LEFT + plotW
      }" y2="${y}"/>`,
      `<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${
        label((yMax * i) / 4)
      }</text>`,
      `<text x="${x}" y="${TOP + plotH + 16}" text-anchor="middle">${
        label((xMax * i) / 4)
      }</text>`,
    );
  }
  parts.push(
    `<text x="${LEFT + plotW}" y="${height - 2}" text-anchor="end">${
      escape(titles.x)
    }</text>`,
    `<text x="${LEFT}" y="${TOP - 10}">${escape(titles.y)}</text>`,
  );
  return parts.join("");
}

/**
 * Round-trip times over the run: a dot per answered request, at most two
 * per pixel column (its fastest and slowest), and a red tick under the
 * axis per pixel column that has an unanswered request.
 */
function timeline(trace: Trace, sentAt: readonly number[]): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const xMax = axisTop((sentAt.at(-1) ?? 0) / 1000);
  let yMaxSeen = 0;
  for (const rtt of trace.rtt.values()) yMaxSeen = Math.max(yMaxSeen, rtt);
  const yMax = axisTop(yMaxSeen);
  const columns = new Map<number, { min: number; max: number }>();
  const lost = new Set<number>();
  for (let seq = 0; seq < sentAt.length; seq++) {
    const column = Math.round((sentAt[seq] / 1000 / xMax) * plotW);
    const rtt = trace.rtt.get(seq);
    if (rtt === undefined) {
      lost.add(column);
      continue;
    }
    const seen = columns.get(column);
    if (seen === undefined) columns.set(column, { min: rtt, max: rtt });
    else {
      seen.min = Math.min(seen.min, rtt);
      seen.max = Math.max(seen.max, rtt);
    }
  }
  const y = (rtt: number) => (TOP + plotH - (rtt / yMax) * plotH).toFixed(1);
  const dots: string[] = [];
  for (const [column, { min, max }] of columns) {
    for (const rtt of min === max ? [min] : [min, max]) {
      dots.push(`<circle cx="${LEFT + column}" cy="${y(rtt)}" r="2"/>`);
    }
  }
  const ticks = [...lost].map((column) =>
    `<line class="lost" x1="${LEFT + column}" y1="${TOP + plotH + 2}" x2="${
      LEFT + column
    }" y2="${TOP + plotH + 9}"/>`
  );
  return `<svg class="timeline" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="round-trip time over the run">${
    axes(HEIGHT, xMax, yMax, { x: "seconds into the run", y: "rtt ms" })
  }<g class="dots">${dots.join("")}</g><g>${ticks.join("")}</g></svg>`;
}

/** A histogram of round-trip times in {@linkcode BINS} equal bins. */
function histogram(trace: Trace): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HISTOGRAM_HEIGHT - TOP - BOTTOM;
  const values = [...trace.rtt.values()];
  let max = 0;
  for (const value of values) max = Math.max(max, value);
  const top = axisTop(max);
  const counts = new Array<number>(BINS).fill(0);
  for (const value of values) {
    counts[Math.min(BINS - 1, Math.floor((value / top) * BINS))]++;
  }
  const highest = axisTop(Math.max(1, ...counts));
  const bars = counts.map((count, bin) => {
    if (count === 0) return "";
    const h = (count / highest) * plotH;
    return `<rect x="${(LEFT + (bin * plotW) / BINS + 1).toFixed(1)}" y="${
      (TOP + plotH - h).toFixed(1)
    }" width="${(plotW / BINS - 2).toFixed(1)}" height="${h.toFixed(1)}"/>`;
  });
  return `<svg class="histogram" viewBox="0 0 ${WIDTH} ${HISTOGRAM_HEIGHT}" role="img" aria-label="round-trip time histogram">${
    axes(HISTOGRAM_HEIGHT, top, highest, { x: "rtt ms", y: "replies" })
  }<g class="bars">${bars.join("")}</g></svg>`;
}

/** One responder's heading, timeline and histogram. */
function responderSection(
  trace: Trace,
  sentAt: readonly number[],
  notSent: number,
): string {
  const answered = trace.rtt.size;
  const left = Math.max(0, sentAt.length - notSent);
  const lost = Math.max(0, left - answered);
  const unsent = notSent === 0
    ? ""
    : ` ${notSent} more did not leave this host (ticked too).`;
  return `<section><h2>${
    escape(formatEndpoint(trace.from, trace.port))
  }</h2><p>${answered} of ${left} requests answered, ${lost} lost (red ticks under the axis).${unsent}</p>${
    timeline(trace, sentAt)
  }${histogram(trace)}</section>`;
}

/** `; 12 did not leave (EPERM 12)`: a group's requests the OS refused. */
function notSentText(
  errors: Readonly<Record<string, number>> | undefined,
  sent: number,
) {
  if (errors === undefined) return { count: 0, text: "" };
  const entries = Object.entries(errors).sort((a, b) => b[1] - a[1]);
  const count = entries.reduce((sum, [, n]) => sum + n, 0);
  return {
    count,
    text: `; ${count} did not leave this host (${
      entries.map(([errno, n]) => `${errno} ${n}`).join(", ")
    }: the OS refused to send them; loss counts the ${sent} that left)`,
  };
}

/** The responder table as HTML. */
function table(rows: readonly ResponderRow[]): string {
  const status = rows.some((row) => row.hostname !== undefined);
  const head = [
    "responder",
    "replies",
    "loss",
    "since 1st",
    "dup",
    "reord",
    "rtt min",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "avg",
    "stddev",
    "jitter ms",
    ...(status ? ["name", "hostname", "version"] : []),
  ];
  const body = rows.map((row) =>
    [
      formatEndpoint(row.from, row.port),
      row.replies,
      `${row.lossPercent}%`,
      row.fromFirst === undefined
        ? "-"
        : `${row.fromFirst.lossPercent}% (>=${row.fromFirst.seq})`,
      row.duplicates,
      row.reordered,
      row.rttMs?.min ?? "-",
      row.rttMs?.p50 ?? "-",
      row.rttMs?.p90 ?? "-",
      row.rttMs?.p99 ?? "-",
      row.rttMs?.p999 ?? "-",
      row.rttMs?.max ?? "-",
      row.rttMs?.avg ?? "-",
      row.rttMs?.stddev ?? "-",
      row.jitterMs ?? "-",
      ...(status
        ? [row.name ?? "-", row.hostname ?? "-", row.version ?? "-"]
        : []),
    ].map((cell, column) =>
      `<td${column >= 15 ? ' class="text"' : ""}>${escape(String(cell))}</td>`
    ).join("")
  );
  return `<table><thead><tr>${
    head.map((title, column) =>
      `<th${column >= 15 ? ' class="text"' : ""}>${title}</th>`
    ).join("")
  }</tr></thead><tbody>${
    body.map((cells) => `<tr>${cells}</tr>`).join("")
  }</tbody></table>`;
}

const STYLE =
  `body{font:14px system-ui,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin:24px 0 4px}
svg{display:block;width:100%;max-width:${WIDTH}px;height:auto;background:#fafafa;margin:6px 0}
svg text{font-size:11px;fill:#555}.axis{stroke:#333}.grid{stroke:#e2e2e2}
.dots circle{fill:#1f6feb}.lost{stroke:#d1242f;stroke-width:2}.bars rect{fill:#2da44e}h2.group{font-size:18px;border-top:2px solid #333;padding-top:12px}
table{border-collapse:collapse;margin-top:8px}th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child,.text{text-align:left}`;

/**
 * The whole page: per group, the responder table and each responder's
 * timeline and histogram.
 *
 * @param groups Each group's run.
 * @param command The command line, shown under the title.
 * @param writtenAt When the page was written. @default now
 */
export function reportPage(
  groups: readonly ReportGroup[],
  command: string,
  writtenAt: Date = new Date(),
): string {
  const title = `mcast send: ${
    groups.map((g) => `${g.group} port ${g.port}`).join(", ")
  }`;
  const parts = groups.map(
    ({ group, port, sent, sendErrors, rows, recorder }) => {
      const notSent = notSentText(sendErrors, sent);
      return `<h2 class="group">${escape(`${group} port ${port}`)}: ${sent} ${
        sent === 1 ? "request" : "requests"
      }, ${rows.length} ${rows.length === 1 ? "responder" : "responders"}${
        escape(notSent.text)
      }</h2>${
        rows.length === 0 ? "<p>No responder answered.</p>" : table(rows)
      }\n${recorder.sections(rows, notSent.count).join("\n")}`;
    },
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style></head>
<body><h1>${escape(title)}</h1>
<p><code>${escape(command)}</code><br>written ${
    escape(writtenAt.toISOString())
  }</p>
${parts.join("\n")}
</body></html>
`;
}
