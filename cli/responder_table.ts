/**
 * The responder table at the end of a `send` run: one row per responder
 * (address, port, replies, loss, with `--seq` the loss from its first
 * reply on, RTT min/p50/p90/p99/p99.9/max/avg/stddev and jitter), and,
 * when its
 * replies are `status` documents, the name, hostname and version they
 * carry. People get it aligned; `--json` gets the rows in the summary.
 *
 * @module
 */

import { formatEndpoint } from "../lib/address.ts";
import type { ResponderSummary } from "../lib/sender/round_trip_stats.ts";
import type { SendReply } from "../lib/sender/sender.ts";

/** What a `status` document says about its listener. */
export interface StatusColumns {
  /** The listener's name (`--option name=...`). */
  name: string;
  /** Its host's name. */
  hostname: string;
  /** Its mcast version. */
  version: string;
}

/** One row: the library's responder summary, plus status columns when known. */
export type ResponderRow = ResponderSummary & Partial<StatusColumns>;

/** The status fields of a reply, when it is a `status` document (text or JSON codec). */
export function statusColumns(payload: unknown): StatusColumns | undefined {
  let value = payload;
  if (typeof payload === "string") {
    if (!payload.startsWith("{")) return undefined;
    try {
      value = JSON.parse(payload);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { name, hostname, version } = value as Record<string, unknown>;
  if (
    typeof name !== "string" || typeof hostname !== "string" ||
    typeof version !== "string"
  ) return undefined;
  return { name, hostname, version };
}

/**
 * Collects the status columns of each responder from its replies (the
 * first status document it sent), and joins them to the summary's rows.
 */
export class ResponderTable {
  readonly #status = new Map<string, StatusColumns | null>();
  /** The responder of the reply before, and its key in `#status`. */
  #last = { from: "", port: -1, key: "" };

  /** Looks at one reply; a responder's first status document is kept. */
  note(reply: SendReply): void {
    if (reply.decodeError !== undefined || reply.verified === false) return;
    // Most replies come from the responder before: its key is made once.
    if (reply.from !== this.#last.from || reply.port !== this.#last.port) {
      const { from, port } = reply;
      this.#last = { from, port, key: `${from}\u0000${port}` };
    }
    const { key } = this.#last;
    if (this.#status.get(key)) return;
    this.#status.set(key, statusColumns(reply.payload) ?? null);
  }

  /** The summary's rows with the status columns added. */
  rows(perResponder: readonly ResponderSummary[]): ResponderRow[] {
    return perResponder.map((row) => {
      const status = this.#status.get(`${row.from}\u0000${row.port}`);
      return status ? { ...row, ...status } : { ...row };
    });
  }
}

/** A number of milliseconds as the table shows it. */
function ms(value: number | undefined): string {
  return value === undefined ? "-" : String(value);
}

/**
 * The table as aligned lines: a header, then one line per row. Duplicate
 * and reordering columns appear when a row has any, the unmatched column
 * (replies that answered none of the run's requests) too, the loss from
 * the first reply on (`since 1st`: `0% (>=3)`, omping's `seq>=N`) when a
 * row has it; status columns when a row has them. No lines for no rows.
 */
export function tableLines(rows: readonly ResponderRow[]): string[] {
  if (rows.length === 0) return [];
  const sequenced = rows.some((row) => row.duplicates + row.reordered > 0);
  const unmatched = rows.some((row) => (row.unmatched ?? 0) > 0);
  const status = rows.some((row) => row.hostname !== undefined);
  const fromFirst = rows.some((row) => row.fromFirst !== undefined);
  const header = [
    "responder",
    "replies",
    "loss",
    ...(fromFirst ? ["since 1st"] : []),
    ...(sequenced ? ["dup", "reord"] : []),
    ...(unmatched ? ["unmatched"] : []),
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
  const body = rows.map((row) => [
    formatEndpoint(row.from, row.port),
    String(row.replies),
    `${row.lossPercent}%`,
    ...(fromFirst
      ? [
        row.fromFirst === undefined
          ? "-"
          : `${row.fromFirst.lossPercent}% (>=${row.fromFirst.seq})`,
      ]
      : []),
    ...(sequenced ? [String(row.duplicates), String(row.reordered)] : []),
    ...(unmatched ? [String(row.unmatched ?? 0)] : []),
    ms(row.rttMs?.min),
    ms(row.rttMs?.p50),
    ms(row.rttMs?.p90),
    ms(row.rttMs?.p99),
    ms(row.rttMs?.p999),
    ms(row.rttMs?.max),
    ms(row.rttMs?.avg),
    ms(row.rttMs?.stddev),
    ms(row.jitterMs ?? undefined),
    ...(status
      ? [row.name ?? "-", row.hostname ?? "-", row.version ?? "-"]
      : []),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column].length))
  );
  // The address and the status columns read left to right; numbers align right.
  const left = (column: number) =>
    column === 0 || column >= header.length - (status ? 3 : 0);
  return [header, ...body].map((cells) =>
    cells.map((cell, column) =>
      left(column) ? cell.padEnd(widths[column]) : cell.padStart(widths[column])
    ).join("  ").trimEnd()
  );
}
