/**
 * `mcast mesh`, the library half (lib/mesh/): the wire, the per-peer
 * counts, the rows, the matrix and the verdict driven in memory; real
 * meshes on loopback, one node against a hand-made peer at 127.0.0.2
 * (its probes, answers, rows, garbage, a key, a flood); a listener's
 * intake ignoring mesh datagrams. Meshes of many nodes run through the
 * command line in the namespace tests (tests/netns/).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ack } from "../plugins/responders/ack.ts";
import { FRAME_BYTES, FrameKind, writeFrame } from "../lib/wire/frame.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import {
  mesh,
  type MeshDropEvent,
  type MeshEvent,
  type MeshMatrixEvent,
  type MeshOptions,
  type MeshReadyEvent,
} from "../mesh.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import type { Transport } from "../lib/transports/transport.ts";
import { Authenticator } from "../lib/safety/auth.ts";
import { RawSender } from "./support/raw_sender.ts";
import { until } from "./support/until.ts";
import {
  SEQUENCE_WINDOW,
  SequenceCounts,
} from "../lib/mesh/sequence_counts.ts";
import { RttHistogram } from "../lib/mesh/rtt_histogram.ts";
import {
  decodeMeshDatagram,
  encodeAnswer,
  encodeGoodbye,
  encodeProbe,
  encodeRow,
  MAX_MESH_DATAGRAM_BYTES,
  type MeshDatagram,
  newRunId,
} from "../lib/mesh/wire.ts";
import { type RowEntry, splitForged } from "../lib/mesh/rows.ts";
import { PeerStats } from "../lib/mesh/peer_stats.ts";
import { buildMatrix, type Report } from "../lib/mesh/matrix.ts";
import { judge } from "../lib/mesh/verdict.ts";
import { MAX_MESH_HOSTS, MeshState } from "../lib/mesh/state.ts";
import { planMesh } from "../lib/mesh/options.ts";
import { MeshDrops } from "../lib/mesh/drops.ts";
import { createMeshIntake } from "../lib/mesh/intake.ts";

Deno.test("listen: a mesh datagram is counted unanswered, never answered", async () => {
  await using listener = await listenOnLoopback({
    group: "239.77.21.1",
    responder: ack(),
  });
  await using raw = await RawSender.open();
  const replies: Uint8Array[] = [];
  raw.onMessage((message) => replies.push(message));
  for (const kind of [0x04, 0x05, 0x06, 0x07]) {
    const datagram = new Uint8Array(FRAME_BYTES + 16);
    writeFrame(datagram, kind, 1);
    await raw.send(datagram, listener.port, listener.group);
  }
  // An ordinary request after them is still answered.
  const request = new Uint8Array(FRAME_BYTES + 4);
  writeFrame(request, FrameKind.request, 9);
  await raw.send(request, listener.port, listener.group);
  await until(
    () => listener.stats.received === 5 && replies.length === 1,
    2000,
  );
  assert.equal(listener.stats.unanswered, 4);
  assert.equal(listener.stats.replied, 1);
});

// The pieces, in memory.

function entry(
  from: string,
  to: string,
  fields: {
    received?: number;
    expected?: number;
    unicastReceived?: number;
    unicastExpected?: number;
    probedSince?: number;
  } = {},
): RowEntry {
  return {
    from,
    to,
    multicast: {
      received: fields.received ?? 10,
      expected: fields.expected ?? 10,
      joinMissed: 0,
      duplicates: 0,
      reordered: 0,
    },
    unicast: {
      received: fields.unicastReceived ?? 10,
      expected: fields.unicastExpected ?? 10,
    },
    probedSince: fields.probedSince ?? 1,
    rtt: { multicast: { p50: 0.25, p99: 1.5 }, unicast: null },
    left: null,
  };
}

Deno.test("mesh sequence counts: loss from the first heard, duplicates, reordering, a window that forgets", () => {
  const counts = new SequenceCounts();
  assert.equal(counts.expected(), 0);
  assert.equal(counts.record(5), "new");
  assert.equal(counts.record(7), "new");
  assert.equal(counts.record(6), "reordered");
  assert.equal(counts.record(6), "duplicate");
  assert.equal(counts.record(4), "reordered");
  assert.equal(counts.first, 4);
  assert.equal(counts.joinMissed, 3);
  assert.equal(counts.received, 4);
  assert.equal(counts.expected(), 4);
  // Known sent through 10: 8, 9, 10 are missing.
  assert.equal(counts.expected(10), 7);
  // Far ahead: the window is cleared, so 7 is now too old to tell (a duplicate).
  assert.equal(counts.record(7 + SEQUENCE_WINDOW + 5), "new");
  assert.equal(counts.record(7), "duplicate");
  // A number skipped over inside the window still counts when it comes late.
  assert.equal(counts.record(7 + SEQUENCE_WINDOW + 2), "reordered");
  assert.equal(counts.duplicates, 2);
  assert.equal(counts.reordered, 3);
});

Deno.test("mesh RTT histogram: percentiles within 2.2%, exact at a constant, bounded memory", () => {
  const rtt = new RttHistogram();
  assert.equal(rtt.percentiles(), null);
  for (let i = 0; i < 1000; i++) rtt.record(0.42);
  assert.deepEqual(rtt.percentiles(), { p50: 0.42, p99: 0.42 });
  const spread = new RttHistogram();
  // 1..10,000 microseconds, shuffled order does not matter.
  for (let i = 10_000; i >= 1; i--) spread.record(i / 1000);
  const { p50, p99 } = spread.percentiles()!;
  assert.ok(Math.abs(p50 - 5) / 5 < 0.022, `p50 ${p50}`);
  assert.ok(Math.abs(p99 - 9.9) / 9.9 < 0.022, `p99 ${p99}`);
  spread.record(-1);
  spread.record(Number.NaN);
  spread.record(1e9); // longer than the last bucket: kept as the maximum
  assert.equal(spread.count, 10_001);
  assert.equal(spread.percentile(1), 1e9);
});

Deno.test("mesh wire: every datagram round-trips; an answer is smaller than its probe", () => {
  const runId = newRunId();
  const probe = encodeProbe({
    seq: 42,
    via: "multicast",
    runId,
    intervalMs: 250,
  });
  const answer = encodeAnswer({ seq: 42, via: "multicast", runId });
  assert.ok(answer.byteLength < probe.byteLength);
  assert.deepEqual(decodeMeshDatagram(probe), {
    kind: "probe",
    seq: 42,
    via: "multicast",
    runId,
    intervalMs: 250,
  });
  assert.deepEqual(decodeMeshDatagram(answer), {
    kind: "answer",
    seq: 42,
    via: "multicast",
    runId,
  });
  assert.deepEqual(decodeMeshDatagram(encodeGoodbye({ seq: 9, runId })), {
    kind: "goodbye",
    seq: 9,
    runId,
  });
  for (const family of ["IPv4", "IPv6"] as const) {
    const [a, b] = family === "IPv4"
      ? ["10.77.1.2", "10.77.1.3"]
      : ["fd77::2", "fe80::1:3"];
    const entries = [entry(a, b), { ...entry(b, a), left: "goodbye" as const }];
    const header = { round: 12, runId, intervalMs: 1000, family, final: true };
    const [chunk] = encodeRow(header, entries, MAX_MESH_DATAGRAM_BYTES);
    const decoded = decodeMeshDatagram(chunk);
    assert.equal(decoded.kind, "row");
    if (decoded.kind !== "row") return;
    assert.deepEqual(decoded.entries, entries);
    assert.equal(decoded.final, true);
    assert.equal(decoded.family, family);
  }
});

Deno.test("mesh wire: a row of 100 peers is chunked within 1,400 bytes, signed or not", () => {
  const entries = Array.from(
    { length: 100 },
    (_, i) => entry(`fd77::${i + 10}`, "fd77::1"),
  );
  const header = {
    round: 1,
    runId: newRunId(),
    intervalMs: 1000,
    family: "IPv6" as const,
    final: false,
  };
  for (const room of [MAX_MESH_DATAGRAM_BYTES, MAX_MESH_DATAGRAM_BYTES - 60]) {
    const chunks = encodeRow(header, entries, room);
    assert.ok(chunks.every((chunk) => chunk.byteLength <= room));
    const back = chunks.map(decodeMeshDatagram).flatMap((chunk) =>
      chunk.kind === "row" ? chunk.entries : []
    );
    assert.deepEqual(back, entries);
    assert.deepEqual(
      chunks.map((chunk) => decodeMeshDatagram(chunk)).map((c) =>
        c.kind === "row" ? `${c.chunk}/${c.chunks}` : ""
      ),
      chunks.map((_, i) => `${i}/${chunks.length}`),
    );
  }
  // A row with no entries is still one datagram.
  assert.equal(encodeRow(header, [], MAX_MESH_DATAGRAM_BYTES).length, 1);
});

Deno.test("mesh wire: truncated, padded, foreign and future datagrams are refused by name", () => {
  const runId = newRunId();
  const probe = encodeProbe({
    seq: 1,
    via: "unicast",
    runId,
    intervalMs: 1000,
  });
  const [row] = encodeRow(
    { round: 3, runId, intervalMs: 1000, family: "IPv4", final: false },
    [entry("10.77.1.2", "10.77.1.3")],
    MAX_MESH_DATAGRAM_BYTES,
  );
  const refused = (bytes: Uint8Array, pattern: RegExp) =>
    assert.throws(() => decodeMeshDatagram(bytes), {
      name: "SyntaxError",
      message: pattern,
    });
  for (let cut = 0; cut < probe.byteLength; cut++) {
    assert.throws(
      () => decodeMeshDatagram(probe.subarray(0, cut)),
      SyntaxError,
    );
  }
  refused(row.subarray(0, row.byteLength - 1), /whole IPv4 entries/);
  refused(new Uint8Array([...row, 0]), /whole IPv4 entries/);
  refused(new TextEncoder().encode("very important data"), /not a mesh/);
  const future = probe.slice();
  future[8] = 2;
  refused(future, /version 2/);
  const zero = probe.slice();
  zero.fill(0, 4, 8);
  refused(zero, /numbered 0/);
  const badChunk = row.slice();
  new DataView(badChunk.buffer).setUint16(22, 5); // chunk 5 ...
  new DataView(badChunk.buffer).setUint16(24, 2); // ... of 2
  refused(badChunk, /chunk 5 of 2/);
  const badState = row.slice();
  badState[badState.byteLength - 1] = 9;
  refused(badState, /unknown state 9/);
});

Deno.test("mesh rows: an entry for a pair its sender does not measure is forged", () => {
  const entries = [
    entry("10.77.1.2", "10.77.1.3"),
    entry("10.77.1.2", "10.77.1.7"), // claims to speak for .7
    entry("10.77.1.3", "10.77.1.3"), // a node with itself
  ];
  const { kept, forged } = splitForged(entries, "10.77.1.3");
  assert.deepEqual(kept.map((e) => `${e.from}>${e.to}`), [
    "10.77.1.2>10.77.1.3",
  ]);
  assert.equal(forged.length, 2);
  // The source as a socket writes it (IPv4-mapped, zone) is the same node.
  assert.equal(splitForged(entries, "::ffff:10.77.1.3").kept.length, 1);
  const v6 = [entry("fe80::2", "fe80::3")];
  assert.equal(splitForged(v6, "FE80::3%eth0").kept.length, 1);
});

Deno.test("mesh peer stats: a peer heard only by unicast has lost every multicast probe since", () => {
  const peer = new PeerStats("10.77.1.3", "10.77.1.3", newRunId(), 1000, 0);
  // Its unicast probes 4..9 arrive; none of its multicast ones.
  for (let seq = 4; seq <= 9; seq++) peer.probe(seq, "unicast", seq);
  const only = peer.entry("10.77.1.7");
  assert.deepEqual(only.multicast, {
    received: 0,
    expected: 5, // rounds 4..8 complete; round 9's multicast may be on its way
    joinMissed: 3,
    duplicates: 0,
    reordered: 0,
  });
  assert.deepEqual(only.unicast, { received: 6, expected: 6 });
  // Its final row says round 9 is complete.
  peer.row(9, true, 10);
  assert.equal(peer.entry("10.77.1.7").multicast.expected, 6);
});

Deno.test("mesh peer stats: multicast that stops mid-run counts as loss while unicast goes on", () => {
  const peer = new PeerStats("10.77.1.3", "10.77.1.3", newRunId(), 1000, 0);
  for (let seq = 1; seq <= 10; seq++) {
    if (seq <= 5) peer.probe(seq, "multicast", seq);
    peer.probe(seq, "unicast", seq);
  }
  const { multicast, unicast } = peer.entry("10.77.1.7");
  assert.equal(multicast.received, 5);
  assert.equal(multicast.expected, 9);
  assert.deepEqual(unicast, { received: 10, expected: 10 });
  // Answers to this node's probes: round trips and who hears it.
  peer.answer(3, "multicast", 0.5, 11);
  peer.answer(3, "multicast", 9, 12); // a duplicate answer is not a round trip
  peer.answer(4, "multicast", 0.5, 13);
  assert.deepEqual(peer.entry("x").rtt.multicast, { p50: 0.5, p99: 0.5 });
  const answered = peer.answeredEntry("10.77.1.7", 6);
  assert.equal(answered.from, "10.77.1.7");
  assert.equal(answered.to, "10.77.1.3");
  assert.deepEqual(
    [answered.multicast.received, answered.multicast.expected],
    [2, 3],
  );
});

/** Three nodes' rows; `rows[to]` lists the entries `to` made. */
function reports(
  rows: Record<string, RowEntry[]>,
  round = 10,
): Map<string, Report> {
  return new Map(
    Object.entries(rows).map(([to, entries]) => [to, {
      round,
      final: false,
      entries: new Map(entries.map((e) => [e.from, e])),
    }]),
  );
}

const [A, B, C] = ["10.77.1.3", "10.77.1.7", "10.77.1.10"];

Deno.test("mesh matrix: multicast-only failure named as such, from the row of the node that measured it", () => {
  const matrix = buildMatrix({
    self: A,
    hosts: [],
    reports: reports({
      [A]: [entry(B, A), entry(C, A)],
      [B]: [entry(A, B, { received: 0, expected: 9 }), entry(C, B)],
      [C]: [entry(A, C), entry(B, C)],
    }),
    left: new Map(),
    maxLossPercent: 0,
  });
  assert.deepEqual(matrix.hosts, [A, B, C]);
  assert.equal(matrix.pairs.length, 6);
  const failing = matrix.pairs.filter((pair) => pair.state !== "ok");
  assert.deepEqual(failing.map((p) => `${p.from}>${p.to} ${p.state}`), [
    `${A}>${B} multicast-fails`,
  ]);
  assert.equal(failing[0].multicastLossPercent, 100);
  assert.equal(failing[0].unicastLossPercent, 0);
  const verdict = judge(matrix, {
    self: A,
    maxLossPercent: 0,
    reporters: new Set([A, B, C]),
  });
  assert.equal(verdict.ok, false);
  assert.deepEqual(verdict.failures, [{
    from: A,
    to: B,
    reason:
      `multicast from ${A} does not reach ${B} (none of 9 probes heard); unicast works (0% lost)`,
    unicastWorks: true,
  }]);
});

Deno.test("mesh matrix: unicast that never arrives is 100% lost when the prober's row says it probes", () => {
  const matrix = buildMatrix({
    self: A,
    hosts: [],
    reports: reports({
      // A probes B by unicast since its round 2; B heard none of them.
      [A]: [entry(B, A, { probedSince: 2 })],
      [B]: [entry(A, B, { unicastReceived: 0, unicastExpected: 0 })],
    }),
    left: new Map(),
    maxLossPercent: 0,
  });
  const pair = matrix.pairs.find((p) => p.from === A)!;
  assert.equal(pair.unicastLossPercent, 100);
  assert.equal(pair.state, "unicast-fails");
  // Multicast is fine, so the verdict passes: it is about multicast.
  assert.ok(
    judge(matrix, { self: A, maxLossPercent: 0, reporters: new Set([A, B]) })
      .ok,
  );
});

Deno.test("mesh matrix: no row from a node leaves its column unheard, and self's pair falls back on answers", () => {
  const answered = new Map([[C, entry(A, C, { received: 8, expected: 8 })]]);
  const matrix = buildMatrix({
    self: A,
    hosts: [C],
    reports: reports({
      [A]: [entry(B, A), entry(C, A)],
      [B]: [entry(A, B), entry(C, B)],
    }),
    answered,
    left: new Map(),
    maxLossPercent: 0,
  });
  const state = (from: string, to: string) =>
    matrix.pairs.find((p) => p.from === from && p.to === to)!.state;
  assert.equal(state(A, C), "ok"); // C answered every probe of A's
  assert.equal(state(B, C), "unheard"); // nobody knows what C hears of B
  const verdict = judge(matrix, {
    self: A,
    maxLossPercent: 0,
    reporters: new Set([A, B]),
  });
  assert.deepEqual(verdict.failures.map((f) => `${f.from}>${f.to}`), [
    `${B}>${C}`,
  ]);
  assert.match(verdict.failures[0].reason, /no row from 10\.77\.1\.10/);
});

Deno.test("mesh matrix: a node gone silent keeps its figures; loss within the limit passes", () => {
  const matrix = buildMatrix({
    self: A,
    hosts: [],
    reports: reports({
      [A]: [entry(B, A, { received: 19, expected: 20 })],
      [B]: [entry(A, B)],
    }),
    left: new Map([[B, "gone"]]),
    maxLossPercent: 5,
  });
  assert.deepEqual(matrix.pairs.map((p) => p.state), ["gone", "gone"]);
  assert.equal(matrix.pairs[1].multicastLossPercent, 5);
  const rules = { self: A, maxLossPercent: 5, reporters: new Set([A, B]) };
  assert.ok(judge(matrix, rules).ok);
  assert.equal(judge(matrix, { ...rules, maxLossPercent: 4 }).ok, false);
});

Deno.test("mesh verdict: expected peers that never showed up, and too few nodes", () => {
  const matrix = buildMatrix({
    self: A,
    hosts: [],
    reports: reports({ [A]: [entry(B, A)], [B]: [entry(A, B)] }),
    left: new Map(),
    maxLossPercent: 0,
  });
  const reporters = new Set([A, B]);
  const listed = judge(matrix, {
    self: A,
    peers: [B, C],
    maxLossPercent: 0,
    reporters,
  });
  assert.deepEqual(listed.expected, [A, B, C]);
  assert.deepEqual(listed.missing, [C]);
  assert.deepEqual(listed.failures.map((f) => [f.from, f.to]), [[C, A]]);
  const counted = judge(matrix, {
    self: A,
    expect: 3,
    maxLossPercent: 0,
    reporters,
  });
  assert.deepEqual(counted.failures.map((f) => f.reason), [
    "3 nodes expected, only 2 showed up",
  ]);
  assert.ok(
    judge(matrix, { self: A, expect: 2, maxLossPercent: 0, reporters }).ok,
  );
});

// mesh() on loopback: one node, and a hand-made peer at 127.0.0.2.

/** Runs `mesh()` to its end and returns every event. */
async function meshEvents(options: MeshOptions): Promise<MeshEvent[]> {
  const events: MeshEvent[] = [];
  for await (const event of mesh(options)) events.push(event);
  return events;
}

/** A mesh pinned to loopback, counting loopback senders. */
function loopbackMesh(group: string, port: number): MeshOptions {
  return {
    group,
    port,
    interface: LOOPBACK,
    allowFrom: ["127.0.0.0/8"],
    intervalMs: 50,
  };
}

Deno.test("mesh(): bad options are refused before any socket opens, naming the value", async () => {
  const cases: [MeshOptions, RegExp][] = [
    [{ group: "10.1.2.3" }, /"10\.1\.2\.3": not a multicast/],
    [{ group: "232.1.2.3" }, /"232\.1\.2\.3": a source-specific group/],
    [{ group: "ff02::77" }, /"ff02::77" is link-local: give the interface/],
    [{ intervalMs: 5 }, /Invalid interval 5/],
    [{ count: 1.5 }, /Invalid count 1\.5/],
    [{ durationMs: -1 }, /Invalid duration -1/],
    [{ ttl: 256 }, /Invalid TTL 256/],
    [{ port: 70000 }, /Invalid port 70000/],
    [{ maxLossPercent: 101 }, /Invalid max loss 101/],
    [{ expect: 0 }, /Invalid expected node count 0/],
    [{ goneAfterIntervals: 0 }, /Invalid gone-after intervals 0/],
    [{ peers: ["239.1.1.1"] }, /Invalid peer "239\.1\.1\.1": a multicast/],
    [{ peers: ["fd77::1"] }, /Invalid peer "fd77::1": an IPv6 address/],
    [{ peers: ["nonsense"] }, /Invalid peer "nonsense": not an IP/],
    [{ group: "ff05::77", peers: ["fe80::1"] }, /"fe80::1": a link-local/],
    [{ key: new Uint8Array(4) }, /Invalid key: 4 bytes/],
    [
      { key: "secret" as unknown as Uint8Array },
      /Invalid key \[object String\]/,
    ],
    [{ allowFrom: ["10.0.0.0/33"] }, /"10\.0\.0\.0\/33"/],
    [{ rateLimit: { perSource: -1 } }, /Invalid per-source rate -1/],
    [{ interface: "no-such-if0" }, /Unknown interface "no-such-if0"/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(
      () => meshEvents({ allowFrom: ["127.0.0.0/8"], ...options }),
      message,
      JSON.stringify(options),
    );
  }
});

Deno.test("mesh(): a mesh of one on loopback: ready, a round each interval, goodbye-free matrix last", async () => {
  const events = await meshEvents({
    ...loopbackMesh("239.77.21.2", 0),
    count: 3,
  });
  const ready = events[0];
  assert.equal(ready.event, "ready");
  if (ready.event !== "ready") return;
  assert.equal(ready.self, LOOPBACK);
  assert.ok(ready.port > 0);
  assert.deepEqual(
    events.filter((e) => e.event === "interval").map((e) =>
      e.event === "interval" ? e.probesSent : -1
    ),
    [1, 2, 3, 3, 3], // three probes, then the two final rounds
  );
  const last = events.at(-1)!;
  assert.equal(last.event, "matrix");
  if (last.event !== "matrix") return;
  assert.deepEqual(
    { self: last.self, hosts: last.hosts, ok: last.ok, pairs: last.pairs },
    { self: LOOPBACK, hosts: [LOOPBACK], ok: true, pairs: [] },
  );
  assert.equal(events.filter((e) => e.event === "matrix").length, 1);
});

Deno.test("mesh(): a reader that falls behind gets the newest interval event, not every round's", async () => {
  const events: MeshEvent[] = [];
  const rounds = mesh({ ...loopbackMesh("239.77.21.9", 0), count: 12 });
  for await (const event of rounds) {
    events.push(event);
    // Held up for about ten rounds after the ready event.
    if (event.event === "ready") await new Promise((r) => setTimeout(r, 500));
  }
  const sent = events.filter((e) => e.event === "interval").map((e) =>
    e.event === "interval" ? e.probesSent : -1
  );
  // Every round was made, the ones the reader missed were replaced.
  assert.ok(sent.length < 8, `${sent.length} interval events: ${sent}`);
  assert.ok(sent[0] >= 8, `the first one read is the newest: ${sent}`);
  assert.equal(sent.at(-1), 12, String(sent));
  assert.equal(events.at(-1)?.event, "matrix");
});

/**
 * A hand-made mesh peer at 127.0.0.2 on the mesh's port: it sends
 * whatever the test says (probes, rows, garbage) and keeps what comes
 * back (answers, the mesh's unicast probes), decoded.
 */
class FakePeer implements AsyncDisposable {
  static readonly ADDRESS = "127.0.0.2";
  readonly runId = newRunId();
  readonly received: MeshDatagram[] = [];
  readonly raw: Uint8Array[] = [];
  readonly #transport: Transport;
  readonly #group: string;
  readonly #port: number;

  private constructor(transport: Transport, group: string, port: number) {
    this.#transport = transport;
    this.#group = group;
    this.#port = port;
    transport.onDatagram((data) => {
      const bytes = data.slice();
      this.raw.push(bytes);
      try {
        this.received.push(decodeMeshDatagram(bytes));
      } catch {
        // Signed: the test opens it from `raw`.
      }
    });
  }

  static async open(group: string, port: number): Promise<FakePeer> {
    const transport = await openDgramTransport({
      family: "IPv4",
      address: FakePeer.ADDRESS,
      port,
      reuseAddress: true,
    });
    transport.setInterface(LOOPBACK);
    return new FakePeer(transport, group, port);
  }

  /** Sends to the group (`to` undefined) or to the mesh node at 127.0.0.1. */
  send(bytes: Uint8Array, to?: "node"): Promise<void> {
    return this.#transport.send(
      bytes,
      this.#port,
      to === "node" ? LOOPBACK : this.#group,
    );
  }

  probe(seq: number, via: "multicast" | "unicast"): Uint8Array {
    return encodeProbe({ seq, via, runId: this.runId, intervalMs: 50 });
  }

  /** Answers every unicast probe of the node's it has received since the last call. */
  async answerProbes(answered: Set<number>): Promise<void> {
    for (const datagram of this.received) {
      if (datagram.kind !== "probe" || answered.has(datagram.seq)) continue;
      answered.add(datagram.seq);
      await this.send(encodeAnswer({ ...datagram }), "node");
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#transport.close();
  }
}

/** Waits for the mesh's `ready` event and hands the rest of the run to `rest`. */
async function withReady(
  events: AsyncGenerator<MeshEvent>,
): Promise<{ ready: MeshReadyEvent; rest: Promise<MeshEvent[]> }> {
  const first = await events.next();
  assert.equal(first.value?.event, "ready");
  const rest = (async () => {
    const seen: MeshEvent[] = [];
    for await (const event of events) seen.push(event);
    return seen;
  })();
  return { ready: first.value as MeshReadyEvent, rest };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (
  const [name, transport] of [
    ["ffi", undefined],
    ["dgram", openDgramTransport],
  ] as const
) {
  Deno.test(`mesh() (${name}): a peer's loss, duplicates, forged row entries and garbage, counted exactly; the node lives on`, async () => {
    const group = "239.77.21.3";
    const port = name === "ffi" ? 21803 : 21804;
    await using peer = await FakePeer.open(group, port);
    const { rest } = await withReady(mesh({
      ...loopbackMesh(group, port),
      count: 14,
      transport,
    }));
    const answered = new Set<number>();
    for (let seq = 1; seq <= 10; seq++) {
      // Multicast probe 3 is lost, probe 5 comes twice.
      if (seq !== 3) await peer.send(peer.probe(seq, "multicast"));
      if (seq === 5) await peer.send(peer.probe(seq, "multicast"));
      await peer.send(peer.probe(seq, "unicast"), "node");
      await peer.answerProbes(answered);
      await sleep(15);
    }
    const entry = (to: string) => ({
      from: LOOPBACK,
      to,
      multicast: {
        received: 7,
        expected: 10,
        joinMissed: 0,
        duplicates: 0,
        reordered: 0,
      },
      unicast: { received: 10, expected: 10 },
      probedSince: 1,
      rtt: { multicast: null, unicast: null },
      left: null,
    });
    const [row] = encodeRow(
      {
        round: 10,
        runId: peer.runId,
        intervalMs: 50,
        family: "IPv4",
        final: true,
      },
      [entry(FakePeer.ADDRESS), entry("127.0.0.9")],
      MAX_MESH_DATAGRAM_BYTES,
    );
    await peer.send(row);
    await peer.send(new TextEncoder().encode("very important data"));
    await peer.send(peer.probe(11, "multicast").subarray(0, 15));
    await peer.send(new Uint8Array(1500));
    await peer.send(encodeGoodbye({ seq: 10, runId: peer.runId }));
    const events = await rest;
    const matrix = events.at(-1) as MeshMatrixEvent;
    assert.equal(matrix.event, "matrix");
    assert.deepEqual(matrix.hosts, [LOOPBACK, FakePeer.ADDRESS]);
    const [out, back] = matrix.pairs;
    // The peer's probes as the node heard them.
    assert.deepEqual(
      [back.from, back.received, back.expected, back.duplicates],
      [FakePeer.ADDRESS, 9, 10, 1],
    );
    assert.equal(back.multicastLossPercent, 10);
    assert.equal(back.unicastLossPercent, 0);
    assert.equal(back.state, "lossy");
    // The node's probes as the peer's row says it heard them, and the
    // round trips of the unicast probes it answered.
    assert.equal(out.multicastLossPercent, 30);
    assert.notEqual(out.unicastRttMs, null);
    assert.equal(out.multicastRttMs, null); // the peer got no multicast probe to answer
    assert.equal(matrix.ok, false);
    assert.deepEqual(
      matrix.failures.map((f) => [f.from, f.to, f.unicastWorks]),
      [[LOOPBACK, FakePeer.ADDRESS, true], [FakePeer.ADDRESS, LOOPBACK, true]],
    );
    const drops = new Map<string, number>();
    for (const event of events) {
      if (event.event === "drop") {
        drops.set(event.reason, (drops.get(event.reason) ?? 0) + event.count);
      }
    }
    assert.deepEqual(
      Object.fromEntries(drops),
      { forged: 1, malformed: 3 },
    );
    const forged = events.find((e) =>
      e.event === "drop" && e.reason === "forged"
    );
    assert.match(
      (forged as MeshDropEvent).detail,
      /127\.0\.0\.1 -> 127\.0\.0\.9/,
    );
    assert.deepEqual(
      events.filter((e) => e.event === "peer").map((e) =>
        e.event === "peer" ? [e.peer, e.state, e.firstSeq] : []
      ),
      [[FakePeer.ADDRESS, "joined", 1], [
        FakePeer.ADDRESS,
        "goodbye",
        undefined,
      ]],
    );
    // Every probe answered (the duplicate too), no answer larger than its probe.
    const answers = peer.received.filter((d) => d.kind === "answer");
    assert.equal(answers.length, 20);
    assert.ok(answers.every((a) => a.runId === peer.runId));
    assert.ok(peer.raw.every((bytes) => bytes.byteLength <= 1400));
  });
}

Deno.test("mesh(): answers are rate-limited per prober; every probe is still counted", async () => {
  const group = "239.77.21.4";
  const port = 21805;
  await using peer = await FakePeer.open(group, port);
  const { rest } = await withReady(mesh({
    ...loopbackMesh(group, port),
    count: 6,
    rateLimit: { perSource: 1, perSourceBurst: 5 },
  }));
  for (let seq = 1; seq <= 100; seq++) {
    await peer.send(peer.probe(seq, "multicast"));
  }
  const events = await rest;
  const matrix = events.at(-1) as MeshMatrixEvent;
  const heard = matrix.pairs.find((p) => p.from === FakePeer.ADDRESS)!;
  assert.deepEqual([heard.received, heard.expected], [100, 100]);
  const answers = peer.received.filter((d) => d.kind === "answer").length;
  assert.ok(answers >= 5 && answers <= 7, `${answers} answers`);
  const limited = events.filter((e) =>
    e.event === "drop" && e.reason === "rateLimited"
  ) as MeshDropEvent[];
  assert.equal(
    limited.reduce((sum, e) => sum + e.count, 0),
    100 - answers,
  );
  assert.ok(limited.length <= 2, "at most one event a second");
  assert.match(limited[0].detail, /one node \(1\/s, burst 5\)/);
});

Deno.test("mesh(): with a key, unsigned and wrongly signed datagrams are refused, signed ones answered signed", async () => {
  const group = "239.77.21.5";
  const port = 21806;
  const key = new TextEncoder().encode("a shared secret of 16+ bytes");
  const stranger = new Authenticator(
    new TextEncoder().encode("another secret of 16+ bytes"),
  );
  const friend = new Authenticator(key);
  await using peer = await FakePeer.open(group, port);
  const { rest } = await withReady(mesh({
    ...loopbackMesh(group, port),
    count: 6,
    key,
  }));
  await peer.send(peer.probe(1, "multicast"));
  await peer.send(stranger.signRequest(peer.probe(2, "multicast")).datagram);
  const signed = friend.signRequest(peer.probe(3, "multicast")).datagram;
  await peer.send(signed);
  await peer.send(signed); // the same datagram again: a replay
  const events = await rest;
  const reasons = events.flatMap((e) => e.event === "drop" ? [e.reason] : []);
  assert.deepEqual(reasons.sort(), ["badSignature", "replayed", "unsigned"]);
  const matrix = events.at(-1) as MeshMatrixEvent;
  const heard = matrix.pairs.find((p) => p.from === FakePeer.ADDRESS)!;
  assert.deepEqual([heard.received, heard.joinMissed], [1, 2]);
  // One answer (to probe 3), signed: the peer opens it with the key.
  const answers = peer.raw.map((bytes) => friend.openRequest(bytes))
    .flatMap((opened) => opened.ok ? [decodeMeshDatagram(opened.payload)] : [])
    .filter((d) => d.kind === "answer");
  assert.deepEqual(answers.map((a) => a.kind === "answer" && a.seq), [3]);
  // Every datagram the node sent the peer is signed.
  assert.equal(peer.received.length, 0);
});

Deno.test("mesh(): a watcher sends nothing at all and shows the rows it hears", async () => {
  const group = "239.77.21.6";
  const port = 21807;
  await using peer = await FakePeer.open(group, port);
  const { ready, rest } = await withReady(mesh({
    ...loopbackMesh(group, port),
    watch: true,
    count: 4,
    goneAfterIntervals: 50,
  }));
  assert.deepEqual([ready.self, ready.watch], ["", true]);
  for (let seq = 1; seq <= 3; seq++) {
    await peer.send(peer.probe(seq, "multicast"));
    await peer.send(peer.probe(seq, "unicast"), "node");
  }
  const [row] = encodeRow(
    {
      round: 3,
      runId: peer.runId,
      intervalMs: 50,
      family: "IPv4",
      final: false,
    },
    [entry("127.0.0.3", FakePeer.ADDRESS, { received: 4, expected: 5 })],
    MAX_MESH_DATAGRAM_BYTES,
  );
  await peer.send(row);
  const events = await rest;
  assert.deepEqual(peer.raw, [], "the watcher sent something");
  const matrix = events.at(-1) as MeshMatrixEvent;
  assert.equal(matrix.self, "");
  assert.deepEqual(matrix.hosts, [FakePeer.ADDRESS, "127.0.0.3"]);
  const pair = matrix.pairs.find((p) => p.from === "127.0.0.3")!;
  assert.deepEqual([pair.multicastLossPercent, pair.state], [20, "lossy"]);
  assert.equal(
    events.filter((e) => e.event === "interval").length,
    6, // 4 rounds and the 2 final ones
  );
});

Deno.test("mesh(): abort is a clean stop: goodbye to the peers, then the matrix", async () => {
  const group = "239.77.21.7";
  const port = 21808;
  await using peer = await FakePeer.open(group, port);
  const controller = new AbortController();
  const { rest } = await withReady(mesh({
    ...loopbackMesh(group, port),
    peers: [FakePeer.ADDRESS],
    signal: controller.signal,
  }));
  await until(() => peer.received.some((d) => d.kind === "probe"), 2000);
  controller.abort();
  const events = await rest;
  assert.equal(events.at(-1)?.event, "matrix");
  const matrix = events.at(-1) as MeshMatrixEvent;
  assert.deepEqual(matrix.expected, [LOOPBACK, FakePeer.ADDRESS]);
  assert.equal(matrix.ok, false); // the listed peer never answered
  await until(() => peer.received.some((d) => d.kind === "goodbye"), 2000);
});

Deno.test("mesh state: a flood of sources or of names in rows stops at 512 nodes known", () => {
  const state = new MeshState(
    planMesh({ group: "239.77.21.1", allowFrom: ["10.0.0.0/8"] }),
    () => {},
  );
  state.self = "10.77.0.1";
  let tracked = 0;
  for (let i = 0; i < 600; i++) {
    const address = `10.77.${1 + (i >> 8)}.${i & 255}`;
    if (state.peer(address, address, newRunId(), 1000, 0)) tracked++;
  }
  assert.equal(tracked, MAX_MESH_HOSTS);
  // A row from a known peer naming unknown nodes: those entries are left out.
  const reporter = "10.77.1.0";
  assert.equal(
    state.keepRow(reporter, {
      runId: "0123456789abcdef",
      round: 1,
      final: false,
      entries: [entry("10.77.9.9", reporter), entry("10.77.1.1", reporter)],
    }),
    false,
  );
  const { hosts } = state.matrix();
  assert.equal(hosts.includes("10.77.9.9"), false);
  assert.equal(hosts.length, MAX_MESH_HOSTS + 1); // and this node
});

/** mulberry32: a small, fast, seeded PRNG (as tests/fuzz_test.ts). */
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

Deno.test("mesh intake fuzz: 100,000 seeded datagrams (valid ones cut, flipped, random), no throw, and the node still counts and answers", () => {
  const random = prng(Number(Deno.env.get("MCAST_FUZZ_SEED") ?? 20261207));
  const plan = planMesh({
    group: "239.77.21.1",
    allowFrom: ["10.77.0.0/16"],
    rateLimit: { perSource: 0, global: 0 },
  });
  const state = new MeshState(plan, () => {});
  state.self = "10.77.1.1";
  let dropped = 0;
  const drops = new MeshDrops((event) => dropped += event.count);
  let answers = 0;
  const intake = createMeshIntake(plan, state, {
    drops,
    send: () => answers++,
    foundSelf: () => {},
    reusesBuffers: false,
  });
  const runId = newRunId();
  const samples = [
    encodeProbe({ seq: 1, via: "multicast", runId, intervalMs: 1000 }),
    encodeProbe({ seq: 2, via: "unicast", runId, intervalMs: 1000 }),
    encodeAnswer({ seq: 1, via: "multicast", runId: state.runId }),
    encodeGoodbye({ seq: 3, runId }),
    ...encodeRow(
      { round: 3, runId, intervalMs: 1000, family: "IPv4", final: false },
      [entry("10.77.1.1", "10.77.1.9"), entry("10.77.1.5", "10.77.1.9")],
      MAX_MESH_DATAGRAM_BYTES,
    ),
  ];
  const total = 100_000;
  for (let i = 0; i < total; i++) {
    const base = samples[Math.floor(random() * samples.length)];
    let bytes: Uint8Array;
    const how = random();
    if (how < 0.3) {
      bytes = base.slice(0, Math.floor(random() * base.byteLength));
    } else if (how < 0.8) {
      bytes = base.slice();
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
        bytes[Math.floor(random() * bytes.byteLength)] = Math.floor(
          random() * 256,
        );
      }
    } else {
      bytes = new Uint8Array(Math.floor(random() * 1600));
      for (let b = 0; b < bytes.byteLength; b++) {
        bytes[b] = Math.floor(random() * 256);
      }
    }
    const source = `10.77.${1 + Math.floor(random() * 2)}.${
      1 + Math.floor(random() * 40)
    }`;
    intake.receive(bytes, { address: source, port: 10000, family: "IPv4" });
  }
  drops.stop();
  // Every datagram met one fate: some were answered, most dropped, and
  // the node still works: a fresh probe is counted and answered.
  assert.ok(
    dropped > 0 && answers > 0,
    `${dropped} dropped, ${answers} answers`,
  );
  const before = answers;
  const fresh = newRunId();
  intake.receive(
    encodeProbe({ seq: 1, via: "multicast", runId: fresh, intervalMs: 1000 }),
    { address: "10.77.3.3", port: 10000, family: "IPv4" },
  );
  assert.equal(answers, before + 1);
  assert.equal(state.peers.get("10.77.3.3")?.runId, fresh);
  state.matrix(); // builds, whatever the rows said
});
