/**
 * What one group's `send` run says besides its replies and its table:
 * requests the OS refused, as they happen (cli/send_error_lines.ts) and
 * in the summary line, and after the summary the hints that explain a
 * run nobody answered or that lost what a listener's rate limit would
 * (cli/listener_limits.ts, cli/interface_hint.ts).
 *
 * @module
 */

import type { SocketError } from "../lib/errors.ts";
import type { SendSummary } from "../lib/sender/sender.ts";
import type { Family } from "../lib/transports/transport.ts";
import { multicastOffHint } from "./interface_hint.ts";
import { listenerLimitsHint, type RunPace } from "./listener_limits.ts";
import { countsText, SendErrorLines } from "./send_error_lines.ts";

/** How a run's notes are printed, and what they need to know. */
export interface SendNotesOptions {
  /** NDJSON instead of text. */
  json: boolean;
  /** The group, to tag lines with when several run at once. */
  group?: string;
  /** `-i` as given, for the multicast hint. */
  iface?: string;
  /** The group's family. */
  family: Family;
}

/**
 * `1800 not sent (EPERM 200; loss counts only the 1800 that left), `: the
 * summary line's part about refused requests, empty when none were.
 *
 * @param summary The run's summary.
 * @returns The words, ending in `, ` when there are any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notSentText } from "./send_notes.ts";
 * assert.equal(
 *   notSentText({ sent: 1800, sendErrors: { EPERM: 200 } }),
 *   "200 not sent (EPERM 200; loss counts only the 1800 that left), ",
 * );
 * assert.equal(notSentText({ sent: 5 }), "");
 * ```
 */
export function notSentText(
  summary: Pick<SendSummary, "sent" | "sendErrors">,
): string {
  const errors = summary.sendErrors;
  if (errors === undefined) return "";
  const count = Object.values(errors).reduce((a, b) => a + b, 0);
  return `${count} not sent (${
    countsText(errors)
  }; loss counts only the ${summary.sent} that left), `;
}

/**
 * One group's notes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SendNotes } from "./send_notes.ts";
 * const notes = new SendNotes(() => {}, { json: false, family: "IPv4" });
 * notes.sent();
 * assert.equal(notes.numbered(10), 10);
 * ```
 */
export class SendNotes {
  readonly #lines: SendErrorLines;
  readonly #options: SendNotesOptions;
  #failed = 0;
  #firstSentAt: number | undefined;
  #lastSentAt = 0;

  /**
   * Lines go to `print` (stderr for text, stdout for NDJSON is the
   * caller's choice).
   *
   * @param print Prints one line about refused sends.
   * @param options Output form, group, interface and family.
   */
  constructor(print: (line: string) => void, options: SendNotesOptions) {
    this.#options = options;
    this.#lines = new SendErrorLines(print, options);
  }

  /** A send left (`onSent`): the run's pace is timed from here. */
  sent(): void {
    const now = performance.now();
    this.#firstSentAt ??= now;
    this.#lastSentAt = now;
  }

  /**
   * The requests numbered so far, those that left and those refused (the
   * report places requests by number).
   *
   * @param sent Those that left (`onSent`'s count).
   */
  numbered(sent: number): number {
    return sent + this.#failed;
  }

  /**
   * Sends failed and the run goes on (`onSendError`).
   *
   * @param error The failure.
   * @param counts The failures so far, by errno.
   */
  sendError(
    error: SocketError,
    counts: Readonly<Record<string, number>>,
  ): void {
    this.#failed = Object.values(counts).reduce((a, b) => a + b, 0);
    this.#lines.error(error, counts);
  }

  /**
   * The hints for the run's summary: which listener limits could explain
   * its loss; with no reply at all, an interface with multicast off.
   *
   * @param summary The run's summary.
   * @returns Lines starting `hint: `, none when nothing needs explaining.
   */
  hints(summary: SendSummary): string[] {
    // Every reply counted came while the run lasted: a listener's bucket
    // refilled from the first request to the run's end, no longer.
    const seconds = (performance.now() - (this.#firstSentAt ?? 0)) / 1000;
    const pace: RunPace = {
      sent: summary.sent,
      seconds,
      rate: summary.sent /
        Math.max((this.#lastSentAt - (this.#firstSentAt ?? 0)) / 1000, 1e-3),
      rows: summary.perResponder ?? [],
    };
    const hints = [listenerLimitsHint(pace)];
    if (summary.replies === 0) {
      hints.push(multicastOffHint(this.#options.iface, this.#options.family));
    }
    return hints.filter((hint) => hint !== undefined);
  }
}
