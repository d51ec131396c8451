/**
 * `send --rtt-log FILE.csv`: one row per request and responder, like
 * sockperf's `--full-log`, written as the run goes (a 64 KiB buffer,
 * flushed at least once a second and at the end), so memory stays
 * constant however long the run. Columns:
 *
 * - `seq`: the request, counted from 0 in the run (without `--seq`, the
 *   latest request when the reply came);
 * - `send_time`: when it left, Unix time in seconds to the microsecond;
 * - `responder`: `address:port`;
 * - `rtt_ms`: its round trip to the microsecond, or empty when its wait
 *   ran out without this responder's reply (`--seq`; a responder is
 *   logged from its first reply on). A reply after that still gets its
 *   row, so a late answer shows as an empty row, then a row with its RTT.
 *
 * A duplicate reply gets no row.
 *
 * @module
 */

import { formatEndpoint } from "../lib/address.ts";
import type { SendReply } from "../lib/sender/events.ts";

/** The header line. */
export const RTT_LOG_HEADER = "seq,send_time,responder,rtt_ms";

/** Bytes kept before a write. */
const FLUSH_BYTES = 64 * 1024;
/** The longest a row waits to be written, ms. */
const FLUSH_MS = 1000;

const encoder = new TextEncoder();

/** Unix time in seconds, to the microsecond, of `performance.now() - agoMs`. */
function unixSeconds(agoMs: number): string {
  return ((performance.timeOrigin + performance.now() - agoMs) / 1000)
    .toFixed(6);
}

/**
 * The streamed CSV of a run.
 *
 * @example
 * ```ts ignore
 * import { RttLog } from "./rtt_log.ts";
 * await using log = RttLog.create("/tmp/rtt.csv");
 * log.reply({ from: "10.0.0.1", port: 5000, rttMs: 0.25, seq: 0 }, 0);
 * log.lost({ seq: 1, from: "10.0.0.1", port: 5000, waitedMs: 1000 });
 * ```
 */
export class RttLog implements AsyncDisposable {
  readonly #file: Deno.FsFile;
  #chunk = "";
  #timer: ReturnType<typeof setInterval> | undefined;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
    this.#chunk = `${RTT_LOG_HEADER}\n`;
    this.#timer = setInterval(() => this.flush(), FLUSH_MS);
  }

  /**
   * Creates (or empties) the file and writes the header.
   *
   * @param path Where.
   * @returns The log; close it at the end.
   * @throws {Deno.errors.NotFound|Deno.errors.PermissionDenied} when it cannot be written.
   */
  static create(path: string): RttLog {
    return new RttLog(
      Deno.openSync(path, { write: true, create: true, truncate: true }),
    );
  }

  /**
   * A reply event's row (none for a duplicate).
   *
   * @param reply The reply.
   * @param latest Without `--seq`: the latest request's number.
   */
  reply(
    reply: Pick<SendReply, "from" | "port" | "rttMs" | "seq" | "duplicate">,
    latest: number,
  ): void {
    if (reply.duplicate === true) return;
    this.#row(
      reply.seq ?? latest,
      unixSeconds(reply.rttMs),
      formatEndpoint(reply.from, reply.port),
      reply.rttMs.toFixed(3),
    );
  }

  /**
   * A lost request's row (its RTT empty).
   *
   * @param lost The request, the responder, and how long ago it left.
   */
  lost(
    lost: { seq: number; from: string; port: number; waitedMs: number },
  ): void {
    this.#row(
      lost.seq,
      unixSeconds(lost.waitedMs),
      formatEndpoint(lost.from, lost.port),
      "",
    );
  }

  /** Writes what is kept. */
  flush(): void {
    if (this.#chunk === "") return;
    const bytes = encoder.encode(this.#chunk);
    this.#chunk = "";
    let written = 0;
    while (written < bytes.length) {
      written += this.#file.writeSync(bytes.subarray(written));
    }
  }

  /** Writes the rest and closes the file; idempotent. */
  close(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
    this.#file.close();
  }

  /** Same as {@linkcode RttLog.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #row(seq: number, sendTime: string, responder: string, rtt: string): void {
    this.#chunk += `${seq},${sendTime},${responder},${rtt}\n`;
    if (this.#chunk.length >= FLUSH_BYTES) this.flush();
  }
}
