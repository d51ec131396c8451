/**
 * `mcast mesh`, the library half (lib/mesh/): the wire, the per-peer
 * counts, the rows, the matrix and the verdict driven in memory, and a
 * real mesh on loopback; a listener's intake ignoring mesh datagrams.
 * The multi-node runs are in tests/netns/mesh_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ack } from "../plugins/responders/ack.ts";
import { FRAME_BYTES, FrameKind, writeFrame } from "../lib/wire/frame.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import { mesh, type MeshEvent, type MeshOptions } from "../mesh.ts";
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
  newRunId,
} from "../lib/mesh/wire.ts";
import { type RowEntry, splitForged } from "../lib/mesh/rows.ts";
import { PeerStats } from "../lib/mesh/peer_stats.ts";
import { buildMatrix, type Report } from "../lib/mesh/matrix.ts";
import { judge } from "../lib/mesh/verdict.ts";

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
      `multicast from ${A} does not reach ${B} (0 of 9 probes heard); unicast works (0% lost)`,
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
