import assert from "node:assert/strict";
import { binary, fromHex, toHex } from "../plugins/codecs/binary.ts";
import { json } from "../plugins/codecs/json.ts";
import { text } from "../plugins/codecs/text.ts";
import { decodeUtf8 } from "../lib/utf8.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("text codec: UTF-8 round trip, invalid bytes are a SyntaxError", () => {
  const codec = text();
  assert.equal(codec.decode(codec.encode("héllo ✓")), "héllo ✓");
  assert.equal(codec.decode(new Uint8Array()), "");
  assert.throws(() => codec.decode(bytes(0xff, 0xfe, 0x41)), SyntaxError);
  assert.throws(() => codec.decode(bytes(0xe2, 0x82)), SyntaxError); // truncated sequence
  assert.throws(() => codec.encode(42 as unknown as string), TypeError);
  assert.throws(
    () => codec.encode({} as unknown as string),
    /encodes strings, got object/,
  );
});

Deno.test("decodeUtf8 agrees with a strict TextDecoder, U+FFFD and BOM included", () => {
  const reference = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const outcome = (decode: (b: Uint8Array) => string, b: Uint8Array) => {
    try {
      return { text: decode(b) };
    } catch (error) {
      return { error: (error as Error).constructor.name };
    }
  };
  const edges = [
    [0xef, 0xbf, 0xbd], // a real U+FFFD
    [0xef, 0xbb, 0xbf, 0x41], // BOM, kept
    [0x41, 0xef, 0xbf, 0xbd, 0xff], // U+FFFD then an invalid byte
    [0xff, 0xef, 0xbf, 0xbd], // the other way round
    [0xc0, 0xaf], // overlong
    [0xed, 0xa0, 0x80], // a surrogate
    [0xf4, 0x8f, 0xbf, 0xbf], // the last code point
    [0xf4, 0x90, 0x80, 0x80], // past it
    [0xe2, 0x82], // truncated
    [0xe2, 0x82, 0xac], // euro sign
  ];
  const samples = edges.map((values) => new Uint8Array(values));
  // Random bytes drawn mostly from the interesting ranges, seeded.
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pool = [
    0x41,
    0x7f,
    0x80,
    0xbf,
    0xc2,
    0xdf,
    0xe0,
    0xef,
    0xbd,
    0xf0,
    0xf4,
    0xff,
  ];
  for (let i = 0; i < 5_000; i++) {
    const length = Math.floor(next() * 8);
    samples.push(
      Uint8Array.from({ length }, () => pool[Math.floor(next() * pool.length)]),
    );
  }
  let invalid = 0;
  for (const sample of samples) {
    const expected = outcome((b) => reference.decode(b), sample);
    assert.deepEqual(outcome(decodeUtf8, sample), expected, `${sample}`);
    if ("error" in expected) invalid++;
  }
  // Both kinds were drawn, so the comparison covered both.
  assert.ok(invalid > 100 && invalid < samples.length - 100, `${invalid}`);
});

Deno.test("decodeUtf8 remembers short texts by their bytes, not by the array", () => {
  // One buffer rewritten in place, as a receiver's reused memory is.
  const slot = new Uint8Array(80);
  const put = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    slot.set(bytes);
    return slot.subarray(0, bytes.length);
  };
  assert.equal(decodeUtf8(put("ack")), "ack");
  assert.equal(decodeUtf8(put("ack")), "ack");
  assert.equal(decodeUtf8(put("ick")), "ick");
  assert.equal(decodeUtf8(put("ic")), "ic");
  // Same length as the text remembered, one byte invalid: still an error.
  put("ick");
  assert.equal(decodeUtf8(slot.subarray(0, 3)), "ick");
  slot[1] = 0xff;
  assert.throws(() => decodeUtf8(slot.subarray(0, 3)), TypeError);
  slot[1] = 0x63;
  assert.equal(decodeUtf8(slot.subarray(0, 3)), "ick");
  // Around the longest text remembered (64 bytes), a change in the last byte.
  for (const length of [63, 64, 65, 80]) {
    const text = "p".repeat(length - 1);
    assert.equal(decodeUtf8(put(text + "a")), text + "a");
    assert.equal(decodeUtf8(put(text + "b")), text + "b");
    assert.equal(decodeUtf8(put(text + "b")), text + "b");
  }
  assert.equal(decodeUtf8(new Uint8Array()), "");
  assert.equal(decodeUtf8(put("h\u00e9")), "h\u00e9");
});

Deno.test("json codec: round trip, bad JSON and bad UTF-8 are SyntaxErrors", () => {
  const codec = json();
  const value = { a: [1, "two", null], b: { c: true } };
  assert.deepEqual(codec.decode(codec.encode(value)), value);
  assert.equal(
    codec.decode(codec.encode("very important data")),
    "very important data",
  );
  assert.throws(
    () => codec.decode(new TextEncoder().encode("{nope")),
    SyntaxError,
  );
  assert.throws(() => codec.decode(new Uint8Array()), SyntaxError);
  assert.throws(() => codec.decode(bytes(0xff)), /not valid UTF-8/);
  assert.throws(() => codec.encode(undefined), TypeError);
  assert.throws(() => codec.encode(() => 1), TypeError);
  assert.deepEqual(codec.parse?.('{"x":1}'), { x: 1 });
  assert.throws(() => codec.parse?.("{x"), /"\{x" is not valid JSON/);
});

Deno.test("binary codec: bytes pass through, show as hex, parse hex", () => {
  const codec = binary();
  const raw = bytes(0, 1, 0x7f, 0x80, 0xff);
  assert.equal(codec.decode(raw), raw);
  assert.equal(codec.encode(raw), raw);
  assert.deepEqual(codec.encode("AB"), bytes(0x41, 0x42));
  assert.equal(codec.show?.(raw), "00017f80ff");
  assert.deepEqual(codec.parse?.("de ad:be ef"), bytes(0xde, 0xad, 0xbe, 0xef));
  assert.deepEqual(fromHex("0xCAFE"), bytes(0xca, 0xfe));
  assert.deepEqual(fromHex(""), new Uint8Array());
  assert.throws(() => fromHex("abc"), /"abc" is not hex bytes/);
  assert.throws(() => fromHex("zz"), SyntaxError);
  assert.throws(() => codec.encode(5 as unknown as string), TypeError);
  assert.equal(toHex(new Uint8Array()), "");
});
