/**
 * The wall-clock time every `--json` event of `send` and `listen` carries
 * (`"time"`, ISO-8601 UTC to the millisecond), for a monitoring pipeline
 * that stores events as they come. The string is made once per
 * millisecond: `listen --json` stamps every datagram's line.
 *
 * @module
 */

let lastMs = NaN;
let lastIso = "";

/**
 * Now, as ISO-8601 UTC (`2026-12-07T18:04:54.642Z`).
 *
 * @returns The time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isoNow } from "./wall_clock.ts";
 * assert.match(isoNow(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
 * ```
 */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * An NDJSON line of an event with `"time"` put after its `"event"` (or
 * first, when it has none): the line itself is not parsed again.
 *
 * @param line `JSON.stringify` of an event object.
 * @param time The time to stamp. @default now
 * @returns The stamped line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stamped } from "./wall_clock.ts";
 * const line = stamped('{"event":"lost","seq":4}', "2026-12-07T18:00:00.000Z");
 * assert.equal(line, '{"event":"lost","time":"2026-12-07T18:00:00.000Z","seq":4}');
 * ```
 */
export function stamped(line: string, time: string = isoNow()): string {
  const field = `"time":"${time}"`;
  if (!line.startsWith('{"event":')) {
    return line === "{}" ? `{${field}}` : `{${field},${line.slice(1)}`;
  }
  // The end of the event's name: its closing quote, past any escape.
  let end = '{"event":"'.length;
  while (end < line.length && line[end] !== '"') {
    end += line[end] === "\\" ? 2 : 1;
  }
  end++;
  return line[end] === ","
    ? `${line.slice(0, end + 1)}${field},${line.slice(end + 1)}`
    : `${line.slice(0, end)},${field}${line.slice(end)}`;
}
