/**
 * The protocol every bench receiver speaks, whatever its language
 * (`receivers/*.ts`, `receivers/*.py`, `receivers/*.mjs`), and its Deno
 * half.
 *
 * Command line: `MODE GROUP PORT MAX_SECONDS LISTENERS [--key=value...]`.
 * MODE is `sink` (count, never answer) or `ack` (answer `ack` to the
 * sender, unicast). LISTENERS sockets (or `listen()` calls) join GROUP on
 * 127.0.0.1, bound to GROUP:PORT.
 *
 * Standard output, one JSON object a line:
 * - `{"event":"ready"}` once every socket has joined;
 * - `{"event":"reset"}` after a `reset` line on standard input (counters
 *   back to zero, e.g. after a warm-up);
 * - `{"event":"report","received":N,"replied":M,"seconds":S}` after a
 *   `stop` line or the end of standard input, once nothing has arrived
 *   for 100 ms (at most 2 s later); S is the time from the first to the
 *   last datagram counted. The receiver then exits 0.
 *
 * A receiver stops by itself after MAX_SECONDS.
 *
 * @module
 */

import { assertBenchEndpoint, type Endpoint } from "./addresses.ts";

/** `sink`: count only. `ack`: answer every datagram with `ack`. */
export type ReceiverMode = "sink" | "ack";

/** A receiver's parsed command line. */
export interface ReceiverArgs extends Endpoint {
  /** What to do with each datagram. */
  mode: ReceiverMode;
  /** Exit after this long whatever happens. */
  maxSeconds: number;
  /** Sockets (listeners) to open on the group. */
  listeners: number;
  /** `--key=value` extras, per receiver. */
  flags: Record<string, string>;
}

/** A receiver's last word. */
export interface ReceiverReport {
  /** Datagrams counted since the last reset. */
  received: number;
  /** Replies sent since the last reset (`ack` mode). */
  replied: number;
  /** Seconds from the first to the last datagram counted. */
  seconds: number;
}

/**
 * Parses and checks a receiver's command line.
 *
 * @param args `Deno.args`.
 * @returns The parsed arguments.
 * @throws {RangeError} for a bad value or an endpoint outside the bench's range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseReceiverArgs } from "./receiver_protocol.ts";
 * const args = parseReceiverArgs(["ack", "239.50.0.1", "50000", "5", "1", "--codec=text"]);
 * assert.equal(args.mode, "ack");
 * assert.equal(args.flags.codec, "text");
 * ```
 */
export function parseReceiverArgs(args: string[]): ReceiverArgs {
  const [mode, group, port, maxSeconds, listeners, ...rest] = args;
  if (mode !== "sink" && mode !== "ack") {
    throw new RangeError(`Receiver mode must be sink or ack, not ${mode}`);
  }
  const parsed: ReceiverArgs = {
    mode,
    group,
    port: Number(port),
    maxSeconds: Number(maxSeconds),
    listeners: Number(listeners),
    flags: {},
  };
  assertBenchEndpoint(parsed);
  if (!(parsed.maxSeconds > 0 && parsed.maxSeconds <= 120)) {
    throw new RangeError(`Receiver MAX_SECONDS must be in (0, 120]`);
  }
  if (
    !Number.isInteger(parsed.listeners) || parsed.listeners < 1 ||
    parsed.listeners > 200
  ) {
    throw new RangeError(`Receiver LISTENERS must be 1-200`);
  }
  for (const flag of rest) {
    const match = /^--([\w-]+)=(.*)$/.exec(flag);
    if (match === null) throw new RangeError(`Bad receiver flag ${flag}`);
    parsed.flags[match[1]] = match[2];
  }
  return parsed;
}

/** Counters of a receiver, bumped once per datagram. */
export class Tally {
  /** Datagrams since the last reset. */
  received = 0;
  /** Replies since the last reset. */
  replied = 0;
  /** `performance.now()` of the first datagram since the last reset. */
  firstAt = 0;
  /** `performance.now()` of the latest datagram. */
  lastAt = 0;

  /** Counts one datagram. */
  hit(): void {
    const now = performance.now();
    if (this.received++ === 0) this.firstAt = now;
    this.lastAt = now;
  }

  /** Back to zero. */
  reset(): void {
    this.received = 0;
    this.replied = 0;
    this.firstAt = 0;
    this.lastAt = 0;
  }

  /**
   * The report as the protocol prints it.
   *
   * @returns Counters and the first-to-last span.
   */
  report(): ReceiverReport {
    return {
      received: this.received,
      replied: this.replied,
      seconds: (this.lastAt - this.firstAt) / 1000,
    };
  }
}

function print(line: object): void {
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(line) + "\n"));
}

/**
 * Speaks the protocol for a Deno receiver whose sockets are open: prints
 * `ready`, obeys `reset` and `stop` on standard input, stops by itself
 * after `maxSeconds`, then closes, reports and exits.
 *
 * @param tally The receiver's counters.
 * @param maxSeconds The hard limit.
 * @param hooks `close` closes the receiver's sockets and may update the
 *   tally (e.g. replies); `reset` runs after the tally is zeroed.
 * @returns Never: the process exits.
 */
export async function serveReceiverProtocol(
  tally: Tally,
  maxSeconds: number,
  hooks: { close: () => Promise<void>; reset?: () => void },
): Promise<never> {
  const limit = setTimeout(() => void finish(), maxSeconds * 1000);
  let finishing: Promise<never> | undefined;
  const finish = (): Promise<never> =>
    finishing ??= (async () => {
      clearTimeout(limit);
      const stopAt = performance.now();
      while (true) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const now = performance.now();
        const idle = tally.received === 0 || now - tally.lastAt >= 100;
        if (idle || now - stopAt >= 2000) break;
      }
      await hooks.close();
      print({ event: "report", ...tally.report() });
      Deno.exit(0);
    })();

  print({ event: "ready" });
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line === "reset") {
        tally.reset();
        hooks.reset?.();
        print({ event: "reset" });
      } else if (line === "stop") {
        return await finish();
      }
    }
  }
  return await finish();
}
