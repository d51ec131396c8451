import assert from "node:assert/strict";
import { binary, fromHex, toHex } from "../plugins/codecs/binary.ts";
import { json } from "../plugins/codecs/json.ts";
import { text } from "../plugins/codecs/text.ts";

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
