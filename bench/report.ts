/**
 * Turns the results into the tables the bench prints (Markdown pipe
 * tables, readable in a terminal and pasteable into
 * `docs/performance.md`): one table per row, then the ratios.
 *
 * @module
 */

import { type BenchResults, type Measurement, ROWS } from "./results.ts";

interface Column {
  title: string;
  metric: string;
  format: (value: number) => string;
}

const count = (value: number) =>
  Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "-";
const ms = (value: number) =>
  Number.isFinite(value) ? value.toFixed(value < 10 ? 3 : 1) : "-";
const percent = (value: number) =>
  Number.isFinite(value) ? value.toFixed(1) : "-";
/** Loss at a paced rate is often a handful of datagrams: more digits. */
const lossPercent = (value: number) =>
  Number.isFinite(value)
    ? value.toFixed(value > 0 && value < 0.1 ? 4 : 2)
    : "-";
const mib = (value: number) => Number.isFinite(value) ? value.toFixed(1) : "-";

const ONE_WAY: Column[] = [
  { title: "received/s", metric: "receivedPerSecond", format: count },
  { title: "loss %", metric: "lossPercent", format: percent },
  { title: "offered/s", metric: "offeredPerSecond", format: count },
];

const COLUMNS: Record<string, Column[]> = {
  "one-way": ONE_WAY,
  "request-reply": [
    { title: "round trips/s", metric: "roundTripsPerSecond", format: count },
    { title: "p50 ms", metric: "p50Ms", format: ms },
    { title: "p99 ms", metric: "p99Ms", format: ms },
    { title: "timeouts", metric: "timeouts", format: count },
  ],
  "ping-pong": [
    { title: "round trips/s", metric: "roundTripsPerSecond", format: count },
    { title: "p50 ms", metric: "p50Ms", format: ms },
    { title: "p99 ms", metric: "p99Ms", format: ms },
    { title: "timeouts", metric: "timeouts", format: count },
  ],
  "request-reply-load": [
    { title: "round trips/s", metric: "roundTripsPerSecond", format: count },
    { title: "p50 ms", metric: "p50Ms", format: ms },
    { title: "p99 ms", metric: "p99Ms", format: ms },
    { title: "loss %", metric: "lossPercent", format: percent },
    { title: "requests lost %", metric: "requestLossPercent", format: percent },
  ],
  "fan-in": [
    { title: "p50 ms to all replies", metric: "p50Ms", format: ms },
    { title: "p90 ms", metric: "p90Ms", format: ms },
    { title: "incomplete rounds", metric: "incomplete", format: count },
  ],
  "memory": [
    { title: "peak RSS MiB", metric: "peakRssMiB", format: mib },
    { title: "VmHWM MiB", metric: "hwmMiB", format: mib },
    { title: "RSS after warm-up", metric: "rssAtWarmupMiB", format: mib },
    { title: "RSS at end", metric: "rssAtEndMiB", format: mib },
    { title: "growth MiB", metric: "growthMiB", format: mib },
    { title: "received/s", metric: "receivedPerSecond", format: count },
  ],
  "hot-path": [
    { title: "ns per datagram", metric: "nsPerDatagram", format: count },
  ],
  "paced": [
    { title: "offered", metric: "offered", format: count },
    { title: "received", metric: "received", format: count },
    { title: "loss %", metric: "lossPercent", format: lossPercent },
    { title: "offered/s", metric: "offeredPerSecond", format: count },
    { title: "RSS after warm-up", metric: "rssAtWarmupMiB", format: mib },
    { title: "RSS at end", metric: "rssAtEndMiB", format: mib },
    { title: "growth MiB", metric: "growthMiB", format: mib },
    { title: "peak RSS MiB", metric: "peakRssMiB", format: mib },
  ],
  "recv-buffer": ONE_WAY,
  "send-rate": [
    { title: "sent", metric: "sent", format: count },
    { title: "offered/s", metric: "offeredPerSecond", format: count },
    { title: "received", metric: "received", format: count },
    { title: "loss %", metric: "lossPercent", format: lossPercent },
    { title: "sender's own /s", metric: "senderPerSecond", format: count },
  ],
  "cli-listen": [
    { title: "offered", metric: "offered", format: count },
    { title: "offered/s", metric: "offeredPerSecond", format: count },
    { title: "received", metric: "received", format: count },
    { title: "CPU us/datagram", metric: "cpuMicrosPerDatagram", format: mib },
    { title: "loss %", metric: "lossPercent", format: lossPercent },
    { title: "kernel drops", metric: "kernelDrops", format: count },
    { title: "lines printed", metric: "linesPrinted", format: count },
  ],
  "fan-in-hosts": [
    { title: "hosts", metric: "hosts", format: count },
    { title: "replies", metric: "replies", format: count },
    { title: "responders", metric: "responders", format: count },
    { title: "kernel drops", metric: "kernelDrops", format: count },
    { title: "ms to last reply", metric: "lastReplyMs", format: ms },
  ],
  "mesh": [
    { title: "nodes", metric: "hosts", format: count },
    { title: "s to full matrix, all", metric: "fullMatrixSeconds", format: ms },
    { title: "median node", metric: "medianFullSeconds", format: ms },
    { title: "nodes full", metric: "fullNodes", format: count },
    { title: "s to all running", metric: "readySeconds", format: ms },
    { title: "CPU % p50", metric: "cpuPercentMedian", format: percent },
    { title: "CPU % max", metric: "cpuPercentMax", format: percent },
    { title: "RSS MiB p50", metric: "rssMiBMedian", format: mib },
    { title: "RSS MiB max", metric: "rssMiBMax", format: mib },
    { title: "verdict ok", metric: "finalOk", format: count },
  ],
};

function columnsOf(row: string): Column[] {
  const key = Object.keys(COLUMNS)
    .filter((prefix) => row.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  return key === undefined ? [] : COLUMNS[key];
}

function table(header: string[], lines: string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => line[i].length))
  );
  const render = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [
    render(header),
    `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`,
    ...lines.map(render),
  ].join("\n");
}

function rowTable(row: string, measurements: Measurement[]): string {
  const columns = columnsOf(row);
  const header = ["implementation", ...columns.map((c) => c.title), "runs"];
  const lines = measurements.map((m) => [
    m.side === "mcast" ? `**${m.label}**` : m.label,
    ...columns.map((c) => c.format(m.metrics[c.metric])),
    m.error === undefined ? String(m.runs.length) : `FAILED (${m.runs.length})`,
  ]);
  return table(header, lines);
}

/**
 * The printed report: every row's table, the ratios, skipped
 * implementations and failures.
 *
 * @param results The run's results.
 * @returns Markdown text.
 */
export function formatReport(results: BenchResults): string {
  const out: string[] = [];
  const labels = new Map(
    results.measurements.map((m) => [`${m.row}/${m.id}`, m.label]),
  );
  out.push(
    `# mcast bench (${results.plan}): ${results.machine.cpuModel}, ${results.machine.cpus} CPUs, ` +
      `Linux ${results.machine.kernel}, Deno ${results.machine.deno}; ` +
      `flooder ${results.flooder}; pinning: ${results.pinning}; ${
        results.durationSeconds.toFixed(0)
      } s; load average ${results.machine.loadAverageAtStart} at start, ${results.machine.loadAverageAtEnd} at end`,
  );
  for (const row of ROWS) {
    const here = results.measurements.filter((m) => m.row === row.id);
    out.push("", `## ${row.title}`, "");
    out.push(here.length === 0 ? "(nothing measured)" : rowTable(row.id, here));
  }
  out.push("", "## Ratios: mcast / baseline (primary metric of each row)", "");
  out.push(table(
    ["row", "mcast (or variant)", "baseline", "metric", "ratio", "better"],
    results.ratios.map((r) => [
      r.row,
      labels.get(`${r.row}/${r.subject}`) ?? r.subject,
      labels.get(`${r.row}/${r.baseline}`) ?? r.baseline,
      r.metric,
      `${r.ratio.toFixed(2)}x`,
      r.higherIsBetter ? "higher" : "lower",
    ]),
  ));
  if (results.skipped.length > 0) {
    out.push("", "Skipped:");
    for (const s of results.skipped) out.push(`- ${s.id}: ${s.reason}`);
  }
  const failed = results.measurements.filter((m) => m.error !== undefined);
  if (failed.length > 0) {
    out.push("", "Failures:");
    for (const m of failed) {
      out.push(
        `- ${m.row} ${m.label}${m.required ? "" : " (extra)"}: ${
          m.error!.split("\n")[0]
        }`,
      );
    }
  }
  return out.join("\n");
}
