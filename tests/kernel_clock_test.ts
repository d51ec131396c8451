/**
 * The ffi transport's kernel clock and its wait on the caller's thread,
 * with real sockets on loopback only (group 239.31.22.x, ports
 * 31220-31229): with `timestamps` each datagram comes with the kernel's
 * receive time, between the send's time and now on the same clock, and
 * without it none; `waitHere` hands datagrams over before it returns once
 * the background wait has stopped, and receiving goes back to the
 * background after it; closing a socket waiting either way ends at once.
 *
 * Run: `deno test --allow-all tests/kernel_clock_test.ts`
 */

import assert from "node:assert/strict";
import {
  type FfiTransport,
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";

const LOOPBACK = "127.0.0.1";
const ignore = !ffiTransportAvailable();
const encoder = new TextEncoder();

/** A socket on 0.0.0.0:`port`, joined to `group` on loopback. */
async function joined(
  group: string,
  port: number,
  timestamps: boolean,
): Promise<FfiTransport> {
  const socket = await openFfiTransport({
    family: "IPv4",
    address: "0.0.0.0",
    port,
    reuseAddress: true,
    timestamps,
  }) as FfiTransport;
  socket.join(group, LOOPBACK);
  return socket;
}

/** A socket sending through loopback, with the kernel clock. */
async function sender(): Promise<FfiTransport> {
  const socket = await openFfiTransport({
    family: "IPv4",
    address: LOOPBACK,
    port: 0,
    reuseAddress: false,
    timestamps: true,
  }) as FfiTransport;
  socket.setInterface(LOOPBACK);
  return socket;
}

/** Waits until `condition()` holds, for at most 10 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test({
  name:
    "ffi with timestamps: each datagram's receivedAt is the kernel's, after its send's stamp and before now on the same clock; without timestamps none",
  ignore,
  async fn() {
    const stamped = await joined("239.31.22.1", 31221, true);
    const plain = await joined("239.31.22.1", 31221, false);
    const tx = await sender();
    try {
      assert.ok(stamped.kernelClock !== undefined);
      assert.equal(plain.kernelClock, undefined);
      const times: (number | undefined)[] = [];
      const plainTimes: (number | undefined)[] = [];
      stamped.onDatagram((_data, _from, _cut, _to, at) => times.push(at));
      plain.onDatagram((_data, _from, _cut, _to, at) => plainTimes.push(at));
      const sentAt: number[] = [];
      for (let i = 0; i < 5; i++) {
        await tx.send(encoder.encode(`t${i}`), 31221, "239.31.22.1");
        sentAt.push(tx.kernelClock!.sentAt());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await until(() => times.length === 5 && plainTimes.length === 5, "5");
      const now = stamped.kernelClock!.now();
      for (let i = 0; i < 5; i++) {
        const at = times[i]!;
        assert.equal(typeof at, "number");
        // The kernel stamps on arrival: after the send's system call
        // began, before now; sends 20 ms apart arrive in order.
        assert.ok(at >= sentAt[i], `${at} before its send at ${sentAt[i]}`);
        assert.ok(at <= now, `${at} after now ${now}`);
        assert.ok(at - sentAt[i] < 1000, `${at - sentAt[i]} ms on loopback`);
        if (i > 0) assert.ok(at - times[i - 1]! >= 15);
      }
      assert.deepEqual(plainTimes, [
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    } finally {
      await stamped.close();
      await plain.close();
      await tx.close();
    }
  },
});

Deno.test({
  name:
    "ffi waitHere: -1 while the background wait runs, then datagrams handed over before it returns; receiveInBackground gives receiving back",
  ignore,
  async fn() {
    const rx = await joined("239.31.22.2", 31222, true);
    const tx = await sender();
    try {
      const texts: string[] = [];
      rx.onDatagram((data) => texts.push(new TextDecoder().decode(data)));
      // The background wait is in flight: not yet.
      assert.equal(rx.waitHere(1), -1);
      await tx.send(encoder.encode("first"), 31222, "239.31.22.2");
      await until(() => texts.length === 1, "the first datagram");
      // It came the usual way; the background wait has stopped after it.
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(rx.waitHere(0), 0, "nothing queued");
      await tx.send(encoder.encode("second"), 31222, "239.31.22.2");
      await tx.send(encoder.encode("third"), 31222, "239.31.22.2");
      // Handed over inside the call, no turn of the event loop needed.
      assert.equal(rx.waitHere(1000), 2);
      assert.deepEqual(texts, ["first", "second", "third"]);
      // A wait with nothing to take ends at its timeout, or after a slice
      // of 10 ms when that is shorter.
      let started = performance.now();
      assert.equal(rx.waitHere(5), 0);
      assert.ok(performance.now() - started >= 4);
      started = performance.now();
      assert.equal(rx.waitHere(30), 0);
      const waited = performance.now() - started;
      assert.ok(waited >= 8 && waited < 30, `${waited} ms`);
      rx.receiveInBackground();
      await tx.send(encoder.encode("fourth"), 31222, "239.31.22.2");
      await until(() => texts.length === 4, "the fourth, the usual way");
      assert.equal(texts[3], "fourth");
    } finally {
      await rx.close();
      await tx.close();
    }
  },
});

Deno.test({
  name:
    "ffi: a socket whose background wait stopped for waitHere closes at once",
  ignore,
  async fn() {
    const rx = await joined("239.31.22.3", 31223, false);
    const tx = await sender();
    let got = 0;
    rx.onDatagram(() => got++);
    assert.equal(rx.waitHere(1), -1);
    await tx.send(encoder.encode("x"), 31223, "239.31.22.3");
    await until(() => got === 1, "the datagram");
    await new Promise((resolve) => setTimeout(resolve, 10));
    const started = performance.now();
    await rx.close();
    await tx.close();
    assert.ok(performance.now() - started < 200);
    assert.equal(rx.waitHere(10), 0, "closed: nothing to wait for");
  },
});

Deno.test({
  name:
    "ffi waitOnThread: asked after deliveries while it is the process's one receiving socket, never while another one runs; every datagram delivered, in order, either way",
  ignore,
  async fn() {
    const tx = await openFfiTransport({
      family: "IPv4",
      address: LOOPBACK,
      port: 0,
      reuseAddress: false,
    }) as FfiTransport;
    tx.setInterface(LOOPBACK);
    const rx = await joined("239.31.22.4", 31224, false);
    let asked = 0;
    const texts: string[] = [];
    rx.waitOnThread(() => {
      asked++;
      return true;
    });
    rx.onDatagram((data) => texts.push(new TextDecoder().decode(data)));
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        await tx.send(encoder.encode(`${i}`), 31224, "239.31.22.4");
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    try {
      // The sender has no receiver (it never installed a handler): rx is
      // the one receiving socket.
      await send(0, 20);
      await until(() => texts.length === 20, "20 datagrams");
      assert.ok(asked > 0, "asked whether it may wait on the thread");
      // A second receiving socket: waiting on the thread would hold its
      // datagrams, so it is not even asked.
      const other = await joined("239.31.22.5", 31225, false);
      other.onDatagram(() => {});
      await new Promise((resolve) => setTimeout(resolve, 50));
      const before = asked;
      await send(20, 40);
      await until(() => texts.length === 40, "40 datagrams");
      assert.equal(asked, before);
      await other.close();
      assert.deepEqual(texts, Array.from({ length: 40 }, (_, i) => `${i}`));
    } finally {
      const started = performance.now();
      await rx.close();
      await tx.close();
      assert.ok(performance.now() - started < 500, "closed promptly");
    }
  },
});
