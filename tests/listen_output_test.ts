// listen keeps up with its own output: -q prints only the ready line and
// the summary, --report-every prints interval lines (an "interval" event
// with --json), --count and --duration stop it with the summary (exit 0),
// and the human output switches from a line per message to a line a second
// when more than 20 lines a second come (and back when the rate falls),
// while --json keeps every message and loses no line at exit, every event
// with its wall-clock "time". Run through `deno task listen`, as users run it.
// Loopback only: every listener is pinned to 127.0.0.1; groups 239.28.12.x,
// ports 28121-28139. Every send is bounded in count and every wait in time.
import assert from "node:assert/strict";
import { main } from "../cli.ts";
import { MessageJson } from "../cli/message_json.ts";
import { listen } from "../lib/listener/listen.ts";
import type { ListenEvent } from "../lib/listener/events.ts";
import { text } from "../plugins/codecs/text.ts";
import { silent } from "../plugins/responders/silent.ts";
import { onLoopback } from "./support/cli_process.ts";
import { memoryTransport } from "./support/memory_transport.ts";
import { RawSender } from "./support/raw_sender.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";

const READY_MS = 20_000;
const EXIT_MS = 10_000;

/** `deno task listen` on `group`/`port` via 127.0.0.1, its ready line printed. */
async function startTaskListener(
  group: string,
  port: number,
  extra: string[],
): Promise<Subprocess> {
  const [command, ...args] = denoTask("listen", [
    "--plugin",
    "silent",
    ...onLoopback(group, port),
    ...extra,
  ]);
  const proc = new Subprocess(command, args, { name: "deno task listen" });
  await proc.waitForLine(
    (line) => line.startsWith("listening on ") || line.includes('"ready"'),
    `the ready line of a listener on ${group}:${port}`,
    READY_MS,
  );
  return proc;
}

/** Sends `count` datagrams `WORD N`, waiting `gapMs` after each (0: none). */
async function sendNumbered(
  group: string,
  port: number,
  count: number,
  gapMs = 0,
  word = "message",
): Promise<void> {
  await using sender = await RawSender.open();
  const encoder = new TextEncoder();
  for (let i = 0; i < count; i++) {
    await sender.send(encoder.encode(`${word} ${i}`), port, group);
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
}

const summaryOf = (lines: string[]) =>
  JSON.parse(lines.find((line) => line.includes('"event":"summary"'))!);

/**
 * Every event has its wall-clock `time` second (after `event`), as
 * ISO-8601 UTC to the millisecond, between `from` and now and never
 * earlier than the event before it; returns the times.
 */
function assertTimed(
  events: Record<string, unknown>[],
  from: number,
): number[] {
  const times: number[] = [];
  for (const event of events) {
    const shown = JSON.stringify(event);
    assert.deepEqual(Object.keys(event).slice(0, 2), ["event", "time"], shown);
    assert.match(
      event.time as string,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
      shown,
    );
    const time = Date.parse(event.time as string);
    assert.ok(time >= (times.at(-1) ?? from), `earlier than before: ${shown}`);
    assert.ok(time <= Date.now(), `in the future: ${shown}`);
    times.push(time);
  }
  return times;
}

Deno.test("listen --count 3 stops by itself after 3 datagrams with the summary, exit 0", async () => {
  const started = Date.now();
  await using proc = await startTaskListener("239.28.12.1", 28121, [
    "--count",
    "3",
    "--json",
  ]);
  // Paced, so the listener has stopped before the 4th and 5th come.
  await sendNumbered("239.28.12.1", 28121, 5, 500).catch(() => {});
  const result = await proc.wait(EXIT_MS);
  assert.equal(result.code, 0, result.stderr.join("\n"));
  const summary = summaryOf(result.stdout);
  assert.equal(summary.received, 3);
  const messages = result.stdout.filter((line) =>
    line.includes('"event":"message"')
  );
  assert.equal(messages.length, 3);
  // ready, 3 messages (paced 500 ms apart), summary: each stamped as it came.
  const times = assertTimed(
    result.stdout.filter((line) => line.startsWith("{")).map((line) =>
      JSON.parse(line)
    ),
    started - 1,
  );
  assert.equal(times.length, 5);
  assert.ok(times[3] - times[1] >= 900, `paced 500 ms: ${times}`);
});

Deno.test("listen -q --duration 1500ms prints only the ready line and the summary, then exits 0 by itself", async () => {
  const started = performance.now();
  await using proc = await startTaskListener("239.28.12.2", 28122, [
    "-q",
    "--duration",
    "1500ms",
  ]);
  await sendNumbered("239.28.12.2", 28122, 50);
  const result = await proc.wait(EXIT_MS);
  assert.equal(result.code, 0, result.stderr.join("\n"));
  assert.ok(performance.now() - started < READY_MS + EXIT_MS);
  const lines = result.stdout.filter((line) => !line.startsWith("Task "));
  assert.equal(lines.length, 4, lines.join("\n"));
  assert.match(lines[0], /^listening on 239\.28\.12\.2 port 28122/);
  assert.equal(lines[1], "--- 239.28.12.2 port 28122 ---");
  assert.match(lines[2], /^first datagram \d+\.\d ms after the join$/);
  assert.match(lines[3], /^50 received, 0 replied, 50 unanswered/);
  assert.deepEqual(
    result.stderr.filter((line) => !line.includes("Task")),
    [],
  );
});

Deno.test("listen: more than 20 lines a second switch the human output to a line a second, and back when the rate falls", async () => {
  await using proc = await startTaskListener("239.28.12.3", 28123, []);
  await sendNumbered("239.28.12.3", 28123, 300);
  await proc.out.waitFor(
    (line) => line.startsWith("["),
    "an interval line",
    EXIT_MS,
  );
  await proc.out.waitFor(
    (line) => line.includes("back to a line per message"),
    "the line saying it is back to a line per message",
    EXIT_MS,
  );
  await sendNumbered("239.28.12.3", 28123, 1, 0, "after");
  await proc.out.waitFor(
    (line) => line.startsWith("message from") && line.endsWith("after 0"),
    "a message line again, after the switch back",
    EXIT_MS,
  );
  const result = await proc.stop("SIGINT", EXIT_MS);
  assert.equal(result.code, 0);
  const lines = result.stdout;
  const messageLines = lines.filter((line) => line.startsWith("message from"));
  // 20 before the switch, the one after it.
  assert.equal(messageLines.length, 21, lines.join("\n"));
  const notices = lines.filter((line) =>
    line.startsWith("more than 20 lines a second")
  );
  assert.equal(notices.length, 1);
  const intervals = lines.filter((line) => /^\[ *\d/.test(line));
  const intervalTotal = intervals
    .map((line) => Number(/\] (\d+) received/.exec(line)?.[1]))
    .reduce((a, b) => a + b, 0);
  // Those after the 21st were all counted in interval lines.
  assert.ok(intervalTotal >= 300 - 21, lines.join("\n"));
  assert.match(lines.at(-2)!, /^first datagram [\d.]+ m?s after the join$/);
  assert.match(lines.at(-1)!, /^301 received/);
});

Deno.test("listen --json --report-every 200ms: every message, interval events adding up to the summary, no line lost at exit, each with its time", async () => {
  const started = Date.now();
  await using proc = await startTaskListener("239.28.12.4", 28124, [
    "--json",
    "--report-every",
    "200ms",
  ]);
  await sendNumbered("239.28.12.4", 28124, 2000);
  await proc.out.waitFor(
    (line) => line.includes('"event":"interval"'),
    "an interval event",
    EXIT_MS,
  );
  const result = await proc.stop("SIGINT", EXIT_MS);
  assert.equal(result.code, 0);
  const events = result.stdout.filter((line) => line.startsWith("{")).map((
    line,
  ) => JSON.parse(line));
  const summary = events.at(-1);
  assert.equal(summary.event, "summary");
  assert.ok(summary.received > 0);
  const messages = events.filter((event) => event.event === "message");
  assert.equal(messages.length, summary.received);
  const intervals = events.filter((event) => event.event === "interval");
  assert.ok(intervals.length >= 1);
  for (const interval of intervals) {
    assert.equal(typeof interval.receivedPerSecond, "number");
    assert.equal(interval.replied, 0);
  }
  const counted = intervals.reduce((sum, event) => sum + event.received, 0);
  assert.ok(counted <= summary.received);
  assert.equal(events[0].event, "ready");
  assertTimed(events, started - 1);
});

Deno.test("listen --json: reply, drop and error events carry their time too", async () => {
  const started = Date.now();
  const [group, port] = ["239.28.12.6", 28126];
  const [command, ...args] = denoTask("listen", [
    "--plugin",
    "echo",
    "--codec",
    "json",
    "--rate-limit",
    "1",
    "--burst",
    "1",
    "--json",
    ...onLoopback(group, port),
  ]);
  await using proc = new Subprocess(command, args, {
    name: "deno task listen",
  });
  await proc.waitForLine(
    (line) => line.includes('"ready"'),
    "the ready line",
    READY_MS,
  );
  await using sender = await RawSender.open();
  const encoder = new TextEncoder();
  // Answered; over the rate (a drop); not JSON (an error).
  for (const payload of ['"first"', '"second"', "not json"]) {
    await sender.send(encoder.encode(payload), port, group);
  }
  await proc.waitForLine(
    (line) => line.includes('"event":"error"'),
    "the error event",
    EXIT_MS,
  );
  const result = await proc.stop("SIGINT", EXIT_MS);
  assert.equal(result.code, 0, result.stderr.join("\n"));
  const events = result.stdout.filter((line) => line.startsWith("{")).map((
    line,
  ) => JSON.parse(line));
  const kinds = new Set(events.map((event) => event.event));
  for (
    const kind of ["ready", "message", "reply", "drop", "error", "summary"]
  ) {
    assert.ok(kinds.has(kind), `no ${kind} event: ${result.stdout.join("\n")}`);
  }
  assertTimed(events, started - 1);
});

Deno.test("listen: bad --count, --duration and --report-every are usage errors naming the value (exit 2)", async () => {
  const cases: [string[], RegExp][] = [
    [["--count", "0"], /--count "0": must be at least 1/],
    [["--count", "2.5"], /--count "2\.5"/],
    [["--count", "many"], /--count "many"/],
    [["--duration", "soon"], /--duration "soon"/],
    [["--duration", "0s"], /--duration "0s": must be at least/],
    [
      ["--report-every", "10ms"],
      /--report-every "10ms": must be at least 100ms/,
    ],
    [["--report-every", "x"], /--report-every "x"/],
  ];
  for (const [flags, message] of cases) {
    const lines: string[] = [];
    const code = await main(
      ["listen", ...onLoopback("239.28.12.5", 28125), ...flags],
      {
        out: (line) => lines.push(line),
        err: (line) => lines.push(line),
        write: () => {},
        isTerminal: false,
        cwd: Deno.cwd(),
      },
    );
    assert.equal(code, 2, `${flags.join(" ")}: ${lines.join("\n")}`);
    assert.match(lines[0], message);
    assert.match(lines[0], /^mcast listen: Invalid/);
  }
});

Deno.test("listen --json: a text message's line is JSON.stringify's, byte for byte (quotes, controls, lone surrogates, IPv6 zones, groups, senders changing)", () => {
  const json = new MessageJson();
  const random = seeded(22);
  const pick = <T>(values: readonly T[]) =>
    values[Math.floor(random() * values.length)];
  const pieces = [
    "a",
    "é",
    '"',
    "\\",
    "\n",
    "\u0000",
    "\u001f",
    "\u007f",
    "\u2028",
    "\ud800",
    "\udfff",
    "😀",
    "}{",
    " ",
  ];
  const senders = [
    ["127.0.0.1", 40000],
    ["fe80::1%eth0", 5353],
    ['odd"host', 1],
  ] as const;
  const groups = [undefined, "239.1.2.3", "ff15::123"];
  let clock = Date.parse("2026-12-07T18:00:00.000Z");
  for (let i = 0; i < 5000; i++) {
    // The time moves on now and then, as a flood's lines share a millisecond.
    if (random() < 0.2) clock += Math.floor(random() * 3);
    const time = new Date(clock).toISOString();
    const [from, port] = pick(senders);
    const group = pick(groups);
    let payload = "";
    const length = Math.floor(random() * 12);
    for (let j = 0; j < length; j++) payload += pick(pieces);
    const event = {
      event: "message" as const,
      from,
      port,
      size: Math.floor(random() * 65508),
      payload,
      ...(group === undefined ? {} : { group }),
    };
    assert.equal(
      json.line(event, time),
      JSON.stringify(withTime(event, time)),
      payload,
    );
  }
  const time = "2026-12-07T18:00:00.000Z";
  const bytes = {
    event: "message" as const,
    from: "127.0.0.1",
    port: 1,
    size: 1,
    payload: new Uint8Array([1]),
  };
  assert.equal(
    json.line(bytes, time),
    undefined,
    "bytes are the caller's (hex)",
  );
  assert.equal(json.line({ ...bytes, payload: 7 }, time), undefined);
  assert.equal(
    json.line({ event: "reply", to: "127.0.0.1", port: 1, size: 3 }, time),
    undefined,
  );
});

Deno.test("listen --json: the listener's message event has exactly the keys the fast line writes, in order", async () => {
  const memory = memoryTransport("239.28.12.9", 28129);
  const events: ListenEvent[] = [];
  const listener = await listen({
    group: "239.28.12.9",
    port: 28129,
    interface: "127.0.0.1",
    responder: silent(),
    codec: text(),
    transport: () => Promise.resolve(memory.transport),
    onEvent: (event) => events.push(event),
  });
  try {
    memory.deliver()(new TextEncoder().encode("hi"), {
      address: "127.0.0.1",
      port: 40000,
      family: "IPv4",
    });
  } finally {
    await listener.close();
  }
  const message = events.find((event) => event.event === "message")!;
  // A new key in the message event needs its place in cli/message_json.ts.
  assert.deepEqual(Object.keys(message), [
    "event",
    "from",
    "port",
    "size",
    "payload",
  ]);
  const time = new Date().toISOString();
  assert.equal(
    new MessageJson().line(message, time),
    JSON.stringify(withTime(message, time)),
  );
});

/** The event with `time` after `event`, as listen --json writes it. */
function withTime(event: { event: string }, time: string): object {
  const { event: name, ...rest } = event;
  return { event: name, time, ...rest };
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
