/**
 * Seeded fuzzing of the receive path: random and mutated datagrams into the
 * dispatcher (in memory) and into real listeners (on 127.0.0.1), with every
 * codec and every responder, including one that misbehaves in every way a
 * plugin can. Nothing may throw or crash, and every datagram must be
 * accounted for. Reproduce a run with MCAST_FUZZ_SEED=N.
 */
import assert from "node:assert/strict";
import { dispatch, type Outcome } from "../lib/dispatch.ts";
import { type Codec, newListenerStats, type Responder } from "../lib/plugin.ts";
import { binary } from "../plugins/codecs/binary.ts";
import { json } from "../plugins/codecs/json.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { echo } from "../plugins/responders/echo.ts";
import { silent } from "../plugins/responders/silent.ts";
import { status } from "../plugins/responders/status.ts";
import { listenOnLoopback, LOOPBACK as LO } from "./support/loopback.ts";
import { RawSender } from "./support/raw_sender.ts";
import { until } from "./support/until.ts";

const SEED = Number(Deno.env.get("MCAST_FUZZ_SEED") ?? 20261125);
const MAX_DATAGRAM = 65_507;

/** mulberry32: a small, fast, seeded PRNG. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SAMPLES = [
  '{"q":"status","n":1}',
  '["a",1,true,null]',
  '"very important data"',
  "very important data",
  "héllo ✓ 𝄞",
  "",
].map((s) => new TextEncoder().encode(s));

/** Makes datagrams: random bytes, empty, maximum size, valid samples, and mutations of them. */
function datagrams(random: () => number): () => Uint8Array {
  const int = (n: number) => Math.floor(random() * n);
  return () => {
    const kind = int(100);
    if (kind < 30) {
      const bytes = new Uint8Array(int(1500));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
      return bytes;
    }
    if (kind < 32) return new Uint8Array();
    if (kind < 33 && random() < 0.05) {
      const bytes = new Uint8Array(MAX_DATAGRAM);
      bytes.fill(int(256));
      return bytes;
    }
    const sample = SAMPLES[int(SAMPLES.length)].slice();
    if (kind < 50) return sample;
    // Mutations: flip bytes, truncate, duplicate, insert invalid UTF-8.
    let bytes = sample;
    const mutations = 1 + int(3);
    for (let m = 0; m < mutations; m++) {
      const op = int(4);
      if (op === 0 && bytes.length > 0) bytes[int(bytes.length)] ^= 1 << int(8);
      else if (op === 1) bytes = bytes.slice(0, int(bytes.length + 1));
      else if (op === 2) {
        const doubled = new Uint8Array(bytes.length * 2);
        doubled.set(bytes);
        doubled.set(bytes, bytes.length);
        bytes = doubled;
      } else {
        const bad = new Uint8Array(bytes.length + 2);
        bad.set(bytes);
        bad.set([0xc3, 0x28], bytes.length); // an invalid 2-byte sequence
        bytes = bad;
      }
    }
    return bytes;
  };
}

/** A responder that does everything a plugin can get wrong, chosen by the payload's size. */
function chaos(): Responder {
  return {
    name: "chaos",
    respond(message) {
      switch (message.bytes.length % 9) {
        case 0:
          throw new Error("chaos throws");
        case 1:
          return 42;
        case 2:
          return { not: "bytes" };
        case 3:
          return undefined;
        case 4:
          return Promise.resolve("later");
        case 5:
          return Promise.reject(new Error("chaos rejects"));
        case 6:
          return new Promise(() => {}); // never answers
        case 7:
          return new Uint8Array(70_000); // larger than any request
        default:
          return message.bytes;
      }
    },
  };
}

const CODECS: (() => Codec)[] = [text, json, binary];
const RESPONDERS: (() => Responder)[] = [
  () => ack(),
  () => echo(),
  () => status(),
  () => silent(),
  chaos,
];

Deno.test(`fuzz: 100,000 datagrams per codec through the dispatcher never throw (seed ${SEED})`, async () => {
  const next = datagrams(prng(SEED));
  const from = { address: LO, port: 9, family: "IPv4" as const };
  const kinds = new Set<Outcome["kind"]>([
    "reply",
    "unanswered",
    "decode-error",
    "plugin-error",
  ]);
  for (const makeCodec of CODECS) {
    const codec = makeCodec();
    const counts: Record<string, number> = {};
    const responders = RESPONDERS.map((make) => make());
    const pending: Promise<Outcome>[] = [];
    for (let i = 0; i < 100_000; i++) {
      const context = {
        group: "239.22.0.1",
        port: 1,
        interface: undefined,
        startedAt: 0,
        stats: newListenerStats(),
      };
      const outcome = dispatch(next(), from, {
        codec,
        responder: responders[i % responders.length],
        context,
        respondTimeoutMs: 5,
      });
      if (outcome instanceof Promise) pending.push(outcome);
      else counts[outcome.kind] = (counts[outcome.kind] ?? 0) + 1;
    }
    for (const outcome of await Promise.all(pending)) {
      counts[outcome.kind] = (counts[outcome.kind] ?? 0) + 1;
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    assert.equal(total, 100_000, codec.name);
    for (const kind of Object.keys(counts)) {
      assert.ok(kinds.has(kind as Outcome["kind"]), kind);
    }
    assert.ok(
      counts["plugin-error"] > 0,
      `${codec.name}: the chaos responder fails`,
    );
    if (codec.name !== "binary") {
      assert.ok(
        counts["decode-error"] > 0,
        `${codec.name}: some do not decode`,
      );
    }
  }
});

Deno.test(`fuzz: 105,000 datagrams into real listeners, every one accounted for (seed ${SEED})`, async () => {
  const next = datagrams(prng(SEED + 1));
  const deadline = performance.now() + 120_000;
  /** Waits for `condition`, failing once the whole run is over its time bound. */
  const untilInTime = (condition: () => boolean, intervalMs: number) =>
    until(condition, deadline - performance.now(), {
      intervalMs,
      message: "fuzz run over its time bound",
    });
  await using socket = await RawSender.open();
  const replies = { count: 0 };
  socket.onMessage(() => replies.count++);
  let group = 1;
  let total = 0;
  for (const makeCodec of CODECS) {
    for (const makeResponder of RESPONDERS) {
      await using listener = await listenOnLoopback({
        group: `239.22.1.${group++}`,
        codec: makeCodec(),
        responder: makeResponder(),
        rateLimit: false,
        respondTimeout: 20,
      });
      const count = 7_000;
      for (let sent = 0; sent < count; sent++) {
        // Stay at most 64 datagrams ahead of the listener, so the kernel never drops one.
        await untilInTime(() => listener.stats.received >= sent - 64, 0);
        await socket.send(next(), listener.port, listener.group);
      }
      await untilInTime(
        () => listener.stats.received >= count && listener.stats.pending <= 0,
        5,
      );
      const stats = { ...listener.stats };
      const { received, ...outcomes } = stats;
      assert.equal(received, count, "no datagram lost on loopback");
      assert.equal(
        Object.values(outcomes).reduce((a, b) => a + b, 0),
        received,
        `every datagram in exactly one counter: ${JSON.stringify(stats)}`,
      );
      total += received;
    }
  }
  assert.equal(total, 105_000);
  assert.ok(replies.count > 0);
});
