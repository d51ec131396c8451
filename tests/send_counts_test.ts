// Issue 22, item 7: a sequenced run's counts agree in every output. A
// 400,000-request `send --seq` once said "replies":400000 in its summary,
// 399,999 in its responder's row, and printed one reply with no `seq`: a
// reply that came back while its own send had not returned yet (the ffi
// transport waiting for room in a full send buffer) was matched against
// the requests that had *returned*, found none, and was counted in the
// summary only. Every reply now counts in its responder's row, and any
// request numbered in the run can be answered. Loopback only: groups
// 239.22.x.x.
import assert from "node:assert/strict";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import type { TransportFactory } from "../lib/transports/transport.ts";
import { Sender, type SendSummary } from "../lib/sender/sender.ts";
import { ack } from "../plugins/responders/ack.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import { CLI, onLoopback, ROOT } from "./support/cli_process.ts";
import { Subprocess } from "./support/subprocess.ts";
import { tableLines } from "../cli/responder_table.ts";

/**
 * The ffi transport, with each `sendBatch` returning only once every
 * datagram sent so far was answered (or after 500 ms): as when the send
 * buffer is full and the replies to a burst's first part come back while
 * its last part still waits for room.
 */
const answeredBeforeReturning: TransportFactory = async (options) => {
  const transport = await openFfiTransport(options);
  const sendBatch = transport.sendBatch!.bind(transport);
  const onDatagram = transport.onDatagram.bind(transport);
  let sent = 0;
  let delivered = 0;
  let check = () => {};
  transport.onDatagram = (handler) =>
    onDatagram((data, from, truncated, to) => {
      handler(data, from, truncated, to);
      delivered++;
      check();
    });
  transport.sendBatch = async (datagrams, port, address) => {
    await sendBatch(datagrams, port, address);
    sent += datagrams.length;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        check = () => {};
        resolve();
      };
      const timer = setTimeout(done, 500);
      check = () => {
        if (delivered >= sent) done();
      };
      check();
    });
  };
  return transport;
};

/** The replies in the summary, in its rows, and among the events (with and without a number). */
function counts(summary: SendSummary | Record<string, unknown>, events: {
  seq?: unknown;
}[]) {
  const rows = (summary.perResponder ?? []) as { replies: number }[];
  return {
    summary: summary.replies,
    rows: rows.reduce((sum, row) => sum + row.replies, 0),
    events: events.length,
    withSeq: events.filter((event) => typeof event.seq === "number").length,
  };
}

Deno.test({
  name:
    "counts agree: a reply that comes back before its send returned answers its request",
  ignore: !ffiTransportAvailable(),
  fn: async () => {
    const group = "239.22.0.1";
    const listener = await listenOnLoopback({
      group,
      responder: ack(),
      rateLimit: false,
      transport: openFfiTransport,
    });
    try {
      await using sender = await Sender.open({
        group,
        port: listener.port,
        interface: LOOPBACK,
        transport: answeredBeforeReturning,
      });
      const replies: { seq?: number }[] = [];
      let summary: SendSummary | undefined;
      for await (
        const event of sender.send("x", {
          count: 2000,
          interval: 0,
          sequence: true,
          timeout: "500ms",
        })
      ) {
        if (event.event === "reply") replies.push(event);
        else summary = event;
      }
      assert.ok(summary);
      const got = counts(summary, replies);
      assert.deepEqual(got, {
        summary: 2000,
        rows: 2000,
        events: 2000,
        withSeq: 2000,
      });
      assert.equal(summary.perResponder![0].lossPercent, 0);
      assert.equal(summary.perResponder![0].unmatched, undefined);
    } finally {
      await listener.close();
    }
  },
});

Deno.test({
  name:
    "counts agree under load: send --seq -c 200000 --rate max against listen, summary = rows = numbered reply events",
  ignore: !ffiTransportAvailable(),
  fn: async () => {
    const group = "239.22.0.2";
    const port = 22002;
    const flags = ["run", "-A", CLI];
    await using listener = new Subprocess(Deno.execPath(), [
      ...flags,
      "listen",
      "--json",
      "-q",
      ...onLoopback(group, port),
      "--transport",
      "ffi",
      "--rate-limit",
      "0",
      "--global-rate",
      "0",
    ], { cwd: ROOT, name: "listen" });
    await listener.waitForLine(
      (line) => line.startsWith('{"event":"ready"'),
      "the listener's ready event",
      30_000,
    );
    await using sender = new Subprocess(Deno.execPath(), [
      ...flags,
      "send",
      "--json",
      "--seq",
      ...onLoopback(group, port),
      "--transport",
      "ffi",
      "-c",
      "200000",
      "--rate",
      "max",
      "-w",
      "2s",
    ], { cwd: ROOT, name: "send" });
    const done = await sender.wait(120_000);
    const events = done.stdout.filter((line) => line.startsWith("{")).map((
      line,
    ) => JSON.parse(line));
    const replies = events.filter((event) => event.event === "reply");
    const summary = events.find((event) => event.event === "summary");
    assert.ok(summary, done.stderr.join("\n"));
    assert.equal(summary.sent, 200_000);
    const got = counts(summary, replies);
    const what = JSON.stringify({ ...got, kernelDrops: summary.kernelDrops });
    // Most come back (a full buffer may drop some): never none.
    assert.ok(got.events > 100_000, what);
    assert.equal(got.rows, got.summary, what);
    assert.equal(got.events, got.summary, what);
    assert.equal(got.withSeq, got.events, what);
  },
});

Deno.test("counts agree: the table shows replies that answered no request of the run", () => {
  const row = {
    from: "10.77.1.2",
    port: 10000,
    replies: 5,
    lossPercent: 0,
    duplicates: 0,
    reordered: 0,
    rttMs: {
      min: 1,
      avg: 1,
      p50: 1,
      p90: 1,
      p99: 1,
      p999: 1,
      max: 1,
      stddev: 0,
    },
    jitterMs: null,
  };
  assert.deepEqual(tableLines([row])[0].split(/\s+/).slice(0, 4), [
    "responder",
    "replies",
    "loss",
    "rtt",
  ]);
  assert.deepEqual(
    tableLines([{ ...row, unmatched: 1 }]).map((line) =>
      line.split(/\s+/).slice(0, 4)
    ),
    [
      ["responder", "replies", "loss", "unmatched"],
      ["10.77.1.2:10000", "5", "0%", "1"],
    ],
  );
});
