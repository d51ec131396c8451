// listen --json copies a text payload's bytes into its line when they need
// no escaping (cli/plain_json_text.ts, MessageJson.writeBytes, BatchedLines'
// byte lines): the output must be byte for byte what the text path writes,
// for plain ASCII, characters needing escapes, non-ASCII UTF-8, invalid
// UTF-8 and binary payloads, at every length and alignment the word-at-a-
// time scan meets. The end-to-end test runs `deno task listen --json` on
// loopback only (127.0.0.1, group 239.28.12.10, port 28130); every send is
// bounded in count and every wait in time.
import assert from "node:assert/strict";
import { BatchedLines } from "../cli/batched_lines.ts";
import type { Io } from "../cli/io.ts";
import { MessageJson } from "../cli/message_json.ts";
import { isPlainJsonText } from "../cli/plain_json_text.ts";
import { PAYLOAD_BYTES } from "../lib/listener/events.ts";
import { decodeUtf8 } from "../lib/utf8.ts";
import { onLoopback } from "./support/cli_process.ts";
import { RawSender } from "./support/raw_sender.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the scan must say: JSON.stringify copies the text as it is. */
const plainByStringify = (text: string) =>
  JSON.stringify(text) === `"${text}"` && encoder.encode(text).length ===
    text.length;

/** `text`'s UTF-8 placed at `offset` in a larger buffer (alignments vary). */
function placed(text: string, offset: number): Uint8Array {
  const bytes = encoder.encode(text);
  const buffer = new Uint8Array(offset + bytes.length + 5).fill(0x01);
  buffer.set(bytes, offset);
  return buffer.subarray(offset, offset + bytes.length);
}

/** A memory Io that keeps every write's bytes, in order. */
function memoryIo(withBytes: boolean): Io & { written(): string } {
  const chunks: Uint8Array[] = [];
  return {
    out: (line) => chunks.push(encoder.encode(line + "\n")),
    err: (line) => chunks.push(encoder.encode(`[err] ${line}\n`)),
    write: () => {},
    ...(withBytes ? { outBytes: (bytes) => chunks.push(bytes.slice()) } : {}),
    isTerminal: false,
    cwd: Deno.cwd(),
    written: () => {
      const all = new Uint8Array(
        chunks.reduce((sum, chunk) => sum + chunk.length, 0),
      );
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      return decoder.decode(all);
    },
  };
}

Deno.test("isPlainJsonText: true exactly when JSON.stringify copies the text as it is, for every ASCII byte at every place, length and alignment", () => {
  for (const length of [0, 1, 3, 4, 5, 31, 63, 64, 65, 67, 68, 130, 1400]) {
    const base = "x".repeat(length);
    for (let offset = 0; offset < 4; offset++) {
      assert.equal(isPlainJsonText(placed(base, offset), base), true);
    }
    if (length === 0) continue;
    // Each place a word-at-a-time scan treats differently: the first bytes
    // before a whole word, inside the words, the last bytes after them.
    const places = new Set([0, 1, 2, 3, length >> 1, length - 4, length - 1]);
    for (const place of places) {
      if (place < 0 || place >= length) continue;
      for (let byte = 0; byte < 0x80; byte++) {
        const text = base.slice(0, place) + String.fromCharCode(byte) +
          base.slice(place + 1);
        for (let offset = 0; offset < 4; offset++) {
          assert.equal(
            isPlainJsonText(placed(text, offset), text),
            plainByStringify(text),
            `byte ${byte} at ${place} of ${length}, offset ${offset}`,
          );
        }
      }
    }
  }
  for (const text of ["é", "x".repeat(100) + "é", "😀".repeat(40), "\u2028"]) {
    assert.equal(isPlainJsonText(placed(text, 0), text), false, text);
  }
});

Deno.test("MessageJson.writeBytes: the same line as MessageJson.line, byte for byte, or none (plain, escapes, non-ASCII, long, short, aligned or not, groups, text lines between)", () => {
  const random = seeded(5);
  const pick = <T>(values: readonly T[]) =>
    values[Math.floor(random() * values.length)];
  const pieces = [
    "a",
    "x".repeat(70),
    "y".repeat(700),
    " ",
    "~",
    "\u007f",
    '"',
    "\\",
    "\n",
    "\u0000",
    "\u001f",
    "é",
    "😀",
    "\u2028",
  ];
  const io = memoryIo(true);
  const lines = new BatchedLines(io);
  const json = new MessageJson();
  const reference = new MessageJson();
  let expected = "";
  let copied = 0;
  let clock = Date.parse("2026-12-07T18:00:00.000Z");
  for (let i = 0; i < 3000; i++) {
    if (random() < 0.3) clock += 1;
    const time = new Date(clock).toISOString();
    let payload = "";
    const count = Math.floor(random() * 6);
    for (let j = 0; j < count; j++) payload += pick(pieces);
    const bytes = placed(payload, Math.floor(random() * 8));
    const group = pick([undefined, "239.1.2.3", 'odd"group']);
    const event = {
      event: "message" as const,
      from: pick(["127.0.0.1", "::1"]),
      port: pick([1, 40000]),
      size: bytes.length,
      payload: decodeUtf8(bytes),
      [PAYLOAD_BYTES]: bytes,
      ...(group === undefined ? {} : { group }),
    };
    expected += reference.line(event, time) + "\n";
    if (json.writeBytes(event, time, lines)) copied++;
    else lines.out(json.line(event, time)!);
    if (random() < 0.05) {
      lines.out(`a text line between ✓ ${i}`);
      expected += `a text line between ✓ ${i}\n`;
    }
  }
  lines.flush();
  assert.equal(io.written(), expected);
  // Both paths were taken, each often.
  assert.ok(copied > 300 && copied < 2700, `${copied} lines copied`);
});

Deno.test("MessageJson.writeBytes: no line for an event without bytes, with a payload that is no text, or that is no message", () => {
  const lines = new BatchedLines(memoryIo(true));
  const json = new MessageJson();
  const time = "2026-12-07T18:00:00.000Z";
  const message = {
    event: "message" as const,
    from: "127.0.0.1",
    port: 1,
    size: 2,
    payload: "hi",
  };
  assert.equal(json.writeBytes(message, time, lines), false);
  const bytes = encoder.encode("hi");
  assert.equal(
    json.writeBytes(
      { ...message, payload: bytes, [PAYLOAD_BYTES]: bytes },
      time,
      lines,
    ),
    false,
  );
  assert.equal(
    json.writeBytes(
      { event: "reply", to: "127.0.0.1", port: 1, size: 3 },
      time,
      lines,
    ),
    false,
  );
  assert.equal(
    json.writeBytes({ ...message, [PAYLOAD_BYTES]: bytes }, time, lines),
    true,
  );
  lines.flush();
});

Deno.test("BatchedLines: text and byte lines keep their order through flushes by size, lines larger than the buffer and an Io without outBytes", () => {
  for (const withBytes of [true, false]) {
    const io = memoryIo(withBytes);
    const lines = new BatchedLines(io);
    let expected = "";
    const head = encoder.encode("<");
    const tail = encoder.encode(">");
    const sizes = [0, 1, 1400, 65_000, 200_000, 3, 70_000];
    for (let i = 0; i < 60; i++) {
      const size = sizes[i % sizes.length];
      const body = encoder.encode("b".repeat(size));
      lines.outBytes(head, body, tail);
      expected += `<${"b".repeat(size)}>\n`;
      if (i % 3 === 0) {
        const text = `text ${i} é ${"t".repeat(sizes[(i + 2) % sizes.length])}`;
        lines.out(text);
        expected += text + "\n";
      }
      if (i % 17 === 0) {
        lines.err(`diagnostic ${i}`);
        expected += `[err] diagnostic ${i}\n`;
      }
    }
    lines.flush();
    assert.equal(io.written(), expected, `outBytes: ${withBytes}`);
  }
});

Deno.test("listen --json: lines of plain ASCII payloads (copied as bytes) and of every other payload are JSON.stringify's of the event, byte for byte; binary as hex; invalid UTF-8 an error event", async () => {
  const [group, port] = ["239.28.12.10", 28130];
  const texts = [
    "plain",
    "x".repeat(1400),
    "0123456789abcdef".repeat(4),
    'with "quotes" inside',
    "back\\slash",
    "tab\there\nnewline \u0000 \u001f",
    "del \u007f stays",
    "héllo ✓ 😀 " + "z".repeat(100),
    "\u2028\u2029",
    "",
  ];
  const invalid = new Uint8Array([0x61, 0xff, 0xfe, 0x62]);
  for (const codec of ["text", "binary"]) {
    const [command, ...args] = denoTask("listen", [
      "--plugin",
      "silent",
      "--codec",
      codec,
      "--json",
      ...onLoopback(group, port),
    ]);
    await using proc = new Subprocess(command, args, {
      name: `deno task listen --codec ${codec}`,
    });
    await proc.waitForLine(
      (line) => line.includes('"ready"'),
      "the ready line",
      20_000,
    );
    await using sender = await RawSender.open();
    const sent = [...texts.map((text) => encoder.encode(text)), invalid];
    for (const bytes of sent) await sender.send(bytes, port, group);
    await proc.waitForLine(
      (line) =>
        codec === "text"
          ? line.includes('"event":"error"')
          : line.includes('"payload":"61fffe62"'),
      "the last datagram's line",
      10_000,
    );
    const result = await proc.stop("SIGINT", 10_000);
    assert.equal(result.code, 0, result.stderr.join("\n"));
    const lines = result.stdout.filter((line) =>
      line.includes('"event":"message"')
    );
    const shown = codec === "text"
      ? texts
      : sent.map((bytes) =>
        [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")
      );
    assert.equal(lines.length, shown.length, result.stdout.join("\n"));
    lines.forEach((line, i) => {
      const { time, from, port: fromPort } = JSON.parse(line);
      const event = {
        event: "message",
        time,
        from,
        port: fromPort,
        size: sent[i].length,
        payload: shown[i],
      };
      assert.equal(line, JSON.stringify(event), `datagram ${i}`);
    });
    if (codec === "text") {
      const error = JSON.parse(
        result.stdout.find((line) => line.includes('"event":"error"'))!,
      );
      assert.equal(error.kind, "decode");
      assert.match(error.message, /4 bytes is not valid UTF-8/);
    }
  }
});

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
