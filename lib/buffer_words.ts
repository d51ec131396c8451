/**
 * A byte array's whole buffer seen as 32-bit words, for scans that test
 * four bytes at a time (`utf8.ts`'s ASCII check, `listen --json`'s check
 * for bytes a JSON string must escape). One view is kept while the buffer
 * stays the same (a listener's block of copies), so a scan makes none.
 *
 * @module
 */

/** The buffer of the view kept. */
let wordsBuffer: ArrayBufferLike | undefined;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);

/**
 * `bytes`' whole buffer as 32-bit words (native byte order), the view kept
 * while the buffer is the same. Word `i` holds bytes `4i .. 4i + 3` of the
 * buffer, not of `bytes`: a scan works out which words lie wholly inside
 * `bytes` from its `byteOffset`.
 *
 * @param bytes Any byte array.
 * @returns Its buffer as 32-bit words (a trailing partial word left out).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bufferWords } from "./buffer_words.ts";
 * const bytes = new Uint8Array(16).subarray(4);
 * assert.equal(bufferWords(bytes).length, 4);
 * assert.equal(bufferWords(bytes), bufferWords(bytes.subarray(2)));
 * ```
 */
export function bufferWords(bytes: Uint8Array): Int32Array<ArrayBufferLike> {
  if (bytes.buffer !== wordsBuffer) {
    wordsBuffer = bytes.buffer;
    words = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
  }
  return words;
}

/**
 * Below this many bytes a scan reads a byte at a time: on this project's
 * machine a byte-at-a-time scan cost ~1 ns a byte (1.4 us for 1,400
 * bytes), a word-at-a-time one a quarter of that, and for a few dozen
 * bytes the words' set-up costs more than it saves.
 */
export const WORDS_FROM = 64;

/**
 * Where a byte array lies against its buffer's 32-bit words
 * ({@linkcode wordSpan}): `bytes[0..head)` before the first whole word,
 * words `[first, end)` of {@linkcode bufferWords} wholly inside it,
 * `bytes[tail..length)` after the last.
 */
export interface WordSpan {
  /** Bytes before the first whole word. */
  head: number;
  /** The first whole word's index in the buffer's words. */
  first: number;
  /** One past the last whole word's index. */
  end: number;
  /** Where the bytes after the last whole word start, in `bytes`. */
  tail: number;
}

/** The one span {@linkcode wordSpan} fills: no object per scan. */
const span: WordSpan = { head: 0, first: 0, end: 0, tail: 0 };

/**
 * Splits `bytes` into the bytes before its first whole 32-bit word of the
 * buffer, those words, and the bytes after them, for a scan that tests the
 * words four bytes at a time and the rest a byte at a time. The object
 * returned is filled again by the next call: read it at once.
 *
 * @param bytes A byte array of at least 4 bytes.
 * @returns Its span (reused).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wordSpan } from "./buffer_words.ts";
 * const bytes = new Uint8Array(32).subarray(3, 13);
 * const { head, first, end, tail } = wordSpan(bytes);
 * assert.deepEqual([head, first, end, tail], [1, 1, 3, 9]);
 * ```
 */
export function wordSpan(bytes: Uint8Array): WordSpan {
  const offset = bytes.byteOffset;
  span.head = (4 - (offset & 3)) & 3;
  span.first = (offset + span.head) >>> 2;
  span.end = (offset + bytes.length) >>> 2;
  span.tail = (span.end << 2) - offset;
  return span;
}
