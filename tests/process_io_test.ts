/**
 * The CLI's real stdout and stderr (`cli/io.ts`'s `processIo`), written
 * through one reused buffer: every line's bytes come out whole and in
 * order, whatever came before it (a longer line, a line too long for the
 * buffer, multi-byte characters, an empty line), with its newline.
 * Checked in a subprocess that writes to pipes.
 *
 * @module
 */

import assert from "node:assert/strict";

const IO_MODULE = new URL("../cli/io.ts", import.meta.url).href;

/** Lines that make the buffer grow, overflow it and be reused. */
const LINES = [
  "first",
  "héllo ✓ 😀 \u0000 tab\there",
  "x".repeat(70_000) + "é",
  "",
  "😀".repeat(30_000),
  "y".repeat(1_100_000),
  "after the long ones",
  "",
];

Deno.test("processIo: each line's bytes and newline, in order, through the reused buffer (growing, overflowing, multi-byte, empty)", async () => {
  const script = `
    import { processIo } from ${JSON.stringify(IO_MODULE)};
    const lines = JSON.parse(await new Response(Deno.stdin.readable).text());
    const io = processIo();
    for (const line of lines) io.out(line);
    io.err("to stderr ✓");
    io.out("last");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(LINES)));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  assert.ok(success, new TextDecoder().decode(stderr));
  const expected = new TextEncoder().encode(
    LINES.map((line) => line + "\n").join("") + "last\n",
  );
  assert.equal(stdout.length, expected.length);
  assert.ok(
    stdout.every((byte, i) => byte === expected[i]),
    "stdout differs from the lines' UTF-8",
  );
  assert.equal(new TextDecoder().decode(stderr), "to stderr ✓\n");
});
