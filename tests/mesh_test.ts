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
import { listenOnLoopback } from "./support/loopback.ts";
import { RawSender } from "./support/raw_sender.ts";
import { until } from "./support/until.ts";

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
