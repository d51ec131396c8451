/**
 * Whether a text payload goes into a JSON string as its bytes are: printable
 * ASCII without `"` or `\`, which `JSON.stringify` copies between its quotes
 * unchanged. Then `listen --json` copies the datagram's bytes into its output
 * instead of serialising the text and encoding it again (`message_json.ts`).
 * Most of the question is answered natively: a text as long as its UTF-8 is
 * ASCII, and `indexOf` finds a quote or a backslash; what is left, a byte
 * below 0x20, is looked for four bytes at a time.
 *
 * @module
 */

import { bufferWords, WORDS_FROM, wordSpan } from "../lib/buffer_words.ts";

/** Whether any of `bytes[from..to)` is below 0x20. */
function controlIn(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] < 0x20) return true;
  return false;
}

/**
 * Whether any byte of ASCII `bytes` is below 0x20. For each 32-bit word,
 * adding 0x60 to every byte sets the byte's top bit exactly when the byte
 * is 0x20 or more (an ASCII byte plus 0x60 stays below 0x100: no carry
 * into the next byte), so the words ANDed together keep every top bit
 * unless some byte is below 0x20.
 */
function asciiControlIn(bytes: Uint8Array): boolean {
  const length = bytes.length;
  if (length < WORDS_FROM) return controlIn(bytes, 0, length);
  // The bytes before the first whole word, and after the last.
  const { head, first, end, tail } = wordSpan(bytes);
  if (controlIn(bytes, 0, head) || controlIn(bytes, tail, length)) return true;
  const w = bufferWords(bytes);
  let all = -1;
  let i = first;
  for (; i + 4 <= end; i += 4) {
    all &= (w[i] + 0x60606060) & (w[i + 1] + 0x60606060) &
      (w[i + 2] + 0x60606060) & (w[i + 3] + 0x60606060);
  }
  for (; i < end; i++) all &= w[i] + 0x60606060;
  return (all & 0x80808080) !== (0x80808080 | 0);
}

/**
 * Whether `JSON.stringify(text)` is `"` + `bytes` + `"` byte for byte,
 * given that `text` is `bytes` decoded as UTF-8: every byte printable
 * ASCII (0x20-0x7f), none a `"` or a `\`.
 *
 * @param bytes A payload's bytes.
 * @param text The same payload, decoded as UTF-8.
 * @returns Whether the bytes may be copied between quotes as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlainJsonText } from "./plain_json_text.ts";
 * const plain = (text: string) =>
 *   isPlainJsonText(new TextEncoder().encode(text), text);
 * assert.equal(plain("hello, world"), true);
 * assert.equal(plain('say "hi"'), false);
 * assert.equal(plain("tab\there"), false);
 * assert.equal(plain("héllo"), false);
 * ```
 */
export function isPlainJsonText(bytes: Uint8Array, text: string): boolean {
  // Any character beyond ASCII takes more UTF-8 bytes than UTF-16 units.
  return text.length === bytes.length && text.indexOf('"') === -1 &&
    text.indexOf("\\") === -1 && !asciiControlIn(bytes);
}
