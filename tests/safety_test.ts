import assert from "node:assert/strict";
import { Authenticator, readKeyFile } from "../lib/safety/auth.ts";
import { contains, parseCidr } from "../lib/safety/cidr.ts";
import { McastTypeError } from "../lib/errors.ts";
import type {
  Listener,
  ListenEvent,
  ListenOptions,
} from "../lib/listener/listen.ts";
import { newListenerStats, type Responder } from "../lib/plugin.ts";
import { RateLimiter } from "../lib/safety/rate_limiter.ts";
import type { SendOptions } from "../lib/sender/send.ts";
import { SourceFilter } from "../lib/safety/source_filter.ts";
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
import { sendRaw } from "./support/raw_sender.ts";
import { tempDir } from "./support/temp_dir.ts";
import { until } from "./support/until.ts";

// Everything on the loopback interface; groups 239.21.x.x.
const newGroup = groupSequence("239.21");
const utf8 = (s: string) => new TextEncoder().encode(s);
const KEY = utf8("0123456789abcdef-test-key");
/** How long a listener's counters may take to catch up. */
const SETTLE_MS = 3000;

function start(
  options: Partial<ListenOptions> & { responder: Responder },
): Promise<Listener> {
  return listenOnLoopback({ group: newGroup(), codec: text(), ...options });
}

function collect(
  listener: Listener,
  message: unknown,
  options: Omit<SendOptions, "interface"> = {},
): Promise<Collected> {
  return collectReplies(message, {
    group: listener.group,
    port: listener.port,
    timeout: "150ms",
    codec: text(),
    ...options,
  });
}

function sum(stats: ReturnType<typeof newListenerStats>): number {
  const { received: _received, ...outcomes } = stats;
  return Object.values(outcomes).reduce((a, b) => a + b, 0);
}

// 1. No amplification.

Deno.test("safety: a reply more than 3x its request is dropped, counted and logged once", async () => {
  const events: ListenEvent[] = [];
  await using listener = await start({
    responder: status(),
    onEvent: (e) => events.push(e),
  });
  const { replies } = await collect(listener, "?");
  assert.equal(replies.length, 0);
  await collect(listener, "again?");
  assert.equal(listener.stats.oversize, 2);
  assert.equal(listener.stats.replied, 0);
  const logged = events.filter((e) =>
    e.event === "drop" && e.reason === "oversize"
  );
  assert.equal(logged.length, 1, "at most one log line a second");
  const [first] = logged;
  assert.ok(first.event === "drop");
  assert.match(first.message, /more than 3x the 1-byte request/);
  assert.equal(first.count, 1);
  // It names both fixes: the sender pads, or this listener raises its cap.
  assert.match(
    first.message,
    /send --pad \d+, or raise this listener's cap with --max-reply-bytes \d+/,
  );
  assert.match(
    first.hint,
    /^send --pad \d+ \(or --max-reply-bytes \d+ here\)$/,
  );
  // The second drop, within the second, comes with the close: counted once.
  await listener.close();
  const all = events.filter((e) => e.event === "drop");
  assert.deepEqual(all.map((e) => e.event === "drop" && e.count), [1, 1]);
});

Deno.test("safety: --max-reply-bytes raises the cap; replies as large as requests pass", async () => {
  {
    await using listener = await start({
      responder: status(),
      maxReplyBytes: 1024,
    });
    const { replies } = await collect(listener, "?");
    assert.equal(replies.length, 1);
    assert.ok(replies[0].size > 1);
  }
  {
    await using listener = await start({ responder: echo() });
    const { replies } = await collect(listener, "x".repeat(1400));
    assert.equal(replies.length, 1);
    assert.equal(replies[0].size, 1400);
  }
  {
    // ack (3 bytes) answers an empty request only when raised.
    await using tight = await start({ responder: ack() });
    assert.equal((await collect(tight, "")).replies.length, 0);
    assert.equal(tight.stats.oversize, 1);
    await using small = await start({ responder: ack(), maxReplyBytes: 3 });
    assert.equal((await collect(small, "")).replies.length, 1);
  }
  await assert.rejects(
    start({ responder: ack(), maxReplyBytes: -1 }),
    /max reply bytes -1/,
  );
});

Deno.test("safety: every built-in replies with at most 3x its request, from empty to padded requests", async () => {
  const responders = [ack(), echo(), status({ name: "amp" }), silent()];
  // Request payloads, and the size each is padded to (0: not padded).
  const requests: [string, number][] = [
    ["", 0],
    ["?", 0],
    ["hi", 0],
    ["who is there?", 0],
    ["x".repeat(1400), 0],
    ["?", 64],
    ["?", 512],
  ];
  for (const responder of responders) {
    await using listener = await start({ responder });
    let requestBytes = 0;
    let replyBytes = 0;
    for (const [message, pad] of requests) {
      const size = Math.max(new TextEncoder().encode(message).byteLength, pad);
      const { replies } = await collect(listener, message, { pad });
      requestBytes += size;
      for (const reply of replies) {
        replyBytes += reply.size;
        assert.ok(
          reply.size <= 3 * size,
          `${responder.name}: a ${reply.size}-byte reply to a ${size}-byte request`,
        );
      }
    }
    assert.ok(
      replyBytes <= 3 * requestBytes,
      `${responder.name}: ${replyBytes} bytes out for ${requestBytes} in`,
    );
    const { stats } = listener;
    assert.equal(stats.received, requests.length);
    assert.equal(
      stats.replied + stats.oversize + stats.unanswered,
      requests.length,
      `${responder.name}: every request in one counter`,
    );
  }
});

Deno.test("safety: a status document answers a request padded to 512 bytes, not a short one", async () => {
  await using listener = await start({ responder: status({ name: "pad" }) });
  assert.equal((await collect(listener, "status?")).replies.length, 0);
  const { replies } = await collect(listener, "status?", { pad: 512 });
  assert.equal(replies.length, 1);
  assert.equal(JSON.parse(replies[0].payload as string).name, "pad");
  // The responder saw the message, not the padding.
  await using echoes = await start({ responder: echo() });
  const echoed = await collect(echoes, "ping", { pad: 100, sequence: true });
  assert.equal(echoed.replies.length, 1);
  assert.equal(echoed.replies[0].payload, "ping");
  assert.equal(echoed.replies[0].seq, 0);
});

Deno.test("safety: a pad frame that claims more bytes than it carries is undecodable, not answered", async () => {
  await using listener = await start({ responder: echo() });
  // 0x00 "M" "S" 0x03, then a length of 100 with only 4 bytes behind it.
  await sendRaw(listener, [
    new Uint8Array([0, 0x4d, 0x53, 3, 0, 0, 0, 100, 1, 2, 3, 4]),
  ]);
  await until(() => listener.stats.decodeErrors === 1, SETTLE_MS);
  assert.equal(listener.stats.replied, 0);
});

Deno.test("safety: send refuses a bad pad, naming it", async () => {
  for (const bad of [-1, 1.5, 65_508]) {
    await assert.rejects(
      collectReplies("x", { group: "239.21.255.1", pad: bad }),
      new RegExp(`Invalid pad ${bad}: must be an integer 0-65507`),
    );
  }
});

// 2. Only group traffic, only neighbours.

Deno.test("safety: senders outside --allow-from are refused and counted", async () => {
  await using listener = await start({
    responder: ack(),
    allowFrom: ["10.0.0.0/8"],
  });
  const { replies } = await collect(listener, "let me in");
  assert.equal(replies.length, 0);
  assert.equal(listener.stats.received, 1);
  assert.equal(listener.stats.refused, 1);
  await using open = await start({
    responder: ack(),
    allowFrom: ["0.0.0.0/0"],
  });
  assert.equal((await collect(open, "hello")).replies.length, 1);
  await assert.rejects(
    start({ responder: ack(), allowFrom: ["10.0.0.0/33"] }),
    /"10.0.0.0\/33": prefix/,
  );
});

Deno.test("safety: by default the directly connected subnets are allowed (loopback is one)", async () => {
  await using listener = await start({ responder: ack() });
  assert.equal((await collect(listener, "neighbour")).replies.length, 1);
  const filter = new SourceFilter();
  assert.ok(filter.ranges.some((range) => contains(parseCidr(range), LO)));
  assert.ok(filter.allows("127.0.0.1"));
  assert.ok(
    !filter.allows("203.0.113.9"),
    "a documentation address is no neighbour",
  );
});

Deno.test("safety: CIDR parsing and matching", () => {
  assert.ok(contains(parseCidr("192.0.2.0/24"), "192.0.2.255"));
  assert.ok(!contains(parseCidr("192.0.2.0/24"), "192.0.3.0"));
  assert.ok(contains(parseCidr("0.0.0.0/0"), "198.51.100.1"));
  assert.ok(contains(parseCidr("10.0.0.1"), "10.0.0.1"));
  assert.ok(!contains(parseCidr("10.0.0.1"), "10.0.0.2"));
  assert.ok(contains(parseCidr("fd00::/8"), "fd12::1"));
  assert.ok(!contains(parseCidr("fd00::/8"), "10.0.0.1"));
  assert.ok(contains(parseCidr("10.0.0.0/8"), "::ffff:10.9.9.9"));
  for (const bad of ["10.0.0.0/", "x/8", "10.0.0.0/8/8", "::/129"]) {
    assert.throws(() => parseCidr(bad), McastTypeError, bad);
  }
});

// 3. Rate limits.

Deno.test("safety: the per-source token bucket caps replies; the rest are counted", async () => {
  await using listener = await start({
    responder: ack(),
    rateLimit: { perSource: 1, perSourceBurst: 5 },
  });
  await sendRaw(listener, Array.from({ length: 12 }, () => utf8("hit me")));
  await until(
    () => listener.stats.received === 12 && listener.stats.pending === 0,
    SETTLE_MS,
  );
  assert.equal(listener.stats.replied, 5);
  assert.equal(listener.stats.rateLimited, 7);
});

Deno.test("safety: the global cap holds across sources", async () => {
  await using listener = await start({
    responder: ack(),
    rateLimit: { perSource: 0, global: 1, globalBurst: 3 },
  });
  await sendRaw(
    listener,
    Array.from({ length: 4 }, () => utf8("one")),
    "127.0.0.1",
  );
  await sendRaw(
    listener,
    Array.from({ length: 4 }, () => utf8("two")),
    "127.0.0.2",
  );
  await until(
    () => listener.stats.received === 8 && listener.stats.pending === 0,
    SETTLE_MS,
  );
  assert.equal(listener.stats.replied, 3);
  assert.equal(listener.stats.rateLimited, 5);
});

Deno.test("safety: the source table stays bounded under a flood of spoofed sources", () => {
  const limiter = new RateLimiter({
    perSource: 10,
    perSourceBurst: 20,
    global: 0,
    maxSources: 100,
  });
  for (let i = 0; i < 50_000; i++) {
    assert.ok(
      limiter.allow(
        `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        i / 1000,
      ),
    );
  }
  assert.equal(limiter.sources, 100);
  // A source seen recently keeps its bucket; its tokens run out.
  for (let i = 0; i < 20; i++) limiter.allow("192.0.2.1", 100);
  assert.ok(!limiter.allow("192.0.2.1", 100));
  assert.ok(limiter.allow("192.0.2.1", 200), "refilled after 100 ms at 10/s");
  assert.throws(() => new RateLimiter({ perSource: -1 }), /per-source rate -1/);
});

// 4. Implosion control.

Deno.test("safety: --jitter spreads replies and the sender still collects them all", async () => {
  await using listeners = new AsyncDisposableStack();
  const first = listeners.use(await start({ responder: ack(), jitter: 200 }));
  for (let i = 0; i < 4; i++) {
    listeners.use(
      await start({
        group: first.group,
        port: first.port,
        responder: ack(),
        jitter: 200,
      }),
    );
  }
  {
    const { replies } = await collect(first, "everyone", { timeout: "400ms" });
    assert.equal(replies.length, 5);
    const rtts = replies.map((reply) => reply.rttMs);
    assert.ok(
      Math.max(...rtts) >= 20,
      `5 replies all within 20 ms of a 200 ms jitter: ${rtts}`,
    );
    assert.ok(
      Math.max(...rtts) <= 300,
      `no reply later than the jitter allows: ${rtts}`,
    );
  }
});

Deno.test("safety: closing drops replies still waiting out their jitter", async () => {
  await using listener = await start({ responder: ack(), jitter: 10_000 });
  await sendRaw(listener, [utf8("later")]);
  await until(() => listener.stats.pending === 1, SETTLE_MS);
  const stats = await listener.close();
  assert.equal(stats.pending, 1);
  assert.equal(stats.replied, 0);
});

// 5. Authentication.

Deno.test("safety: signed requests are answered and the replies verify", async () => {
  await using listener = await start({ responder: echo(), key: KEY });
  const { replies, summary } = await collect(listener, "signed hello", {
    key: KEY,
  });
  assert.equal(replies.length, 1);
  assert.equal(replies[0].verified, true);
  assert.equal(replies[0].payload, "signed hello");
  assert.equal(summary.verified, 1);
  assert.equal(listener.stats.replied, 1);
});

Deno.test("safety: unsigned, forged, stale and replayed requests are dropped and counted", async () => {
  await using listener = await start({ responder: echo(), key: KEY });
  const forger = new Authenticator(utf8("another key, just as long"));
  const honest = new Authenticator(KEY);
  const signed = honest.signRequest(utf8("once")).datagram;
  const stale = new Authenticator(KEY).signRequest(utf8("old")).datagram;
  new DataView(stale.buffer).setBigUint64(4, BigInt(Date.now() - 120_000));
  await sendRaw(listener, [
    utf8("plain text"),
    forger.signRequest(utf8("forged")).datagram,
    stale, // its HMAC no longer matches the changed timestamp: a forgery too
    signed,
    signed, // replay
  ]);
  await until(
    () => listener.stats.received === 5 && listener.stats.pending === 0,
    SETTLE_MS,
  );
  assert.deepEqual(listener.stats, {
    ...newListenerStats(),
    // Where this process can read it (Linux, --allow-all): none lost.
    ...(listener.stats.kernelDrops === undefined ? {} : { kernelDrops: 0 }),
    received: 5,
    replied: 1,
    unsigned: 1,
    badSignature: 2,
    replayed: 1,
  });
  // A correctly signed but old request: stale.
  const window = new Authenticator(KEY, { windowMs: 1000 });
  const old = honest.signRequest(utf8("x")).datagram;
  const result = window.openRequest(old, Date.now() + 5000);
  assert.deepEqual(result, { ok: false, reason: "stale" });
});

Deno.test("safety: a keyed sender marks unsigned and foreign replies as not verified", async () => {
  // A listener without the key: it cannot read the envelope, so no codec.
  await using plain = await start({ responder: ack(), codec: undefined });
  const { replies, summary } = await collect(plain, "x".repeat(80), {
    key: KEY,
  });
  assert.equal(replies.length, 1);
  assert.equal(replies[0].verified, false);
  assert.equal(replies[0].authError, "unsigned");
  assert.equal(summary.verified, 0);
  // A reply bound to someone else's request does not verify.
  const a = new Authenticator(KEY);
  const request = a.signRequest(utf8("q"));
  const other = a.signRequest(utf8("q2"));
  const reply = a.signReply(utf8("r"), other.nonce);
  assert.deepEqual(a.openReply(reply, [request.nonce]), {
    ok: false,
    reason: "bad-signature",
  });
});

Deno.test("safety: key files are read, trimmed and checked", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/good`, "  0123456789abcdef0123\n");
  await Deno.writeTextFile(`${dir.path}/short`, "tooshort\n");
  assert.equal(
    new TextDecoder().decode(await readKeyFile(`${dir.path}/good`)),
    "0123456789abcdef0123",
  );
  await assert.rejects(
    readKeyFile(`${dir.path}/short`),
    /"[^"]*short" holds 8 bytes/,
  );
  await assert.rejects(
    readKeyFile(`${dir.path}/missing`),
    /Cannot read key file "[^"]*missing"/,
  );
});

// 6. Accounting invariant (the fuzz test covers it at scale).

Deno.test("safety: every received datagram is in exactly one counter", async () => {
  await using listener = await start({
    responder: ack(),
    key: KEY,
    rateLimit: { perSource: 1, perSourceBurst: 1 },
  });
  const auth = new Authenticator(KEY);
  await sendRaw(listener, [
    utf8("unsigned"),
    auth.signRequest(utf8("ok one")).datagram,
    auth.signRequest(utf8("ok two")).datagram, // rate-limited
    auth.signRequest(new Uint8Array([0xff])).datagram, // not UTF-8
  ]);
  await until(
    () => listener.stats.received === 4 && listener.stats.pending === 0,
    SETTLE_MS,
  );
  assert.equal(sum(listener.stats), listener.stats.received);
  assert.equal(listener.stats.replied, 1);
  assert.equal(listener.stats.rateLimited, 1);
  assert.equal(listener.stats.decodeErrors, 1);
  assert.equal(listener.stats.unsigned, 1);
});
