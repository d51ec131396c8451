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
