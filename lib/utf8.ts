/**
 * UTF-8 for the reply path. Deno's `TextEncoder.encode` crosses into
 * native code on every call (~1.2 µs for "ack" on this machine, measured),
 * far more than a responder's work; most responders answer the same text
 * again and again, so a one-entry memo makes that ~10 ns. Decoding is
 * strict: invalid UTF-8 is an error, never replaced.
 *
 * Deno's strict (`fatal`) `TextDecoder` takes a slower path than its
 * replacing one: 1.06-1.38 µs against 0.29-0.36 µs for 1,400 ASCII bytes,
 * 0.39 µs against 0.15 µs for 64 (measured on this machine, Deno 2.9.6).
 * So text is decoded the fast way first; only a result holding U+FFFD, the
 * replacement character, is decoded again strictly, to tell invalid bytes
 * from a real U+FFFD. Without one, every byte was valid UTF-8: the same
 * string, the same errors.
 *
 * @module
 */

import { bufferWords, WORDS_FROM, wordSpan } from "./buffer_words.ts";

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const replacing = new TextDecoder("utf-8", { ignoreBOM: true });
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
 * assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbf, 0xbd])), "\uFFFD");
 * assert.throws(() => decodeUtf8(new Uint8Array([0xff])), TypeError);
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string {
  const length = bytes.length;
  if (length > MEMO_BYTES) return decodeNative(bytes);
  if (length === memo.length) {
    let i = 0;
    while (i < length && bytes[i] === memo.bytes[i]) i++;
    if (i === length) return memo.text;
  }
  const text = decodeNative(bytes);
  memo.bytes.set(bytes);
  memo.length = length;
  memo.text = text;
  return text;
}

/**
 * Up to this many bytes, {@linkcode decodeUtf8} remembers the bytes it
 * decoded last and their text: replies to a ping-pong ("ack") and most
 * requests repeat, and comparing a few dozen bytes (~15-90 ns here) costs
 * less than crossing into native code (~180-300 ns, measured on this
 * project's machine for 3 and 56 bytes).
 */
const MEMO_BYTES = 64;
/** The short bytes decoded last (`length` of them; -1: none yet) and their text. */
const memo = { bytes: new Uint8Array(MEMO_BYTES), length: -1, text: "" };

/** Decodes in native code: the replacing decoder, the strict one when a U+FFFD needs telling apart. */
function decodeNative(bytes: Uint8Array): string {
  const text = replacing.decode(bytes);
  return text.indexOf("\uFFFD") === -1 ? text : strict.decode(bytes);
}

/**
 * Whether every byte is ASCII (below 0x80): then the bytes are valid
 * UTF-8, and their text has one character a byte. In JavaScript: for a
 * request of some dozens of bytes, cheaper than crossing into native code;
 * from 64 bytes on, 32-bit words at a time (a byte at a time, the text
 * codec's check took row 7's `listen -q` from 1,000,000 of a 1,400-byte
 * flood to 934k-941k).
 *
 * @param bytes The payload.
 * @returns True when no byte has its top bit set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isAscii } from "./utf8.ts";
 * assert.equal(isAscii(new Uint8Array([104, 105])), true);
 * assert.equal(isAscii(new Uint8Array([0xc3, 0xa9])), false);
 * ```
 */
export function isAscii(bytes: Uint8Array): boolean {
  const length = bytes.length;
  if (length < WORDS_FROM) return bytesBelow0x80(bytes, 0, length);
  // The bytes before the first whole 32-bit word and after the last.
  const { head, first, end, tail } = wordSpan(bytes);
  if (
    !bytesBelow0x80(bytes, 0, head) || !bytesBelow0x80(bytes, tail, length)
  ) {
    return false;
  }
  const words = bufferWords(bytes);
  let any = 0;
  let i = first;
  for (; i + 4 <= end; i += 4) {
    any |= words[i] | words[i + 1] | words[i + 2] | words[i + 3];
  }
  for (; i < end; i++) any |= words[i];
  return (any & 0x80808080) === 0;
}

/** Whether every byte of `bytes[from..to)` is below 0x80. */
function bytesBelow0x80(bytes: Uint8Array, from: number, to: number): boolean {
  let any = 0;
  for (let i = from; i < to; i++) any |= bytes[i];
  return any < 0x80;
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
