/**
 * `send --report-every`'s figures and lines (cli/send_intervals.ts), the
 * streamed `--rtt-log` CSV (cli/rtt_log.ts) and the `"time"` stamp of
 * every JSON event (cli/wall_clock.ts), fed directly; the CLI runs them
 * against real listeners in tests/send_monitoring_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  intervalEvent,
  intervalLines,
  MAX_LISTED,
  SendIntervals,
  TOP_LISTED,
} from "../cli/send_intervals.ts";
import { RTT_LOG_HEADER, RttLog } from "../cli/rtt_log.ts";
import { isoNow, stamped } from "../cli/wall_clock.ts";
import { ReplyLines } from "../cli/reply_lines.ts";
import { tempDir } from "./support/temp_dir.ts";

Deno.test("intervals: per responder, what the interval added, then it starts again", () => {
  const intervals = new SendIntervals(true);
  intervals.sent(10);
  for (let seq = 0; seq < 8; seq++) {
    intervals.reply({ from: "10.0.0.1", port: 1, rttMs: 1 + seq / 10, seq });
  }
  intervals.reply({
    from: "10.0.0.1",
    port: 1,
    rttMs: 9,
    seq: 3,
    duplicate: true,
  });
  intervals.lost("10.0.0.1", 1);
  intervals.lost("10.0.0.1", 1);
  intervals.reply({ from: "10.0.0.2", port: 1, rttMs: 0.5, seq: 0 });
  const first = intervals.take(1000);
  assert.equal(first.requests, 10);
  assert.equal(first.replies, 10);
  assert.equal(first.lost, 2);
  const [a, b] = first.perResponder; // the most lossy first
  assert.deepEqual(a, {
    responder: "10.0.0.1:1",
    requests: 10,
    replies: 9,
    lost: 2,
    lossPercent: 20, // 2 of the 10 it answered or lost
    rttMs: { p50: 1.3, p99: 1.7, max: 1.7 }, // the duplicate's 9 ms not counted
  });
  assert.equal(b.responder, "10.0.0.2:1");
  assert.equal(b.lossPercent, 0);
  intervals.sent(15);
  const second = intervals.take(2000);
  assert.equal(second.start, 1);
  assert.equal(second.requests, 5);
  assert.deepEqual(second.perResponder.map((row) => [row.replies, row.rttMs]), [
    [0, null],
    [0, null],
  ]);
});

Deno.test("intervals: replies from responders in turn, same address other port, each counted as its own", () => {
  const intervals = new SendIntervals(true);
  intervals.sent(30);
  const from = [
    ["10.0.0.1", 1],
    ["10.0.0.1", 2],
    ["10.0.0.2", 1],
  ] as const;
  for (let seq = 0; seq < 30; seq++) {
    // A run of the same responder, then another: 0,0,1,2,2,0,1,...
    const [address, port] = from[Math.floor(seq * 7 / 5) % 3];
    intervals.reply({ from: address, port, rttMs: port, seq });
    if (seq % 4 === 0) intervals.lost(address, port);
  }
  const counts = new Map<string, number>();
  for (let seq = 0; seq < 30; seq++) {
    const [address, port] = from[Math.floor(seq * 7 / 5) % 3];
    const key = `${address}:${port}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const interval = intervals.take(1000);
  assert.equal(interval.replies, 30);
  assert.equal(interval.lost, 8);
  for (const row of interval.perResponder) {
    assert.equal(row.replies, counts.get(row.responder), row.responder);
    const port = Number(row.responder.split(":")[1]);
    assert.equal(row.rttMs?.max, port, row.responder);
  }
  assert.equal(interval.perResponder.length, 3);
});

Deno.test("intervals without --seq: loss is what the requests sent left unanswered", () => {
  const intervals = new SendIntervals(false);
  intervals.sent(4);
  intervals.reply({ from: "10.0.0.1", port: 1, rttMs: 1 });
  intervals.reply({ from: "10.0.0.1", port: 1, rttMs: 1 });
  const [row] = intervals.take(1000).perResponder;
  assert.equal(row.lost, 2);
  assert.equal(row.lossPercent, 50);
});

Deno.test("interval lines: every responder up to 20, past it the 10 most lossy and a count", () => {
  const intervals = new SendIntervals(true);
  intervals.sent(100);
  const many = MAX_LISTED + 5;
  for (let i = 0; i < many; i++) {
    intervals.reply({ from: `10.0.0.${i + 1}`, port: 5000, rttMs: 1, seq: 0 });
    for (let lost = 0; lost < i; lost++) {
      intervals.lost(`10.0.0.${i + 1}`, 5000);
    }
  }
  const lines = intervalLines(intervals.take(1000), "[239.1.2.3] ");
  assert.equal(lines.length, 1 + TOP_LISTED + 1);
  assert.match(
    lines[0],
    /^\[239\.1\.2\.3\] \[ {2}0\.0- {2}1\.0 s\] 100 requests \(100\/s\), 25 replies from 25 responders, 300 lost$/,
  );
  assert.match(lines[1], /10\.0\.0\.25:5000 {2}1 replies, 24 lost \(96%\)/);
  assert.match(
    lines.at(-1)!,
    /\.\.\. and 15 more responders: 15 replies, 105 lost \(each 93\.33% or less\)$/,
  );
  const few = new SendIntervals(true);
  few.reply({ from: "10.0.0.1", port: 5000, rttMs: 1, seq: 0 });
  assert.equal(intervalLines(few.take(1000)).length, 2);
  const event = intervalEvent(few.take(2000));
  assert.equal(event.event, "interval");
  assert.equal((event.perResponder as unknown[]).length, 1);
});

Deno.test("rtt log: a header, a row per answer and per lost request, none for a duplicate, written at close", async () => {
  await using tmp = await tempDir("mcast_rtt_log_");
  const path = `${tmp.path}/rtt.csv`;
  const before = Date.now() / 1000;
  const log = RttLog.create(path);
  log.reply({ from: "10.0.0.1", port: 5000, rttMs: 0.25, seq: 0 }, 0);
  log.reply({
    from: "10.0.0.1",
    port: 5000,
    rttMs: 0.3,
    seq: 0,
    duplicate: true,
  }, 0);
  log.lost({ seq: 1, from: "::1", port: 5000, waitedMs: 1000 });
  log.reply({ from: "10.0.0.2", port: 5000, rttMs: 2 }, 7); // no --seq: the latest
  log.close();
  log.close();
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  assert.equal(lines[0], RTT_LOG_HEADER);
  const rows = lines.slice(1).map((line) => line.split(","));
  assert.deepEqual(
    rows.map(([seq, , responder, rtt]) => [seq, responder, rtt]),
    [
      ["0", "10.0.0.1:5000", "0.250"],
      ["1", "[::1]:5000", ""],
      ["7", "10.0.0.2:5000", "2.000"],
    ],
  );
  const lostSentAt = Number(rows[1][1]);
  assert.ok(Math.abs(lostSentAt - (before - 1)) < 5, String(lostSentAt));
  assert.match(rows[0][1], /^\d+\.\d{6}$/);
});

Deno.test("rtt log: a file that cannot be made is refused at once", async () => {
  await using tmp = await tempDir("mcast_rtt_log_");
  assert.throws(
    () => RttLog.create(`${tmp.path}/no/such/dir/rtt.csv`),
    Deno.errors.NotFound,
  );
});

Deno.test("time: after the event's name, without parsing the line again", () => {
  const time = "2026-12-07T18:00:00.000Z";
  assert.equal(
    stamped('{"event":"summary","sent":1}', time),
    '{"event":"summary","time":"2026-12-07T18:00:00.000Z","sent":1}',
  );
  assert.equal(
    stamped('{"event":"ready"}', time),
    '{"event":"ready","time":"2026-12-07T18:00:00.000Z"}',
  );
  assert.equal(
    stamped('{"a":1}', time),
    '{"time":"2026-12-07T18:00:00.000Z","a":1}',
  );
  assert.equal(stamped("{}", time), '{"time":"2026-12-07T18:00:00.000Z"}');
  const now = Date.parse(isoNow());
  assert.ok(Math.abs(now - Date.now()) < 1000);
  assert.deepEqual(JSON.parse(stamped('{"event":"x,y","a":[1,2]}', time)), {
    event: "x,y",
    time,
    a: [1, 2],
  });
});

Deno.test("the line a second under load says the loss and the round trips, not only counts", async () => {
  const printed: string[] = [];
  const counts = { sent: 0, replies: 0, lost: 0 };
  const lines = new ReplyLines((line) => printed.push(line), () => counts);
  try {
    for (let i = 0; i < 30; i++) {
      counts.sent++;
      counts.replies++;
      lines.reply(`reply ${i}`, 0.5 + i / 100);
    }
    counts.lost += 3;
    counts.sent += 3;
    await new Promise((resolve) => setTimeout(resolve, 1100));
  } finally {
    lines.stop();
  }
  const line = printed.find((text) => text.startsWith("["));
  assert.ok(line, printed.join("\n"));
  // The 9 replies after the switch (the first 21 had lines), and 3 lost.
  assert.match(
    line,
    /^\[ +\d\.\d- +\d\.\d s\] 12 sent \(\d+\/s\), 9 replies \(\d+\/s\), 3 lost \(25%\), rtt p50 0\.\d+ p99 0\.79 max 0\.79 ms$/,
  );
});
