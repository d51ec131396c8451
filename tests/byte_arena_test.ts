/**
 * ByteArena: every copy keeps its bytes however the source is reused and
 * however many copies follow (across blocks), copies never overlap, and a
 * large copy has a buffer of its own.
 */

import assert from "node:assert/strict";
import { ByteArena } from "../lib/byte_arena.ts";

Deno.test("byte arena: 5,000 copies of one reused buffer keep their bytes, across blocks, without overlapping", () => {
  const arena = new ByteArena();
  const source = new Uint8Array(1500);
  const copies: { copy: Uint8Array; fill: number }[] = [];
  for (let i = 0; i < 5000; i++) {
    const size = (i * 37) % 1473;
    const fill = i % 251;
    source.fill(fill, 0, size);
    copies.push({ copy: arena.copy(source.subarray(0, size)), fill });
    source.fill(255 - fill); // the transport reuses its memory
  }
  const buffers = new Set(copies.map(({ copy }) => copy.buffer));
  assert.ok(buffers.size > 1, "more than one block was used");
  for (const [i, { copy, fill }] of copies.entries()) {
    assert.equal(copy.byteLength, (i * 37) % 1473);
    assert.ok(copy.every((byte) => byte === fill), `copy ${i}`);
    assert.equal(copy.byteOffset % 8, 0);
  }
});

Deno.test("byte arena: a copy over a quarter of a block gets its own buffer", () => {
  const arena = new ByteArena();
  const large = new Uint8Array(65_536 + 1).fill(7);
  const copy = arena.copy(large);
  assert.equal(copy.byteLength, large.byteLength);
  assert.equal(copy.byteOffset, 0);
  assert.equal(copy.buffer.byteLength, large.byteLength);
  assert.ok(copy.every((byte) => byte === 7));
});
