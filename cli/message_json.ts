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

import type { ListenEvent } from "../lib/listener/events.ts";

/**
 * A listener event as `listen` receives it: with several groups, each
 * event carries the group it came to (`lib/listener/groups.ts`).
 */
export type TaggedListenEvent = ListenEvent & { group?: string };

/**
 * Writes message events with a text payload as NDJSON lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MessageJson } from "./message_json.ts";
 * const json = new MessageJson();
 * const event = {
 *   event: "message" as const,
 *   from: "127.0.0.1",
 *   port: 40000,
 *   size: 2,
 *   payload: "hi",
 * };
 * assert.equal(json.line(event), JSON.stringify(event));
 * assert.equal(json.line({ ...event, payload: new Uint8Array(2) }), undefined);
 * ```
 */
export class MessageJson {
  #from = "";
  #port = -1;
  #group: string | undefined;
  #head = "";
  #tail = "}";

  /**
   * The event's line, as `JSON.stringify(event)` writes it; `undefined`
   * for any other event (not a message, or a payload that is no string),
   * which the caller serialises itself.
   *
   * @param event A listener event.
   * @returns The line, or `undefined`.
   */
  line(event: TaggedListenEvent): string | undefined {
    if (event.event !== "message" || typeof event.payload !== "string") {
      return undefined;
    }
    const { from, port, group } = event;
    if (from !== this.#from || port !== this.#port) {
      this.#from = from;
      this.#port = port;
      this.#head = `{"event":"message","from":${
        JSON.stringify(from)
      },"port":${port},"size":`;
    }
    if (group !== this.#group) {
      if (group !== undefined && typeof group !== "string") return undefined;
      this.#group = group;
      this.#tail = group === undefined
        ? "}"
        : `,"group":${JSON.stringify(group)}}`;
    }
    return this.#head + event.size + ',"payload":' +
      JSON.stringify(event.payload) + this.#tail;
  }
}
