/**
 * Discovery (issue 14): `expect` / `expectFrom` stop a run as soon as the
 * expected responders answered, and say who did not; the responder table
 * (one row per responder, status columns); several groups in one `send`.
 * Library and CLI, against real listeners.
 *
 * Network safety: every socket is pinned to 127.0.0.1; groups 239.44.x.x,
 * ports 44100-44199 for the CLI. Every wait is bounded. On loopback every
 * listener answers from 127.0.0.1, so "distinct responders" here is one
 * address; tests/netns/discovery_test.ts has hosts of their own.
 *
 * @module
 */

import assert from "node:assert/strict";
import { McastRangeError, McastTypeError } from "../lib/errors.ts";
import type { Listener } from "../lib/listener/listen.ts";
import { Sender } from "../lib/sender/sender.ts";
import { send } from "../lib/sender/send.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { status } from "../plugins/responders/status.ts";
import { runMcast } from "./support/cli_process.ts";
import { groupSequence } from "./support/group_sequence.ts";
import {
  collectReplies,
  listenOnLoopback,
  LOOPBACK,
} from "./support/loopback.ts";

const newGroup = groupSequence("239.44");
const RUN_MS = 20_000;

function ackListener(group: string, port = 0): Promise<Listener> {
  return listenOnLoopback({
    group,
    port,
    responder: ack(),
    codec: text(),
    rateLimit: false,
  });
}

Deno.test("expect: a run stops as soon as the expected responder answered", async () => {
  const group = newGroup();
  await using listener = await ackListener(group);
  const started = performance.now();
  const { replies, summary } = await collectReplies("who?", {
    group,
    port: listener.port,
    codec: text(),
    timeout: "20s",
    expect: 1,
  });
  const elapsed = performance.now() - started;
  assert.equal(replies.length, 1);
  // Not a speed target: without expect this run would last 20 s.
  assert.ok(elapsed < 10_000, `stopped early (${elapsed} ms)`);
  assert.deepEqual(summary.expect, {
    responders: 1,
    answered: 1,
    missing: [],
    met: true,
    roundsMet: 1,
  });
});

Deno.test("expect: too few responders wait out the timeout, and the summary says so", async () => {
  const group = newGroup();
  await using listener = await ackListener(group);
  const started = performance.now();
  const { summary } = await collectReplies("who?", {
    group,
    port: listener.port,
    codec: text(),
    timeout: "300ms",
    expect: 2,
    expectFrom: ["127.0.0.1", "127.0.0.9", "::ffff:10.0.0.1"],
  });
  assert.ok(performance.now() - started >= 280, "waited for the timeout");
  assert.deepEqual(summary.expect, {
    responders: 3,
    answered: 1,
    missing: ["127.0.0.9", "::ffff:10.0.0.1"],
    met: false,
    roundsMet: 0,
  });
});

Deno.test("expectFrom: an address written another way still matches", async () => {
  const group = newGroup();
  await using listener = await ackListener(group);
  const { summary } = await collectReplies("who?", {
    group,
    port: listener.port,
    codec: text(),
    timeout: "20s",
    expectFrom: ["127.000.0.1".replace("000", "0")],
  });
  assert.equal(summary.expect?.met, true);
});

Deno.test("expect with count: each round ends as soon as it was answered", async () => {
  const group = newGroup();
  await using listener = await ackListener(group);
  await using sender = await Sender.open({
    group,
    port: listener.port,
    interface: LOOPBACK,
    codec: text(),
  });
  for (const sequence of [false, true]) {
    const started = performance.now();
    let summary;
    for await (
      const event of sender.send("ping", {
        count: 4,
        interval: "10s",
        timeout: "10s",
        expect: 1,
        sequence,
      })
    ) if (event.event === "summary") summary = event;
    const elapsed = performance.now() - started;
    // Without expect: 3 intervals and a timeout, 40 s.
    assert.ok(elapsed < 20_000, `rounds ended early (${elapsed} ms)`);
    assert.equal(summary?.sent, 4);
    assert.equal(summary?.replies, 4);
    assert.equal(summary?.expect?.roundsMet, 4, `sequence ${sequence}`);
    assert.equal(summary?.perResponder?.[0].replies, 4);
    assert.equal(summary?.perResponder?.[0].lossPercent, 0);
  }
});

Deno.test("expect: bad values are refused before any socket opens", async () => {
  const cases: [
    Record<string, unknown>,
    RegExp,
    typeof McastRangeError | typeof McastTypeError,
  ][] = [
    [
      { expect: 0 },
      /Invalid expect 0: must be an integer >= 1/,
      McastRangeError,
    ],
    [{ expect: 1.5 }, /Invalid expect 1\.5/, McastRangeError],
    [
      { expectFrom: ["nohost"] },
      /Invalid expect-from "nohost": not an IP address/,
      McastTypeError,
    ],
    [
      { expectFrom: ["239.1.1.1"] },
      /Invalid expect-from "239\.1\.1\.1": a multicast address never answers/,
      McastTypeError,
    ],
  ];
  for (const [options, message, type] of cases) {
    await assert.rejects(
      async () => {
        for await (
          const _ of send("x", {
            group: "239.44.200.1",
            interface: LOOPBACK,
            // A port that cannot be bound would fail differently: the
            // options must be refused first.
            ...options,
          })
        ) { /* nothing */ }
      },
      (error: Error) => error instanceof type && message.test(error.message),
    );
  }
});

Deno.test("responder table: a row per responder without --seq, loss from the count", async () => {
  const group = newGroup();
  await using listener = await ackListener(group);
  const { summary } = await collectReplies("hi", {
    group,
    port: listener.port,
    codec: text(),
    count: 3,
    interval: "20ms",
    timeout: "300ms",
  });
  assert.equal(summary.perResponder?.length, 1);
  const [row] = summary.perResponder!;
  assert.equal(row.from, LOOPBACK);
  assert.equal(row.port, listener.port);
  assert.equal(row.replies, 3);
  assert.equal(row.lossPercent, 0);
  assert.ok(row.rttMs !== null && row.rttMs.min <= row.rttMs.max);
});

// ---------------------------------------------------------------- the CLI

type Json = Record<string, unknown>;

function cli(args: string[]) {
  return runMcast(args, { timeoutMs: RUN_MS });
}

function jsonLines(lines: string[]): Json[] {
  return lines.filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line)
  );
}

Deno.test("send --expect and --expect-from: the lines people read, and the exit status", async () => {
  const group = "239.44.1.1";
  await using _listener = await ackListener(group, 44101);
  const target = ["-g", group, "-p", "44101", "-i", LOOPBACK];
  const met = await cli(["send", ...target, "-w", "20s", "--expect", "1"]);
  assert.equal(met.code, 0, met.stderr.join("\n"));
  assert.equal(met.stdout.at(-1), "1 of 1 expected responder answered");

  const short = await cli(["send", ...target, "-w", "300ms", "--expect", "2"]);
  assert.equal(short.code, 1, short.stderr.join("\n"));
  assert.equal(short.stdout.at(-1), "1 of 2 expected responders answered");

  const named = await cli([
    "send",
    ...target,
    "-w",
    "300ms",
    "--expect-from",
    "127.0.0.1",
    "--expect-from",
    "127.0.0.9",
  ]);
  assert.equal(named.code, 1);
  assert.deepEqual(named.stdout.slice(-2), [
    "1 of 2 expected responders answered",
    "no answer from 127.0.0.9",
  ]);

  const json = await cli([
    "send",
    ...target,
    "--json",
    "-w",
    "300ms",
    "--expect-from",
    "127.0.0.9",
  ]);
  const summary = jsonLines(json.stdout).at(-1);
  assert.equal(json.code, 1);
  assert.deepEqual(summary?.expect, {
    responders: 1,
    answered: 1,
    missing: ["127.0.0.9"],
    met: false,
    roundsMet: 0,
  });
});

Deno.test("send --expect: bad values exit 2 with the value named", async () => {
  for (
    const [args, message] of [
      [["--expect", "0"], /Invalid expect 0/],
      [["--expect", "two"], /Invalid --expect "two"/],
      [
        ["--expect-from", "host.example"],
        /Invalid expect-from "host\.example"/,
      ],
    ] as [string[], RegExp][]
  ) {
    const run = await cli([
      "send",
      "-g",
      "239.44.1.2",
      "-p",
      "44102",
      "-i",
      LOOPBACK,
      "-w",
      "100ms",
      ...args,
    ]);
    assert.equal(run.code, 2, run.stderr.join("\n"));
    assert.match(run.stderr[0], message);
  }
});

Deno.test("send: the responder table, aligned, with a status document's name, hostname and version", async () => {
  const group = "239.44.1.3";
  await using _listener = await listenOnLoopback({
    group,
    port: 44103,
    responder: status({ name: "rack-7" }),
    codec: text(),
    rateLimit: false,
  });
  const target = ["-g", group, "-p", "44103", "-i", LOOPBACK, "--pad", "512"];
  const human = await cli([
    "send",
    ...target,
    "-w",
    "300ms",
    "-c",
    "2",
    "--interval",
    "50ms",
  ]);
  assert.equal(human.code, 0, human.stderr.join("\n"));
  const at = human.stdout.indexOf(`--- ${group} port 44103 ---`);
  const [header, row, counts] = human.stdout.slice(at + 1);
  assert.match(
    header,
    /^responder +replies +loss +rtt min +p50 +p90 +p99 +p99\.9 +max +avg +stddev +jitter ms +name +hostname +version$/,
  );
  assert.match(
    row,
    /^127\.0\.0\.1:44103 +2 +0% +(?:[\d.]+ +){8}[\d.]+ +rack-7 +\S+ +\d+\.\d+\.\d+$/,
  );
  // Aligned: every column starts where its title does.
  for (const title of ["replies", "name", "hostname", "version"]) {
    const column = header.indexOf(title);
    const cell = title === "replies" ? "2" : title === "name" ? "rack-7" : "";
    if (cell === "2") assert.equal(row[column + title.length - 1], "2");
    else if (cell !== "") {
      assert.equal(row.slice(column, column + cell.length), cell);
    } else assert.notEqual(row[column], " ", `${title} starts at its column`);
  }
  assert.equal(counts, "2 sent, 2 replies from 1 responder");

  const json = await cli(["send", ...target, "--json", "-w", "300ms"]);
  const summary = jsonLines(json.stdout).at(-1);
  const rows = summary?.perResponder as Json[];
  assert.equal(rows.length, 1);
  assert.equal(rows[0].from, LOOPBACK);
  assert.equal(rows[0].name, "rack-7");
  assert.equal(typeof rows[0].hostname, "string");
  assert.match(String(rows[0].version), /^\d+\.\d+\.\d+/);
});

Deno.test("send -g A -g B: each group gets the message and its own summary", async () => {
  const [a, b, silentGroup] = ["239.44.2.1", "239.44.2.2", "239.44.2.3"];
  await using _a = await ackListener(a, 44110);
  await using _b = await listenOnLoopback({
    group: b,
    port: 44110,
    responder: { name: "bee", respond: () => "from b" },
    codec: text(),
    rateLimit: false,
  });
  const both = await cli([
    "send",
    "--json",
    "-g",
    a,
    "-g",
    b,
    "-p",
    "44110",
    "-i",
    LOOPBACK,
    "-w",
    "300ms",
  ]);
  assert.equal(both.code, 0, both.stderr.join("\n"));
  const events = jsonLines(both.stdout);
  const replies = events.filter((e) => e.event === "reply");
  assert.deepEqual(
    replies.map((r) => [r.group, r.payload]).sort(),
    [[a, "ack"], [b, "from b"]],
  );
  const summaries = events.filter((e) => e.event === "summary");
  assert.deepEqual(
    summaries.map((s) => [s.group, s.sent, s.replies]),
    [[a, 1, 1], [b, 1, 1]],
  );

  // A group nobody answers: reported as such, and the exit status is 1.
  const human = await cli([
    "send",
    "-g",
    a,
    "-g",
    silentGroup,
    "-p",
    "44110",
    "-i",
    LOOPBACK,
    "-w",
    "300ms",
  ]);
  assert.equal(human.code, 1);
  assert.match(
    human.stdout[0],
    new RegExp(`^\\[${a}\\] reply from 127\\.0\\.0\\.1:44110 .* ack$`),
  );
  const headers = human.stdout.filter((line) => line.startsWith("--- "));
  assert.deepEqual(headers, [
    `--- ${a} port 44110 ---`,
    `--- ${silentGroup} port 44110 ---`,
  ]);
  assert.equal(human.stdout.at(-1), "1 sent, 0 replies from 0 responders");
});

Deno.test("send -g A -g B: a bad group is refused before anything is sent", async () => {
  const run = await cli([
    "send",
    "-g",
    "239.44.2.4",
    "-g",
    "10.0.0.1",
    "-p",
    "44111",
    "-i",
    LOOPBACK,
    "-w",
    "100ms",
  ]);
  assert.equal(run.code, 2);
  assert.match(run.stderr[0], /"10\.0\.0\.1"/);
  assert.deepEqual(run.stdout, []);
});

Deno.test("send -g IPv4 -g IPv6 through an IPv4 interface: a clear error naming the group", async () => {
  const run = await cli([
    "send",
    "-g",
    "239.44.2.5",
    "-g",
    "ff15::44",
    "-p",
    "44112",
    "-i",
    LOOPBACK,
    "-w",
    "100ms",
  ]);
  assert.equal(run.code, 2, run.stderr.join("\n"));
  assert.match(
    run.stderr[0],
    /^mcast send: Invalid interface "127\.0\.0\.1": an IPv4 address cannot serve an IPv6 group \(group ff15::44\)$/,
  );
  assert.deepEqual(run.stdout, [], "nothing was sent to the IPv4 group either");
});
