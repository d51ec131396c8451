/**
 * The NDJSON line of a listener's message event with a text payload, the
 * line `listen --json` prints for every datagram of a flood: written from
 * a prefix kept for the sender (its address and port) and its group, so
 * that only the size and the payload are serialised per datagram. The
 * line is the one `JSON.stringify(event)` writes, key for key and byte
 * for byte (tests/listen_output_test.ts holds them to it, and the
 * listener's message event to its keys); 0.29 us a line where
 * `JSON.stringify` of the event took 0.45 (64-byte payloads, written out
 * in batches).
 *
 * @module
 */

import { type ListenEvent, PAYLOAD_BYTES } from "../lib/listener/events.ts";
import type { BatchedLines } from "./batched_lines.ts";
import { isPlainJsonText } from "./plain_json_text.ts";

const encoder = new TextEncoder();

/**
 * A listener event as `listen` receives it: with several groups, each
 * event carries the group it came to (`lib/listener/groups.ts`).
 */
export type TaggedListenEvent = ListenEvent & { group?: string };

/**
 * A listener event as the listener makes it: a message event also holds
 * its payload's bytes under {@linkcode PAYLOAD_BYTES}.
 */
export type ListenEventWithBytes = TaggedListenEvent & {
  [PAYLOAD_BYTES]?: Uint8Array;
};

/**
 * Writes message events with a text payload as NDJSON lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MessageJson } from "./message_json.ts";
 * const json = new MessageJson();
 * const time = "2026-12-07T18:00:00.000Z";
 * const event = {
 *   event: "message" as const,
 *   from: "127.0.0.1",
 *   port: 40000,
 *   size: 2,
 *   payload: "hi",
 * };
 * const { event: name, ...rest } = event;
 * assert.equal(
 *   json.line(event, time),
 *   JSON.stringify({ event: name, time, ...rest }),
 * );
 * assert.equal(json.line({ ...event, payload: new Uint8Array(2) }, time), undefined);
 * ```
 */
export class MessageJson {
  #time = "";
  #stamp = "";
  #from = "";
  #port = -1;
  #group: string | undefined;
  #head = "";
  #size = -1;
  /** The line up to the payload: stamp, head, size, for the latest of each. */
  #prefix = "";
  #tail = "}";
  /** `#prefix` and its opening quote as UTF-8, once asked for. */
  #prefixBytes: Uint8Array | undefined;
  /** The closing quote and `#tail` as UTF-8, once asked for. */
  #tailBytes: Uint8Array | undefined;

  /**
   * The event's line, as `JSON.stringify` writes it with `"time"` after
   * `"event"`; `undefined` for any other event (not a message, or a
   * payload that is no string), which the caller serialises itself.
   *
   * @param event A listener event.
   * @param time Its wall-clock time (ISO-8601, `wall_clock.ts`).
   * @returns The line, or `undefined`.
   */
  line(event: TaggedListenEvent, time: string): string | undefined {
    if (event.event !== "message" || typeof event.payload !== "string") {
      return undefined;
    }
    if (!this.#update(event, time)) return undefined;
    return this.#prefix + JSON.stringify(event.payload) + this.#tail;
  }

  /**
   * Queues the event's line as bytes when its payload's bytes are there
   * and go into the line as they are (`plain_json_text.ts`), the text
   * being their UTF-8 (the `text` codec's): the same bytes as
   * {@linkcode MessageJson.line}'s line, without serialising the text and
   * encoding it again.
   *
   * @param event A listener event.
   * @param time Its wall-clock time (ISO-8601, `wall_clock.ts`).
   * @param lines Where the line goes.
   * @returns Whether it was queued; when not, the caller writes the line.
   */
  writeBytes(
    event: ListenEventWithBytes,
    time: string,
    lines: BatchedLines,
  ): boolean {
    if (event.event !== "message") return false;
    const { payload } = event;
    const bytes = event[PAYLOAD_BYTES];
    if (
      typeof payload !== "string" || bytes === undefined ||
      !isPlainJsonText(bytes, payload) || !this.#update(event, time)
    ) {
      return false;
    }
    this.#prefixBytes ??= encoder.encode(this.#prefix + '"');
    this.#tailBytes ??= encoder.encode('"' + this.#tail);
    lines.outBytes(this.#prefixBytes, bytes, this.#tailBytes);
    return true;
  }

  /**
   * Brings the prefix and the tail up to the event; false for a group
   * that is no string (the caller serialises such an event itself).
   */
  #update(
    event: TaggedListenEvent & { event: "message" },
    time: string,
  ): boolean {
    const { from, port, group, size } = event;
    let changed = size !== this.#size;
    if (from !== this.#from || port !== this.#port) {
      this.#from = from;
      this.#port = port;
      this.#head = `"from":${JSON.stringify(from)},"port":${port},"size":`;
      changed = true;
    }
    if (time !== this.#time) {
      this.#time = time;
      this.#stamp = `{"event":"message","time":${JSON.stringify(time)},`;
      changed = true;
    }
    if (changed) {
      this.#size = size;
      this.#prefix = `${this.#stamp}${this.#head}${size},"payload":`;
      this.#prefixBytes = undefined;
    }
    if (group !== this.#group) {
      if (group !== undefined && typeof group !== "string") return false;
      this.#group = group;
      this.#tail = group === undefined
        ? "}"
        : `,"group":${JSON.stringify(group)}}`;
      this.#tailBytes = undefined;
    }
    return true;
  }
}
