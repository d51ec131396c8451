import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { Responder } from "../lib/plugin.ts";
import {
  RoundTripStats,
  summariseRtt,
} from "../lib/sender/round_trip_stats.ts";
import { send, type SendOptions } from "../lib/sender/send.ts";
import {
  frameReply,
  frameRequest,
  unframeReply,
  unframeRequest,
} from "../lib/wire/sequence.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { Progress } from "../cli/progress.ts";
import {
  type Collected,
  collectReplies,
  listenOnLoopback,
  LOOPBACK as LO,
} from "./support/loopback.ts";

// Loopback only; groups 239.23.x.x.
const utf8 = (s: string) => new TextEncoder().encode(s);

function run(
  message: string,
  options: Omit<SendOptions, "interface">,
): Promise<Collected> {
  return collectReplies(message, { codec: text(), ...options });
}

Deno.test("sequence frames round-trip and are not confused with text", () => {
  const request = frameRequest(0xfffffffe, utf8("ping"));
  assert.equal(request.length, 12);
  assert.deepEqual(unframeRequest(request), {
    seq: 0xfffffffe,
    payload: utf8("ping"),
  });
  assert.equal(
    unframeReply(request),
    undefined,
    "a request frame is no reply frame",
  );
  assert.deepEqual(unframeReply(frameReply(5, new Uint8Array())), {
    seq: 5,
    payload: new Uint8Array(),
  });
  assert.equal(unframeRequest(utf8("MS\u0001\u0000abcd")), undefined);
  assert.equal(unframeRequest(new Uint8Array(7)), undefined);
});

Deno.test("round-trip stats: loss, duplicates, reordering, percentiles", () => {
  const stats = new RoundTripStats();
  for (const seq of [0, 1, 3, 2, 3, 5]) {
    stats.reply("10.0.0.1", 1, seq, seq + 1);
  }
  stats.reply("10.0.0.2", 1, 0, 9);
  const [a, b] = stats.summary(6);
  assert.equal(a.replies, 6);
  assert.equal(a.duplicates, 1);
  assert.equal(a.reordered, 1);
  assert.equal(a.lossPercent, 16.67); // seq 4 never answered
  assert.deepEqual(a.rttMs, {
    min: 1,
    avg: 3.2,
    p50: 3.001, // the middle of its slot, 3.000-3.001 ms
    p90: 6,
    p99: 6,
    p999: 6,
    max: 6,
    stddev: 1.72,
  });
  assert.equal(b.from, "10.0.0.2");
  assert.equal(b.lossPercent, 83.33);
  assert.equal(summariseRtt([]), null);
  // Duplicates are still caught after the window has moved on a long way.
  const long = new RoundTripStats();
  for (let seq = 0; seq < 200_000; seq++) long.reply("x", 1, seq, 1);
  long.reply("x", 1, 199_999, 1);
  long.reply("x", 1, 150_000, 1);
  assert.equal(long.summary(200_000)[0].duplicates, 2);
});

Deno.test("send --seq: exact RTTs and loss per responder against real listeners", async () => {
  const group = "239.23.0.1";
  let seen = 0;
  // Answers every other request: 50% loss.
  const half: Responder = {
    name: "half",
    respond: () => (seen++ % 2 === 0 ? "ok" : undefined),
  };
  const all = await listenOnLoopback({
    group,
    responder: ack(),
    codec: text(),
    rateLimit: false,
  });
  const some = await listenOnLoopback({
    group,
    port: all.port,
    responder: half,
    codec: text(),
    rateLimit: false,
  });
  try {
    const { replies, summary } = await run("ping", {
      group,
      port: all.port,
      count: 20,
      rate: 400,
      timeout: "200ms",
      sequence: true,
    });
    assert.equal(summary.sent, 20);
    assert.ok(
      replies.every((reply) =>
        typeof reply.seq === "number" && reply.payload !== undefined
      ),
    );
    assert.ok(
      replies.every((reply) =>
        reply.payload === "ack" || reply.payload === "ok"
      ),
    );
    // Both listeners reply from 127.0.0.1 and the same port: one responder row.
    assert.equal(summary.perResponder?.length, 1);
    const [row] = summary.perResponder!;
    assert.equal(row.replies, 30);
    assert.equal(
      row.duplicates,
      10,
      "the half listener's answers repeat the full one's sequence numbers",
    );
    assert.equal(row.lossPercent, 0);
    assert.ok(row.rttMs !== null && row.rttMs.min >= 0 && row.rttMs.max < 200);
  } finally {
    await all.close();
    await some.close();
  }
});

Deno.test("send --seq: duplicates, reordering and loss from a raw responder", async () => {
  const group = "239.23.0.2";
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(0, group, () => resolve()));
  socket.addMembership(group, LO);
  const port = socket.address().port;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  socket.on(
    "message",
    (message: Uint8Array, from: { address: string; port: number }) => {
      const request = unframeRequest(new Uint8Array(message));
      if (request === undefined) return;
      const reply = frameReply(request.seq, utf8("r"));
      const answer = () => socket.send(reply, from.port, from.address);
      if (request.seq === 3) return; // lost
      if (request.seq === 5) {
        answer();
        answer(); // duplicated
        return;
      }
      if (request.seq === 1) {
        const timer = setTimeout(() => { // overtaken by 2
          timers.delete(timer);
          answer();
        }, 40);
        timers.add(timer);
        return;
      }
      answer();
    },
  );
  try {
    const { summary } = await run("x", {
      group,
      port,
      count: 8,
      interval: "15ms",
      timeout: "150ms",
      sequence: true,
    });
    const [row] = summary.perResponder!;
    assert.equal(row.replies, 8);
    assert.equal(row.duplicates, 1);
    assert.ok(row.reordered >= 1, `seq 1 arrives after 2: ${row.reordered}`);
    assert.equal(row.lossPercent, 12.5);
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
});

Deno.test("send --rate paces the requests; rate and interval together are refused", async () => {
  const started = performance.now();
  const { summary } = await run("x", {
    group: "239.23.0.3",
    port: 20997,
    count: 21,
    rate: 200,
    timeout: 0,
  });
  assert.equal(summary.sent, 21);
  assert.ok(performance.now() - started >= 90, "20 intervals of 5 ms");
  await assert.rejects(
    send("x", {
      group: "239.23.0.3",
      interface: "127.0.0.1",
      rate: 10,
      interval: 5,
    })
      .next(),
    /rate or an interval, not both/,
  );
  await assert.rejects(
    send("x", { group: "239.23.0.3", interface: "127.0.0.1", rate: 0 }).next(),
    /Invalid rate 0/,
  );
});

Deno.test("send --count 0 runs until aborted, then summarises", async () => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 120);
  const { summary } = await run("x", {
    group: "239.23.0.4",
    port: 20996,
    count: 0,
    interval: "10ms",
    signal: controller.signal,
    sequence: true,
  });
  clearTimeout(timer);
  assert.ok(summary.sent >= 5, `sent ${summary.sent}`);
  assert.deepEqual(summary.perResponder, []);
});

Deno.test("the progress line appears only after a second, and only on a terminal", async () => {
  const written: string[] = [];
  const io = {
    out: (line: string) => written.push(`${line}\n`),
    err: () => {},
    write: (text: string) => written.push(text),
    isTerminal: true,
    cwd: "/",
  };
  const progress = new Progress(io, true);
  progress.sent(10);
  progress.reply();
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.deepEqual(written, [], "nothing during the first second");
  await new Promise((resolve) => setTimeout(resolve, 900));
  progress.print("a reply line");
  progress.stop();
  const drawn = written.join("");
  assert.match(drawn, /10 sent \(\d+\/s\), 1 replies/);
  assert.ok(drawn.includes("a reply line\n"));
  assert.ok(drawn.endsWith("\r\x1b[K"), "stop() clears the line");
  const quiet: string[] = [];
  const off = new Progress(
    { ...io, write: (t: string) => quiet.push(t) },
    false,
  );
  off.sent(1);
  off.stop();
  assert.deepEqual(quiet, []);
});
