import assert from "node:assert/strict";
import { McastRangeError, PluginError } from "../lib/errors.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import {
  listen,
  type Listener,
  type ListenEvent,
  type ListenOptions,
} from "../lib/listener/listen.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import { newListenerStats, type Responder } from "../lib/plugin.ts";
import { send, type SendOptions } from "../lib/sender/send.ts";
import { binary } from "../plugins/codecs/binary.ts";
import { json } from "../plugins/codecs/json.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { echo } from "../plugins/responders/echo.ts";
import { silent } from "../plugins/responders/silent.ts";
import { status } from "../plugins/responders/status.ts";
import { groupSequence } from "./support/group_sequence.ts";
import {
  type Collected,
  collectReplies,
  listenOnLoopback,
  LOOPBACK as LO,
} from "./support/loopback.ts";
import { RawSender, sendRaw } from "./support/raw_sender.ts";
import { until } from "./support/until.ts";

// Every socket here is pinned to the loopback interface; each test has its own group.
const newGroup = groupSequence("239.20");
/** How long a listener's counters may take to catch up. */
const SETTLE_MS = 2000;

function start(
  group: string,
  options: Partial<ListenOptions> & { responder: Responder },
): Promise<Listener> {
  return listenOnLoopback({ group, ...options });
}

function collect(
  message: unknown,
  group: string,
  port: number,
  options: Omit<SendOptions, "interface"> = {},
): Promise<Collected> {
  return collectReplies(message, { group, port, timeout: "150ms", ...options });
}

const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("ack over text: one send, one reply, summary counts it", async () => {
  const group = newGroup();
  await using listener = await start(group, {
    responder: ack(),
    codec: text(),
  });
  const { replies, summary } = await collect(
    "very important data",
    group,
    listener.port,
    { codec: text() },
  );
  assert.equal(replies.length, 1);
  const [reply] = replies;
  assert.equal(reply.payload, "ack");
  assert.equal(reply.from, LO);
  assert.equal(reply.port, listener.port);
  assert.equal(reply.size, 3);
  assert.ok(reply.rttMs >= 0 && reply.rttMs < 150, String(reply.rttMs));
  const { perResponder, durationMs, ...counts } = summary as unknown as Record<
    string,
    unknown
  >;
  assert.deepEqual(counts, {
    event: "summary",
    sent: 1,
    replies: 1,
    responders: 1,
    // node:dgram: the round trips are timed in the event loop.
    clock: "user",
  });
  assert.equal(typeof durationMs, "number");
  assert.deepEqual(
    (perResponder as { from: string; replies: number }[]).map((
      row,
    ) => [row.from, row.replies]),
    [[LO, 1]],
  );
  assert.equal(listener.stats.received, 1);
  await until(() => listener.stats.replied === 1, SETTLE_MS);
});

Deno.test("echo over every codec returns the payload unchanged", async () => {
  const group = newGroup();
  for (
    const [codec, message] of [
      [text(), "héllo ✓"],
      [json(), { a: [1, 2], b: "c" }],
      [binary(), new Uint8Array([0, 255, 1, 254])],
    ] as const
  ) {
    await using listener = await start(group, { responder: echo(), codec });
    const { replies } = await collect(message, group, listener.port, { codec });
    assert.equal(replies.length, 1, codec.name);
    assert.deepEqual(replies[0].payload, message, codec.name);
  }
});

Deno.test("status answers a JSON document; silent never answers", async () => {
  const group = newGroup();
  {
    await using listener = await start(group, {
      responder: status({ name: "s1" }),
      codec: json(),
      maxReplyBytes: 1024,
    });
    const { replies } = await collect("?", group, listener.port, {
      codec: json(),
    });
    assert.equal(replies.length, 1);
    const document = replies[0].payload as Record<string, unknown>;
    assert.equal(document.name, "s1");
    assert.equal(document.group, group);
    assert.equal(document.port, listener.port);
    assert.equal(document.messages, 1);
  }
  {
    await using listener = await start(group, {
      responder: silent(),
      codec: text(),
    });
    const { replies, summary } = await collect("anyone?", group, listener.port);
    assert.equal(replies.length, 0);
    assert.equal(summary.replies, 0);
    assert.equal(listener.stats.received, 1);
    assert.equal(listener.stats.unanswered, 1);
  }
});

Deno.test("several listeners on one group all answer one send", async () => {
  const group = newGroup();
  await using first = await start(group, {
    responder: ack({ text: "one" }),
    codec: text(),
  });
  await using _two = await start(group, {
    port: first.port,
    responder: ack({ text: "two" }),
    codec: text(),
  });
  await using _three = await start(group, {
    port: first.port,
    responder: ack({ text: "three" }),
    codec: text(),
  });
  {
    const { replies, summary } = await collect("roll call", group, first.port, {
      codec: text(),
    });
    assert.deepEqual(replies.map((r) => r.payload).sort(), [
      "one",
      "three",
      "two",
    ]);
    assert.equal(summary.sent, 1);
    assert.equal(summary.replies, 3);
    // On loopback every listener shares 127.0.0.1: one responder address.
    assert.equal(summary.responders, 1);
  }
});

Deno.test("count and interval: three sends, three replies, sends spaced out", async () => {
  const group = newGroup();
  await using listener = await start(group, {
    responder: ack(),
    codec: text(),
  });
  const started = performance.now();
  const { replies, summary } = await collect("tick", group, listener.port, {
    count: 3,
    interval: "50ms",
    timeout: "100ms",
  });
  const elapsed = performance.now() - started;
  assert.equal(summary.sent, 3);
  assert.equal(replies.length, 3);
  assert.ok(
    elapsed >= 200,
    `2 intervals + timeout take >= 200 ms, took ${elapsed}`,
  );
  assert.equal(listener.stats.received, 3);
});

Deno.test("send with nobody listening: no replies, waits out the timeout", async () => {
  const started = performance.now();
  const { replies, summary } = await collect("hello?", newGroup(), 20999, {
    timeout: "120ms",
  });
  const elapsed = performance.now() - started;
  assert.equal(replies.length, 0);
  const { durationMs, ...rest } = summary;
  assert.deepEqual(rest, {
    event: "summary",
    sent: 1,
    replies: 0,
    responders: 0,
    // node:dgram: the round trips are timed in the event loop.
    clock: "user",
    perResponder: [],
  });
  assert.ok(elapsed >= 110, `waited ${elapsed} ms`);
  // The run lasted its wait: from the send to the timeout's end.
  assert.ok(durationMs! >= 110 && durationMs! <= elapsed, String(durationMs));
});

Deno.test("send stops early when aborted, still with a summary", async () => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 50);
  const started = performance.now();
  const { summary } = await collect("x", newGroup(), 20998, {
    timeout: "10s",
    signal: controller.signal,
  });
  clearTimeout(timer);
  assert.equal(summary.sent, 1);
  assert.ok(performance.now() - started < 2000);
});

Deno.test("replies that do not decode are reported with the reason", async () => {
  const group = newGroup();
  await using listener = await start(group, {
    responder: { name: "garbage", respond: () => new Uint8Array([0xff, 0x00]) },
  });
  const { replies } = await collect({ q: 1 }, group, listener.port, {
    codec: json(),
  });
  assert.equal(replies.length, 1);
  assert.deepEqual(replies[0].payload, new Uint8Array([0xff, 0x00]));
  assert.match(replies[0].decodeError ?? "", /not valid UTF-8/);
});

Deno.test("a listener survives undecodable payloads and a throwing plugin", async () => {
  const group = newGroup();
  const events: ListenEvent[] = [];
  const picky: Responder<string, string> = {
    name: "picky",
    respond(message) {
      if (message.payload === "boom") throw new Error("I do not like boom");
      if (message.payload === "number") return 7 as unknown as string;
      return "fine";
    },
  };
  await using listener = await start(group, {
    responder: picky as Responder,
    codec: json(),
    onEvent: (event) => events.push(event),
  });
  await sendRaw(listener, [
    new Uint8Array([0xff, 0xfe]), // not UTF-8
    utf8("{broken"), // not JSON
    new Uint8Array(), // empty: not JSON either
    utf8('"boom"'), // plugin throws
    utf8("[1, 2, 3]"), // fine (a reply no larger than the request)
  ]);
  await until(
    () => listener.stats.received === 5 && listener.stats.replied === 1,
    SETTLE_MS,
  );
  assert.deepEqual(listener.stats, {
    ...newListenerStats(),
    // Where this process can read it (Linux, --allow-all): none lost.
    ...(listener.stats.kernelDrops === undefined ? {} : { kernelDrops: 0 }),
    received: 5,
    replied: 1,
    decodeErrors: 3,
    pluginErrors: 1,
  });
  const errors = events.filter((event) => event.event === "error");
  assert.deepEqual(
    errors.map((event) => event.event === "error" && event.kind),
    [
      "decode",
      "decode",
      "decode",
      "plugin",
    ],
  );
  const pluginError = errors[3];
  assert.ok(
    pluginError.event === "error" &&
      pluginError.message.includes("I do not like boom"),
  );
  assert.ok(
    pluginError.event === "error" && pluginError.code === "ERR_PLUGIN_HOOK",
  );
  // Still answering afterwards.
  const { replies } = await collect("is this ok?", group, listener.port, {
    codec: json(),
  });
  assert.deepEqual(replies.map((r) => r.payload), ["fine"]);
});

Deno.test("two listeners on one port with different groups each see only their own", async () => {
  const groupA = newGroup();
  const groupB = newGroup();
  await using a = await start(groupA, {
    responder: ack({ text: "A" }),
    codec: text(),
  });
  await using b = await start(groupB, {
    port: a.port,
    responder: ack({ text: "B" }),
    codec: text(),
  });
  {
    const toA = await collect("for A", groupA, a.port, { codec: text() });
    const toB = await collect("for B", groupB, a.port, { codec: text() });
    assert.deepEqual(toA.replies.map((r) => r.payload), ["A"]);
    assert.deepEqual(toB.replies.map((r) => r.payload), ["B"]);
    assert.equal(a.stats.received, 1);
    assert.equal(b.stats.received, 1);
  }
});

Deno.test("a listener bound to its group ignores unicast to the host", async () => {
  const group = newGroup();
  await using listener = await start(group, {
    responder: ack(),
    codec: text(),
  });
  {
    await using socket = await RawSender.open();
    await socket.send(utf8("unicast"), listener.port, LO);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(listener.stats.received, 0);
});

Deno.test("abort closes the listener; setup and teardown run once, in order", async () => {
  const calls: string[] = [];
  const responder: Responder = {
    name: "hooks",
    setup: () => void calls.push("setup"),
    respond: () => "x",
    teardown: () => void calls.push("teardown"),
  };
  const controller = new AbortController();
  const listener = await start(newGroup(), {
    responder,
    signal: controller.signal,
  });
  assert.deepEqual(calls, ["setup"]);
  controller.abort();
  const stats = await listener.closed;
  assert.equal(stats.received, 0);
  assert.deepEqual(calls, ["setup", "teardown"]);
  await listener.close(); // idempotent
  assert.deepEqual(calls, ["setup", "teardown"]);
});

Deno.test("a failing setup rejects with a PluginError and leaves no socket open", async () => {
  const responder: Responder = {
    name: "nosetup",
    setup() {
      throw new Error("no config");
    },
    respond: () => undefined,
  };
  await assert.rejects(start(newGroup(), { responder }), (error: unknown) => {
    assert.ok(error instanceof PluginError);
    assert.equal(error.hook, "setup");
    assert.match(error.message, /"nosetup" failed in setup\(\): no config/);
    return true;
  });
});

Deno.test("a failing teardown is reported, not thrown", async () => {
  const events: ListenEvent[] = [];
  const responder: Responder = {
    name: "badexit",
    respond: () => undefined,
    teardown() {
      throw new Error("cannot flush");
    },
  };
  const listener = await start(newGroup(), {
    responder,
    onEvent: (event) => events.push(event),
  });
  await listener.close();
  assert.equal(events.length, 1);
  assert.ok(events[0].event === "error" && events[0].kind === "teardown");
  assert.ok(
    events[0].event === "error" && events[0].message.includes("cannot flush"),
  );
});

Deno.test("bad options are refused before any socket opens", async () => {
  await assert.rejects(
    start("10.1.2.3", { responder: ack() }),
    /"10.1.2.3": not a multicast/,
  );
  await assert.rejects(
    listen({ responder: ack(), port: 70000 }),
    McastRangeError,
  );
  await assert.rejects(
    start(newGroup(), { responder: ack(), source: "239.1.1.1" }),
    /multicast address cannot be a source/,
  );
  await assert.rejects(
    start(newGroup(), { responder: ack(), interface: "nosuch0" }),
    /Unknown interface "nosuch0"/,
  );
  await assert.rejects(
    start(newGroup(), { responder: {} as Responder }),
    /expected an object with a respond\(\) function/,
  );
  // Pinned to loopback even here: if a check broke, nothing would leave.
  const iterate = (options: SendOptions, message: unknown = "x") =>
    send(message, { interface: "127.0.0.1", ...options }).next();
  await assert.rejects(iterate({ group: "224.0.0.1", ttl: 300 }), /TTL 300/);
  await assert.rejects(
    iterate({ group: "224.0.0.1", timeout: "soon" }),
    /"soon"/,
  );
  await assert.rejects(iterate({ group: "224.0.0.1", count: -1 }), /count -1/);
  await assert.rejects(iterate({ group: "224.0.0.1", port: 0 }), /port 0/);
  await assert.rejects(
    iterate({ group: "224.0.0.1" }, 42),
    /must be a string or a Uint8Array/,
  );
});

Deno.test("an asynchronous responder that never answers is timed out and counted", async () => {
  const group = newGroup();
  await using listener = await start(group, {
    responder: { name: "hang", respond: () => new Promise(() => {}) },
    respondTimeout: 30,
  });
  await sendRaw(listener, [utf8("wait")]);
  await until(() => listener.stats.pluginErrors === 1, SETTLE_MS);
  assert.equal(listener.stats.pending, 0);
  assert.equal(listener.stats.received, 1);
});

Deno.test("TTL 0 (this host only): node:dgram refuses it clearly; ffi sends it", async () => {
  await assert.rejects(
    send("x", {
      group: newGroup(),
      port: 20995,
      interface: "127.0.0.1",
      ttl: 0,
    }).next(),
    /Cannot set TTL 0 .*--transport ffi/,
  );
  if (!ffiTransportAvailable()) return; // not Linux, or no --allow-ffi
  // The first FFI socket of a run starts a Worker that type-checks its
  // module: do that before the timed exchange.
  await (await openFfiTransport({
    family: "IPv4",
    address: "127.0.0.1",
    port: 0,
    reuseAddress: false,
  })).close();
  const group = newGroup();
  await using listener = await start(group, {
    responder: ack(),
    codec: text(),
  });
  const { replies } = await collect("here only", group, listener.port, {
    codec: text(),
    ttl: 0,
    timeout: "1s",
    transport: openFfiTransport,
  });
  assert.deepEqual(replies.map((reply) => reply.payload), ["ack"]);
});

Deno.test("a listener over node:dgram counts a datagram cut by its receive buffer, then takes large ones whole", async () => {
  const group = newGroup();
  const errors: ListenEvent[] = [];
  await using listener = await start(group, {
    responder: echo(),
    transport: openDgramTransport,
    rateLimit: false,
    onEvent: (event) => {
      if (event.event === "error") errors.push(event);
    },
  });
  const big = new Uint8Array(20_000).fill(0x61);
  await using socket = await RawSender.open();
  const replies: number[] = [];
  socket.onMessage((message) => replies.push(message.byteLength));
  // Deno sized the buffer for the first datagram before the transport
  // could: a small one first.
  for (const payload of [utf8("hi"), big, big]) {
    const before = listener.stats.received;
    await socket.send(payload, listener.port, group);
    await until(() => listener.stats.received > before, 2000);
  }
  await until(() => replies.length === 2, 2000);
  assert.deepEqual(replies, [2, 20_000]);
  assert.equal(listener.stats.decodeErrors, 1);
  assert.equal(listener.stats.replied, 2);
  assert.equal(errors.length, 1);
  assert.match(
    (errors[0] as { message: string }).message,
    /cut at 16384 bytes by the dgram transport/,
  );
});
