/**
 * `mcast send` for a monitoring pipeline, as a real subprocess against a
 * listener on 127.0.0.1 that leaves chosen requests unanswered: every
 * `--json` event carries its time, a lost request is an event of its own,
 * `--report-every` prints interval lines (per responder) and events,
 * `--rtt-log` writes a row per request and responder, and the summary
 * gives p90, p99.9, stddev, jitter and the loss from the first reply on.
 *
 * Network safety: loopback only, groups 239.231.2.x.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Responder } from "../lib/plugin.ts";
import { CLI, onLoopback, ROOT } from "./support/cli_process.ts";
import { listenOnLoopback } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";

const RUN_TIMEOUT_MS = 30_000;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Answers "ack" to every request but those numbered in `skip` (counted from 0). */
function skipping(skip: readonly number[]): Responder {
  let seen = 0;
  return {
    name: "skipping",
    respond: () => skip.includes(seen++) ? undefined : "ack",
  };
}

/** Runs `mcast send ARGS` with the network and writing under `dir`. */
async function runSend(args: string[], dir: string) {
  await using proc = new Subprocess(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-sys",
    `--allow-write=${dir}`,
    CLI,
    "send",
    ...args,
  ], { cwd: ROOT, name: "mcast send" });
  return await proc.wait(RUN_TIMEOUT_MS);
}

Deno.test("send --seq --json: time on every event, lost events, intervals, the RTT log, the whole distribution", async () => {
  const group = "239.231.2.1";
  // Requests 0 and 1 unanswered (the tree being built), then 5 and 7.
  await using listener = await listenOnLoopback({
    group,
    responder: skipping([0, 1, 5, 7]),
    allowFrom: ["127.0.0.0/8"],
  });
  await using tmp = await tempDir("mcast_send_monitoring_");
  const log = `${tmp.path}/rtt.csv`;
  const { code, stdout, stderr } = await runSend([
    ...onLoopback(group, listener.port),
    "--seq",
    "-c",
    "10",
    "--interval",
    "40ms",
    "-w",
    "150ms",
    "--report-every",
    "150ms",
    "--rtt-log",
    log,
    "--json",
  ], tmp.path);
  assert.equal(code, 0, stderr.join("\n"));
  const events = stdout.map((line) => JSON.parse(line));
  for (const event of events) {
    assert.match(event.time, ISO, JSON.stringify(event));
  }
  assert.equal(Object.keys(events[0])[1], "time", "after the event's name");
  const lost = events.filter((event) => event.event === "lost");
  assert.deepEqual(
    lost.map((event) => [event.seq, event.responder]),
    [[5, `127.0.0.1:${listener.port}`], [7, `127.0.0.1:${listener.port}`]],
  );
  const intervals = events.filter((event) => event.event === "interval");
  assert.ok(intervals.length >= 2, JSON.stringify(intervals));
  assert.equal(
    intervals.reduce((sum, interval) => sum + interval.requests, 0),
    10,
  );
  assert.equal(
    intervals.reduce((sum, interval) => sum + interval.lost, 0),
    2,
  );
  const summary = events.at(-1);
  assert.equal(summary.event, "summary");
  const [row] = summary.perResponder;
  assert.equal(row.lossPercent, 40);
  assert.deepEqual(row.fromFirst, { seq: 2, lossPercent: 25 });
  for (const key of ["p90", "p999", "stddev"]) {
    assert.equal(typeof row.rttMs[key], "number", key);
  }
  assert.equal(typeof row.jitterMs, "number");
  const csv = (await Deno.readTextFile(log)).trimEnd().split("\n");
  assert.equal(csv[0], "seq,send_time,responder,rtt_ms");
  const rows = csv.slice(1).map((line) => line.split(","));
  assert.deepEqual(
    rows.map(([seq, , , rtt]) => [Number(seq), rtt === ""]).sort((a, b) =>
      (a[0] as number) - (b[0] as number)
    ),
    [2, 3, 4, 5, 6, 7, 8, 9].map((seq) => [seq, seq === 5 || seq === 7]),
  );
});

Deno.test("send --seq --report-every: interval lines per responder, and the table with the whole distribution", async () => {
  const group = "239.231.2.2";
  await using listener = await listenOnLoopback({
    group,
    responder: skipping([3]),
    allowFrom: ["127.0.0.0/8"],
  });
  await using tmp = await tempDir("mcast_send_monitoring_");
  const { code, stdout, stderr } = await runSend([
    ...onLoopback(group, listener.port),
    "--seq",
    "-c",
    "6",
    "--interval",
    "40ms",
    "-w",
    "150ms",
    "--report-every",
    "100ms",
    "-q",
  ], tmp.path);
  assert.equal(code, 0, stderr.join("\n"));
  const responder = `127.0.0.1:${listener.port}`;
  const totals = stdout.filter((line) =>
    /^\[ *\d+\.\d- *\d+\.\d s\] \d+ requests \(\d+\/s\), \d+ replies from 1 responder, \d+ lost$/
      .test(line)
  );
  assert.ok(totals.length >= 2, stdout.join("\n"));
  const perResponder = stdout.filter((line) =>
    line.includes(` ${responder}  `)
  );
  assert.ok(perResponder.length >= 2, stdout.join("\n"));
  assert.ok(
    perResponder.some((line) => / 1 lost \(\d+(\.\d+)?%\)/.test(line)),
    stdout.join("\n"),
  );
  const header = stdout.find((line) => line.startsWith("responder"));
  assert.deepEqual(header?.split(/ {2,}/), [
    "responder",
    "replies",
    "loss",
    "since 1st",
    "rtt min",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "avg",
    "stddev",
    "jitter ms",
  ]);
  const row = stdout[stdout.indexOf(header!) + 1];
  assert.match(
    row,
    new RegExp(`^${responder} +5 +16\\.67% +16\\.67% \\(>=0\\)`),
  );
});

Deno.test("send: bad --report-every and --rtt-log are usage errors naming the value", async () => {
  await using tmp = await tempDir("mcast_send_monitoring_");
  const cases: [string[], RegExp][] = [
    [
      ["--report-every", "10ms"],
      /Invalid --report-every "10ms": must be at least 100ms/,
    ],
    [["--report-every", "soon"], /soon/],
    [
      ["--rtt-log", `${tmp.path}/no/such/dir/x.csv`],
      /Invalid --rtt-log ".*x\.csv": cannot write it/,
    ],
    [[
      "--rtt-log",
      `${tmp.path}/x.csv`,
      "-g",
      "239.231.2.3",
      "-g",
      "239.231.2.4",
    ], /--rtt-log takes one group \(2 given\)/],
  ];
  for (const [flags, message] of cases) {
    const { code, stderr } = await runSend(
      ["-i", "127.0.0.1", "-w", "10ms", ...flags],
      tmp.path,
    );
    assert.equal(code, 2, `${flags.join(" ")}: ${stderr.join("\n")}`);
    assert.match(stderr.join("\n"), message);
  }
});
