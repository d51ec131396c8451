// lib/utf8.ts's isAscii reads 32-bit words from 64 bytes on: a byte with its
// top bit set must be found wherever it is (the bytes before the first whole
// word, inside the words, after the last), at every alignment of the view,
// and the text codec's check must agree with its decode.
import assert from "node:assert/strict";
import { isAscii } from "../lib/utf8.ts";
import { text } from "../plugins/codecs/text.ts";

/** `length` bytes of `fill` at `offset` in a larger buffer of high bytes. */
function placed(length: number, offset: number, fill = 0x41): Uint8Array {
  const buffer = new Uint8Array(offset + length + 7).fill(0xff);
  return buffer.subarray(offset, offset + length).fill(fill);
}

Deno.test("isAscii: a byte of 0x80 or more found at every place, length and alignment; ASCII all through passes", () => {
  for (const length of [0, 1, 3, 4, 5, 63, 64, 65, 66, 67, 68, 71, 130, 1400]) {
    for (let offset = 0; offset < 8; offset++) {
      assert.equal(
        isAscii(placed(length, offset)),
        true,
        `${length}@${offset}`,
      );
      assert.equal(isAscii(placed(length, offset, 0x7f)), true);
      if (length === 0) continue;
      const places = new Set([
        0,
        1,
        2,
        3,
        4,
        length >> 1,
        length - 5,
        length - 4,
        length - 3,
        length - 2,
        length - 1,
      ]);
      for (const place of places) {
        if (place < 0 || place >= length) continue;
        for (const high of [0x80, 0xc3, 0xff]) {
          const bytes = placed(length, offset);
          bytes[place] = high;
          assert.equal(
            isAscii(bytes),
            false,
            `${high} at ${place} of ${length}@${offset}`,
          );
        }
      }
    }
  }
});

Deno.test("text codec: check throws exactly when decode throws (ASCII, UTF-8, invalid, long)", () => {
  const codec = text();
  const cases = [
    "x".repeat(1400),
    "x".repeat(100) + "é",
    "é" + "x".repeat(100),
    "x".repeat(70) + "😀" + "x".repeat(70),
  ].map((t) => new TextEncoder().encode(t));
  const invalid = new Uint8Array(200).fill(0x41);
  invalid[133] = 0xff;
  cases.push(invalid);
  for (const bytes of cases) {
    let decodeThrew = false;
    try {
      codec.decode(bytes);
    } catch {
      decodeThrew = true;
    }
    let checkThrew = false;
    try {
      codec.check!(bytes);
    } catch {
      checkThrew = true;
    }
    assert.equal(checkThrew, decodeThrew, `${bytes.length} bytes`);
  }
});
