/**
 * A sequenced run tells each request whose wait ran out without a known
 * responder's reply (`onLost`), marks a duplicate reply, and reports the
 * loss from each responder's first reply on: real sockets on 127.0.0.1, a
 * listener whose responder leaves chosen requests unanswered.
 *
 * Network safety: loopback only, groups 239.231.x.x.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Responder } from "../lib/plugin.ts";
import { Sender } from "../lib/sender/sender.ts";
import { frameReply, unframeRequest } from "../lib/wire/sequence.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import dgram from "node:dgram";

/** Answers "ack" to every request but those numbered in `skip` (counted from 0). */
function skipping(skip: readonly number[]): Responder {
  let seen = 0;
  return {
    name: "skipping",
    respond: () => skip.includes(seen++) ? undefined : "ack",
  };
}

Deno.test("onLost: each request a known responder left unanswered, once its wait ran out, in order", async () => {
  const group = "239.231.0.1";
  // The first two requests go unanswered (the tree being built), then 4 and 6.
  await using listener = await listenOnLoopback({
    group,
    responder: skipping([0, 1, 4, 6]),
  });
  await using sender = await Sender.open({
    group,
    port: listener.port,
    interface: LOOPBACK,
  });
  const lost: {
    seq: number;
    from: string;
    port: number;
    waitedMs: number;
    sent: number;
  }[] = [];
  const replies: number[] = [];
  let summary;
  let sent = 0;
  for await (
    const event of sender.send("hi", {
      count: 8,
      interval: 60,
      timeout: 150,
      sequence: true,
      onSent: (n) => sent = n,
      onLost: (one) => lost.push({ ...one, sent }),
    })
  ) {
    if (event.event === "reply") replies.push(event.seq!);
    else summary = event;
  }
  assert.deepEqual(replies, [2, 3, 5, 7]);
  // 0 and 1 came before the responder's first reply: not lost for it.
  assert.deepEqual(
    lost.map(({ seq, from, port }) => [seq, from, port]),
    [[4, LOOPBACK, listener.port], [6, LOOPBACK, listener.port]],
  );
  // Told as its wait ran out (request 4 left at 240 ms, its wait ran out
  // at 390 ms), before request 7 left (420 ms), not at the end of the run.
  assert.ok(lost[0].sent < 8, `told after ${lost[0].sent} sent`);
  // ... with how long ago it left: at least its wait.
  assert.ok(lost[0].waitedMs >= 150, String(lost[0].waitedMs));
  const [row] = summary!.perResponder!;
  assert.equal(row.lossPercent, 50); // 4 of 8
  assert.deepEqual(row.fromFirst, { seq: 2, lossPercent: 33.33 }); // 2 of 6
});

Deno.test("onLost: nothing without sequence numbers, nothing when all answered", async () => {
  const group = "239.231.0.2";
  await using listener = await listenOnLoopback({
    group,
    responder: skipping([1]),
  });
  await using sender = await Sender.open({
    group,
    port: listener.port,
    interface: LOOPBACK,
  });
  let told = 0;
  for await (
    const _ of sender.send("hi", {
      count: 3,
      interval: 20,
      timeout: 100,
      onLost: () => told++,
    })
  );
  assert.equal(told, 0, "without sequence numbers no request is told lost");
  for await (
    const _ of sender.send("hi", {
      count: 3,
      interval: 20,
      timeout: 100,
      sequence: true,
      onLost: () => told++,
    })
  );
  assert.equal(told, 0, "every request of this run was answered");
});

Deno.test("a responder that answers a request twice: the second reply is marked duplicate", async () => {
  const group = "239.231.0.3";
  // A raw responder on 127.0.0.1 that answers each numbered request twice.
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  socket.addMembership(group, LOOPBACK);
  socket.on("message", (data, rinfo) => {
    const request = unframeRequest(new Uint8Array(data));
    if (request === undefined) return;
    const reply = frameReply(request.seq, new TextEncoder().encode("ack"));
    socket.send(reply, rinfo.port, rinfo.address);
    socket.send(reply, rinfo.port, rinfo.address);
  });
  try {
    await using sender = await Sender.open({
      group,
      port: socket.address().port,
      interface: LOOPBACK,
    });
    const marks: [number, boolean][] = [];
    let summary;
    for await (
      const event of sender.send("hi", {
        count: 2,
        interval: 30,
        timeout: 150,
        sequence: true,
      })
    ) {
      if (event.event === "reply") {
        marks.push([event.seq!, event.duplicate === true]);
      } else summary = event;
    }
    assert.deepEqual(marks, [[0, false], [0, true], [1, false], [1, true]]);
    const [row] = summary!.perResponder!;
    assert.equal(row.duplicates, 2);
    assert.equal(row.rttMs!.max < 150, true);
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
});
