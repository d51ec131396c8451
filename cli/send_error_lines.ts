/**
 * `send`'s lines about requests that did not leave. A send the OS refuses
 * after the first is counted and the run goes on (lib/sender/send_failures.ts);
 * the person running it is told at most once a second: the first line
 * about an errno says it in the errno's sentence (the same one a failed
 * first send ends the run with), later lines give the counts so far. With
 * `--json`, the same as `sendError` events.
 *
 * @module
 */

import type { SocketError } from "../lib/errors.ts";
import { ndjson } from "./io.ts";
import { stamped } from "./wall_clock.ts";

/** The least time between two lines, in milliseconds. */
const LINE_EVERY_MS = 1000;

/**
 * `EPERM 12, ENOBUFS 3`: failures by errno, most first.
 *
 * @param counts Failures by errno.
 * @returns The counts in words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countsText } from "./send_error_lines.ts";
 * assert.equal(countsText({ ENOBUFS: 3, EPERM: 12 }), "EPERM 12, ENOBUFS 3");
 * ```
 */
export function countsText(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).sort((a, b) => b[1] - a[1])
    .map(([errno, count]) => `${errno} ${count}`).join(", ");
}

/**
 * The gate in front of the lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketError } from "../lib/errors.ts";
 * import { SendErrorLines } from "./send_error_lines.ts";
 * const printed: string[] = [];
 * const lines = new SendErrorLines((line) => printed.push(line), { json: false });
 * const refused = new SocketError("Cannot send 2 bytes to 239.1.2.3:5000: a firewall rule ... (EPERM)", { errno: "EPERM" });
 * lines.error(refused, { EPERM: 1 }, 0);
 * lines.error(refused, { EPERM: 2 }, 500); // within the second: no line
 * lines.error(refused, { EPERM: 3 }, 1000);
 * assert.deepEqual(printed, [
 *   "Cannot send 2 bytes to 239.1.2.3:5000: a firewall rule ... (EPERM); counting such sends and going on (not sent so far: EPERM 1)",
 *   "not sent so far: EPERM 3",
 * ]);
 * ```
 */
export class SendErrorLines {
  readonly #print: (line: string) => void;
  readonly #json: boolean;
  readonly #group: string | undefined;
  #lastAt = -Infinity;
  /** The errnos a line has said in their sentence. */
  readonly #named = new Set<string>();

  /**
   * Lines go to `print`: text, or NDJSON with `json`, tagged with `group`
   * when given (several groups at once).
   *
   * @param print Prints one line.
   * @param options Output form, and the group to tag lines with.
   */
  constructor(
    print: (line: string) => void,
    options: { json: boolean; group?: string },
  ) {
    this.#print = print;
    this.#json = options.json;
    this.#group = options.group;
  }

  /**
   * Sends failed (`onSendError`): a line, unless one was printed less
   * than a second ago.
   *
   * @param error The failure, with its sentence and errno.
   * @param counts The failures so far, by errno.
   * @param now The time. @default performance.now()
   */
  error(
    error: SocketError,
    counts: Readonly<Record<string, number>>,
    now: number = performance.now(),
  ): void {
    if (now - this.#lastAt < LINE_EVERY_MS) return;
    this.#lastAt = now;
    const errno = error.errno ?? "UNKNOWN";
    const first = !this.#named.has(errno);
    this.#named.add(errno);
    if (this.#json) {
      const group = this.#group === undefined ? {} : { group: this.#group };
      this.#print(stamped(ndjson({
        event: "sendError",
        ...group,
        errno,
        message: error.message,
        sendErrors: { ...counts },
      })));
      return;
    }
    const tag = this.#group === undefined ? "" : `[${this.#group}] `;
    const so = `not sent so far: ${countsText(counts)}`;
    this.#print(
      first
        ? `${tag}${error.message}; counting such sends and going on (${so})`
        : `${tag}${so}`,
    );
  }
}
