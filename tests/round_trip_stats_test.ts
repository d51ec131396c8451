/**
 * A sequenced run's per-responder statistics (lib/sender/round_trip_stats.ts),
 * fed directly, no sockets: the whole RTT distribution exact over a long
 * run (the spike the old reservoir lost), percentiles against sorted
 * truth, RFC 3550 jitter, loss from the first reply on, and the requests
 * whose wait ran out.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  RoundTripStats,
  summariseRtt,
} from "../lib/sender/round_trip_stats.ts";

const A = "10.0.0.1";

Deno.test("a 500 ms spike, then 1,000,000 replies of 1 ms: max 500, every run", () => {
  for (let run = 0; run < 3; run++) {
    const stats = new RoundTripStats();
    stats.reply(A, 1, 0, 500);
    for (let seq = 1; seq <= 1_000_000; seq++) stats.reply(A, 1, seq, 1);
    const [row] = stats.summary(1_000_001);
    assert.equal(row.replies, 1_000_001);
    assert.equal(row.lossPercent, 0);
    assert.deepEqual(row.rttMs, {
      min: 1,
      avg: 1, // 1.000499 to the microsecond
      p50: 1,
      p90: 1,
      p99: 1,
      p999: 1,
      max: 500,
      stddev: 0.499,
    });
  }
});

Deno.test("percentiles of a long run within the histogram's error of sorted truth", () => {
  const stats = new RoundTripStats();
  const values: number[] = [];
  let state = 99;
  for (let seq = 0; seq < 300_000; seq++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    // 0.2-20 ms, whole microseconds, a long tail.
    const ms = Math.round(200 * Math.exp((state / 2 ** 32) * 4.6)) / 1000;
    values.push(ms);
    stats.reply(A, 1, seq, ms);
  }
  const sorted = values.slice().sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.ceil(q * sorted.length) - 1];
  const rtt = stats.summary(values.length)[0].rttMs!;
  for (
    const [key, q] of [["p50", 0.5], ["p90", 0.9], ["p99", 0.99], [
      "p999",
      0.999,
    ]] as const
  ) {
    const truth = at(q);
    // 0.049% of the value, and the rounding to the microsecond.
    assert.ok(
      Math.abs(rtt[key] - truth) <= truth / 2048 + 0.0005,
      `${key}: ${rtt[key]} against ${truth}`,
    );
  }
  assert.equal(rtt.min, sorted[0]);
  assert.equal(rtt.max, sorted[sorted.length - 1]);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.equal(rtt.avg, Math.round(mean * 1000) / 1000);
});

Deno.test("jitter is RFC 3550's: J += (|D| - J) / 16 over consecutive answers", () => {
  const stats = new RoundTripStats();
  const rtts = [1, 3, 2, 2, 7, 1];
  rtts.forEach((ms, seq) => stats.reply(A, 1, seq, ms));
  stats.reply(A, 1, 4, 100); // a duplicate: not an answer, no jitter
  let jitter = 0;
  for (let i = 1; i < rtts.length; i++) {
    jitter += (Math.abs(rtts[i] - rtts[i - 1]) - jitter) / 16;
  }
  const [row] = stats.summary(rtts.length);
  assert.equal(row.jitterMs, Math.round(jitter * 1000) / 1000);
  assert.equal(row.duplicates, 1);
  const one = new RoundTripStats();
  one.reply(A, 1, 0, 1);
  assert.equal(one.summary(1)[0].jitterMs, null);
});

Deno.test("loss from the first reply on (omping's seq>=N) beside loss over the run", () => {
  const stats = new RoundTripStats();
  // Joins late (the tree took 10 requests to build), then loses 1 of 90.
  for (let seq = 10; seq < 100; seq++) {
    if (seq !== 50) stats.reply(A, 1, seq, 1);
  }
  stats.reply(A, 1, 5, 1); // a late, reordered answer from before: not from the first on
  const [row] = stats.summary(100);
  assert.equal(row.lossPercent, 10); // 90 of 100 answered
  assert.deepEqual(row.fromFirst, { seq: 10, lossPercent: 1.11 }); // 89 of 90
  // Without sequence numbers there is no first request to count from.
  const plain = new RoundTripStats();
  plain.answer(A, 1, 1);
  assert.equal(plain.summary(1)[0].fromFirst, undefined);
});

Deno.test("expire: a request whose wait ran out is lost for each known responder that did not answer it", () => {
  const stats = new RoundTripStats();
  const lost: string[] = [];
  const expire = (seq: number) =>
    stats.expire(seq, (lostSeq, from, port) => {
      assert.equal(lostSeq, seq);
      lost.push(`${seq} ${from}:${port}`);
    });
  stats.reply(A, 1, 0, 1);
  stats.reply("10.0.0.2", 2, 1, 1); // known from request 1 on
  expire(0); // A answered; B not known for it
  stats.reply(A, 1, 2, 1);
  expire(1); // A lost 1, B answered
  expire(2); // A answered, B lost 2
  expire(3); // nobody answered
  assert.deepEqual(lost, [
    "1 10.0.0.1:1",
    "2 10.0.0.2:2",
    "3 10.0.0.1:1",
    "3 10.0.0.2:2",
  ]);
  // A late answer after its loss still counts in the summary.
  stats.reply(A, 1, 1, 900);
  assert.equal(stats.summary(4)[0].lossPercent, 25);
});

Deno.test("summariseRtt: a list of times (exact to the microsecond below 1.024 ms)", () => {
  assert.equal(summariseRtt([]), null);
  assert.deepEqual(summariseRtt([0.2, 0.4, 0.4, 0.4, 0.5, 0.5, 0.7, 0.9]), {
    min: 0.2,
    avg: 0.5,
    p50: 0.4,
    p90: 0.9,
    p99: 0.9,
    p999: 0.9,
    max: 0.9,
    stddev: 0.2,
  });
  // Above, a percentile is the middle of its slot: 4 ms is in 4.000-4.001.
  assert.equal(summariseRtt([3, 4, 5])!.p50, 4.001);
  // ... kept within the exact min and max.
  assert.equal(summariseRtt([4, 4, 4])!.p50, 4);
});
