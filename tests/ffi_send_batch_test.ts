/**
 * The FFI transport's batched send path (`sendBatch`, `sendmmsg`) and the
 * sender's use of it at `interval: 0`, with real sockets on loopback only:
 * groups 239.32.x.x, ports 32000-32099, every loop bounded.
 *
 * Run: `deno task test tests/ffi_send_batch_test.ts`
 */

import assert from "node:assert/strict";
import { SocketError } from "../lib/errors.ts";
import {
  type FfiTransport,
  ffiTransportAvailable,
  openFfiTransport as openTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import type { TransportOpenOptions } from "../lib/transports/transport.ts";
import { Sender } from "../lib/sender/sender.ts";
import { frameReply, unframeRequest } from "../lib/wire/sequence.ts";

const openFfiTransport = (options: TransportOpenOptions) =>
  openTransport(options) as Promise<FfiTransport>;

const LOOPBACK = "127.0.0.1";
const ignore = !ffiTransportAvailable();

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A receiver joined to `group` on loopback that keeps copies of what it gets. */
async function receiver(group: string, port: number) {
  const socket = await openFfiTransport({
    family: "IPv4",
    address: group,
    port,
    reuseAddress: true,
  });
  socket.join(group, LOOPBACK);
  const got: Uint8Array[] = [];
  socket.onDatagram((data) => got.push(data.slice()));
  return { socket, got };
}

async function sender(): Promise<FfiTransport> {
  const socket = await openFfiTransport({
    family: "IPv4",
    address: "0.0.0.0",
    port: 0,
    reuseAddress: false,
  });
  socket.setInterface(LOOPBACK);
  socket.setTtl(0);
  return socket;
}

Deno.test({
  name:
    "ffi sendBatch: 1,000 datagrams of many sizes (batches of 64, memory that grows past 96 KiB) arrive whole and in order",
  ignore,
  async fn() {
    const { socket: into, got } = await receiver("239.32.0.1", 32001);
    const from = await sender();
    try {
      // Sizes 1..1400, and a run of 9000-byte ones that outgrows the
      // first memory (64 x 1500 bytes).
      const datagrams = Array.from({ length: 1000 }, (_, i) => {
        const size = i >= 500 && i < 564 ? 9000 : 1 + (i * 37) % 1400;
        const data = new Uint8Array(size).fill(i % 251);
        if (size >= 2) new DataView(data.buffer).setUint16(0, i);
        return data;
      });
      // The same array object twice in a row is sent twice.
      datagrams[10] = datagrams[9];
      await from.sendBatch(datagrams, 32001, "239.32.0.1");
      await until(() => got.length === 1000, "1,000 datagrams");
      for (let i = 0; i < 1000; i++) {
        assert.deepEqual(got[i], datagrams[i], `datagram ${i}`);
      }
    } finally {
      await from.close();
      await into.close();
    }
  },
});

Deno.test({
  name:
    "ffi sendBatch: a datagram too large fails with a SocketError that names it; a closed socket and a bad port are refused",
  ignore,
  async fn() {
    const from = await sender();
    const small = new Uint8Array(10);
    await assert.rejects(
      from.sendBatch([new Uint8Array(65_508), small], 32002, "239.32.0.2"),
      (error: unknown) =>
        error instanceof SocketError && /65508 bytes/.test(error.message) &&
        /EMSGSIZE|too (long|large)/i.test(error.message),
    );
    assert.throws(
      () => from.sendBatch([small], 70_000, "239.32.0.2"),
      /port/i,
    );
    await from.close();
    await assert.rejects(
      from.sendBatch([small], 32002, "239.32.0.2"),
      (error: unknown) =>
        error instanceof SocketError && /closed/.test(error.message),
    );
  },
});

Deno.test({
  name:
    "sender at interval 0 over ffi sends in batches: every numbered request arrives once, in order, and the summary counts them",
  ignore,
  async fn() {
    const { socket: into, got } = await receiver("239.32.0.3", 32003);
    try {
      const sending = await Sender.open({
        group: "239.32.0.3",
        port: 32003,
        interface: LOOPBACK,
        ttl: 0,
        transport: openFfiTransport,
      });
      let batched = 0;
      let summary;
      for await (
        const event of sending.send("load", {
          count: 3000,
          interval: 0,
          timeout: 50,
          sequence: true,
          onSent: () => batched++,
        })
      ) {
        if (event.event === "summary") summary = event;
      }
      await sending.close();
      assert.equal(summary?.sent, 3000);
      // onSent once a burst of 256 at most, not once a request.
      assert.ok(batched >= 3000 / 256 && batched < 3000, `${batched} calls`);
      await until(() => got.length === 3000, "3,000 requests");
      const seqs = got.map((data) => unframeRequest(data)?.seq);
      assert.deepEqual(seqs, Array.from({ length: 3000 }, (_, i) => i));
    } finally {
      await into.close();
    }
  },
});

/** `deno task send ARGS` as users run it (the launcher grants FFI here). */
async function taskSend(args: string[]) {
  const config = new URL("../deno.json", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "--config", config, "send", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr),
  };
}

Deno.test({
  name:
    "deno task send --rate max --seq: 20,000 numbered requests at full speed, per-responder figures, every reply reported or counted as a kernel drop",
  ignore,
  async fn() {
    // A responder that answers every request it reads, framed as a
    // listener frames its replies, to the request's source.
    const { socket: responder } = await receiver("239.32.0.4", 32004);
    let answered = 0;
    const requests: number[] = [];
    responder.onDatagram((data, from) => {
      const request = unframeRequest(data);
      if (request === undefined) return;
      requests.push(request.seq);
      answered++;
      responder.send(
        frameReply(request.seq, request.payload),
        from.port,
        from.address,
      )
        .catch(() => answered--);
    });
    try {
      const run = await taskSend([
        ...["-g", "239.32.0.4", "-p", "32004", "-i", LOOPBACK, "-t", "0"],
        ...["-c", "20000", "--rate", "max", "--seq", "-w", "1s", "-q"],
        ...["--json", "load"],
      ]);
      const what = `exit ${run.code}\n${
        run.stdout.slice(-2000)
      }\n${run.stderr}`;
      assert.equal(run.code, 0, what);
      const summary = JSON.parse(
        /\{"event":"summary".*\}/.exec(run.stdout)?.[0] ?? "{}",
      );
      assert.equal(summary.sent, 20_000, what);
      assert.equal(summary.responders, 1, what);
      // Each request the responder read was numbered once, in order.
      assert.ok(requests.length > 0 && requests.length <= 20_000, what);
      assert.ok(requests.every((seq, i) => i === 0 || seq > requests[i - 1]));
      // Every reply that left is in the summary or in its kernel drops
      // (equal in every run here), unless the per-CPU backlog that loopback
      // shares with other namespaces dropped it on the way: no socket
      // counts that.
      assert.ok(summary.replies > 0, what);
      assert.ok(
        summary.replies + (summary.kernelDrops ?? 0) <= answered,
        `${answered} answered; ${what}`,
      );
      const [row] = summary.perResponder;
      assert.equal(row.replies, summary.replies, what);
      assert.equal(row.duplicates, 0, what);
      assert.ok(
        Math.abs(row.lossPercent - 100 * (1 - row.replies / 20_000)) < 0.01,
        what,
      );
      assert.ok(row.rttMs !== null && row.rttMs.min >= 0, what);
    } finally {
      await responder.close();
    }
  },
});

Deno.test("deno task send --rate max with --interval is refused, exit 2", async () => {
  const run = await taskSend(["--rate", "max", "--interval", "1s"]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(
    run.stderr,
    /^mcast send: Give --rate or --interval, not both \(--rate max is --interval 0\)/,
  );
});
