/**
 * Tests of the FFI transport with real sockets on loopback only: every
 * socket joins and sends on 127.0.0.1, groups are 239.31.x.x and ports
 * 31000-31099. IPv6 multicast does not flow on `lo`, so IPv6 options are
 * checked by reading them back with getsockopt.
 *
 * Run: `deno test --allow-all tests/ffi_transport_test.ts`
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { SocketError } from "../lib/errors.ts";
import { ErrnoError } from "../lib/transports/ffi/libc.ts";
import {
  createFfiTransportFactory,
  type FfiTransport,
  ffiTransportAvailable,
  openFfiTransport as openTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import type {
  Peer,
  TransportFactory,
  TransportOpenOptions,
} from "../lib/transports/transport.ts";

/** The public factory, typed as the class it returns (for its extra methods). */
const openFfiTransport = (options: TransportOpenOptions) =>
  openTransport(options) as Promise<FfiTransport>;

const LOOPBACK = "127.0.0.1";
const available = ffiTransportAvailable();
const ignore = !available;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Type-level check: the FFI opener is a TransportFactory.
const factory: TransportFactory = openFfiTransport;

interface Received {
  text: string;
  from: Peer;
  data: Uint8Array;
}

/**
 * Waits until `condition()` holds, polling every 5 ms, for at most `ms`
 * (generous, for a loaded machine).
 */
async function until(
  condition: () => boolean,
  what: string,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Descriptors of this process that hold a UDP socket bound to local
 * `port` (matched by inode between /proc/self/fd and /proc/self/net/udp).
 */
function descriptorsOnPort(port: number): number {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of Deno.readTextFileSync("/proc/self/net/udp").split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(`:${hexPort}`)) inodes.add(fields[9]);
  }
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      if (inodes.has(target.match(/^socket:\[(\d+)\]$/)?.[1] ?? "")) count++;
    } catch {
      // The descriptor that readDirSync used is closed by now.
    }
  }
  return count;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A receiving socket bound to 0.0.0.0:`port` that records what it gets. */
async function receiver(port: number, open = openFfiTransport) {
  const socket = await open({
    family: "IPv4",
    address: "0.0.0.0",
    port,
    reuseAddress: true,
  });
  const received: Received[] = [];
  socket.onDatagram((data, from) => {
    // The receiver reuses its memory: keep a copy.
    received.push({ text: decoder.decode(data), from, data: data.slice() });
  });
  return { socket, received };
}

/** A sending socket on `address`, multicasting through loopback. */
async function sender(address = LOOPBACK): Promise<FfiTransport> {
  const socket = await openFfiTransport({
    family: "IPv4",
    address,
    port: 0,
    reuseAddress: false,
  });
  socket.setInterface(LOOPBACK);
  return socket;
}

/** A node:dgram socket on 0.0.0.0:`port` joined to `group` on loopback. */
async function dgramReceiver(port: number, group?: string) {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  const received: { text: string; from: dgram.RemoteInfo }[] = [];
  socket.on("message", (data, from) => {
    received.push({ text: decoder.decode(data), from });
  });
  await new Promise<void>((resolve) => socket.bind(port, "0.0.0.0", resolve));
  if (group !== undefined) socket.addMembership(group, LOOPBACK);
  socket.setMulticastInterface(LOOPBACK);
  return { socket, received };
}

function dgramSend(
  socket: dgram.Socket,
  text: string,
  port: number,
  address: string,
): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(
      encoder.encode(text),
      port,
      address,
      (error) => error ? reject(error) : resolve(),
    )
  );
}

function dgramClose(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

Deno.test("ffiTransportAvailable is true on Linux with --allow-all", () => {
  assert.equal(typeof factory, "function");
  if (Deno.build.os === "linux") assert.equal(available, true);
});

Deno.test({
  name: "opens, binds, joins, receives, sends and closes",
  ignore,
  async fn() {
    const { socket: rx, received } = await receiver(31001);
    const tx = await sender();
    try {
      assert.equal(rx.family, "IPv4");
      assert.equal(rx.reusesBuffers, true);
      assert.deepEqual(rx.localAddress(), { address: "0.0.0.0", port: 31001 });
      assert.equal(tx.localAddress().address, LOOPBACK);
      rx.join("239.31.1.1", LOOPBACK);
      for (let i = 0; i < 3; i++) {
        await tx.send(encoder.encode(`hello ${i}`), 31001, "239.31.1.1");
      }
      await until(() => received.length === 3, "3 datagrams");
      assert.deepEqual(received.map((r) => r.text), [
        "hello 0",
        "hello 1",
        "hello 2",
      ]);
      const txPort = tx.localAddress().port;
      for (const { from } of received) {
        assert.deepEqual(from, {
          address: LOOPBACK,
          port: txPort,
          family: "IPv4",
        });
      }
      // Leaving stops delivery.
      rx.leave("239.31.1.1", LOOPBACK);
      await tx.send(encoder.encode("after leave"), 31001, "239.31.1.1");
      await sleep(100);
      assert.equal(received.length, 3);
    } finally {
      await rx.close();
      await tx.close();
    }
  },
});

Deno.test({
  name: "delivers a backlog in order, in views of one reused buffer",
  ignore,
  async fn() {
    const rx = await openFfiTransport({
      family: "IPv4",
      address: "0.0.0.0",
      port: 31002,
      reuseAddress: true,
    });
    const tx = await sender();
    try {
      rx.join("239.31.2.1", LOOPBACK);
      // Queued by the kernel before receiving starts.
      for (let i = 0; i < 200; i++) {
        await tx.send(encoder.encode(`${i}`), 31002, "239.31.2.1");
      }
      const texts: string[] = [];
      const buffers: ArrayBufferLike[] = [];
      rx.onDatagram((data) => {
        texts.push(decoder.decode(data));
        buffers.push(data.buffer);
      });
      await until(() => texts.length === 200, "200 datagrams");
      assert.deepEqual(texts, Array.from({ length: 200 }, (_, i) => `${i}`));
      // Every batch lands in the same memory: no allocation per batch.
      assert.equal(new Set(buffers).size, 1);
    } finally {
      await rx.close();
      await tx.close();
    }
  },
});

Deno.test({
  name: "datagrams from two sources in turn each name their own source",
  ignore,
  async fn() {
    const { socket: rx, received } = await receiver(31009);
    const first = await sender();
    const second = await sender();
    try {
      rx.join("239.31.9.1", LOOPBACK);
      // One after the other, so that batches mix the two sources.
      for (let i = 0; i < 40; i++) {
        const tx = i % 3 === 0 ? second : first;
        await tx.send(encoder.encode(`${i}`), 31009, "239.31.9.1");
      }
      await until(() => received.length === 40, "40 datagrams");
      const ports = [first.localAddress().port, second.localAddress().port];
      assert.notEqual(ports[0], ports[1]);
      for (const { text, from } of received) {
        const expected = Number(text) % 3 === 0 ? ports[1] : ports[0];
        assert.equal(from.port, expected, `datagram ${text}`);
        assert.equal(from.address, LOOPBACK);
      }
    } finally {
      await rx.close();
      await first.close();
      await second.close();
    }
  },
});

Deno.test({
  name: "small batches, one per turn of the event loop, deliver everything",
  ignore,
  async fn() {
    const open = createFfiTransportFactory({
      batchSize: 4,
      batchesPerTurn: 1,
    });
    const { socket: rx, received } = await receiver(
      31003,
      open as typeof openFfiTransport,
    );
    const tx = await sender();
    try {
      rx.join("239.31.3.1", LOOPBACK);
      for (let i = 0; i < 300; i++) {
        await tx.send(encoder.encode(`${i}`), 31003, "239.31.3.1");
      }
      await until(() => received.length === 300, "300 datagrams");
      assert.deepEqual(
        received.map((r) => r.text),
        Array.from({ length: 300 }, (_, i) => `${i}`),
      );
    } finally {
      await rx.close();
      await tx.close();
    }
    assert.throws(
      () => createFfiTransportFactory({ batchSize: 0 }),
      /batchSize must be an integer from 1 to 1024/,
    );
    assert.throws(
      () => createFfiTransportFactory({ batchesPerTurn: 1025 }),
      /batchesPerTurn must be an integer from 1 to 1024, not 1025/,
    );
  },
});

Deno.test({
  name:
    "a throwing handler is reported as an uncaught error; the batch and the loop go on",
  ignore,
  async fn() {
    const reported: unknown[] = [];
    const onError = (event: ErrorEvent) => {
      event.preventDefault();
      reported.push(event.error);
    };
    globalThis.addEventListener("error", onError);
    const rx = await openFfiTransport({
      family: "IPv4",
      address: "0.0.0.0",
      port: 31004,
      reuseAddress: true,
    });
    const tx = await sender();
    try {
      rx.join("239.31.4.1", LOOPBACK);
      for (let i = 0; i < 3; i++) {
        await tx.send(encoder.encode(`${i}`), 31004, "239.31.4.1");
      }
      const texts: string[] = [];
      rx.onDatagram((data) => {
        const text = decoder.decode(data);
        texts.push(text);
        if (text === "1") throw new Error("handler failed on 1");
      });
      await until(() => texts.length === 3, "the first 3 datagrams");
      await tx.send(encoder.encode("3"), 31004, "239.31.4.1");
      await until(() => texts.length === 4, "a datagram after the failure");
      assert.deepEqual(texts, ["0", "1", "2", "3"]);
      assert.equal(reported.length, 1);
      assert.match(String(reported[0]), /handler failed on 1/);
    } finally {
      globalThis.removeEventListener("error", onError);
      await rx.close();
      await tx.close();
    }
  },
});

Deno.test({
  name:
    "the kernel's drops are counted at once: received + dropped = sent (SO_MEMINFO)",
  ignore,
  async fn() {
    // A receive buffer of a few KiB (the kernel's minimum) and nobody
    // reading: all but the first few datagrams are dropped.
    const open = createFfiTransportFactory({ receiveBufferBytes: 1 });
    const rx = await (open as typeof openFfiTransport)({
      family: "IPv4",
      address: "0.0.0.0",
      port: 31005,
      reuseAddress: true,
    });
    const tx = await sender();
    try {
      rx.join("239.31.5.1", LOOPBACK);
      const payload = new Uint8Array(1000);
      for (let i = 0; i < 300; i++) await tx.send(payload, 31005, "239.31.5.1");
      // Before anything is read: the kernel's count now, not as the next
      // datagram would report it (SO_RXQ_OVFL).
      const dropped = rx.droppedByKernel();
      assert.ok(dropped > 0 && dropped < 300, `${dropped} dropped`);
      let received = 0;
      rx.onDatagram(() => received++);
      await until(() => received > 0, "the queued datagrams");
      await sleep(100);
      assert.equal(received + dropped, 300);
      assert.equal(rx.droppedByKernel(), dropped, "nothing more was lost");
      // One more datagram fits again; the count stays one meaning.
      await tx.send(payload, 31005, "239.31.5.1");
      await until(() => received === 300 - dropped + 1, "one more datagram");
      assert.equal(rx.droppedByKernel(), dropped);
    } finally {
      await rx.close();
      await tx.close();
    }
  },
});

Deno.test({
  name: "an FFI socket and a node:dgram socket reply to each other",
  ignore,
  async fn() {
    // FFI multicasts to a group that dgram joined; dgram replies unicast.
    const ffi = await openFfiTransport({
      family: "IPv4",
      address: LOOPBACK,
      port: 31010,
      reuseAddress: false,
    });
    ffi.setInterface(LOOPBACK);
    const ffiReceived: Received[] = [];
    ffi.onDatagram((data, from) => {
      ffiReceived.push({ text: decoder.decode(data), from, data });
    });
    const node = await dgramReceiver(31011, "239.31.10.1");
    node.socket.on("message", (data, from) => {
      node.socket.send(
        encoder.encode(`dgram got ${decoder.decode(data)}`),
        from.port,
        from.address,
      );
    });
    // dgram multicasts to a group that FFI joined; FFI replies unicast.
    const ffiMember = await openFfiTransport({
      family: "IPv4",
      address: "0.0.0.0",
      port: 31012,
      reuseAddress: true,
    });
    ffiMember.join("239.31.10.2", LOOPBACK);
    ffiMember.setInterface(LOOPBACK);
    ffiMember.onDatagram((data, from) => {
      ffiMember.send(
        encoder.encode(`ffi got ${decoder.decode(data)}`),
        from.port,
        from.address,
      );
    });
    const nodeSender = await dgramReceiver(31013);
    try {
      await ffi.send(encoder.encode("ping"), 31011, "239.31.10.1");
      await until(() => ffiReceived.length === 1, "dgram's reply");
      assert.equal(ffiReceived[0].text, "dgram got ping");
      assert.deepEqual(ffiReceived[0].from, {
        address: LOOPBACK,
        port: 31011,
        family: "IPv4",
      });
      assert.equal(node.received[0].from.port, 31010);

      await dgramSend(nodeSender.socket, "pong", 31012, "239.31.10.2");
      await until(() => nodeSender.received.length === 1, "FFI's reply");
      assert.equal(nodeSender.received[0].text, "ffi got pong");
      assert.equal(nodeSender.received[0].from.address, LOOPBACK);
      assert.equal(nodeSender.received[0].from.port, 31012);
    } finally {
      await ffi.close();
      await ffiMember.close();
      await dgramClose(node.socket);
      await dgramClose(nodeSender.socket);
    }
  },
});

Deno.test({
  name: "setTtl, setLoopback and IP_MULTICAST_ALL read back (IPv4)",
  ignore,
  async fn() {
    const socket = await sender();
    try {
      assert.deepEqual(
        { ...socket.socketOptions(), receiveBufferBytes: 0 },
        { ttl: 1, loopback: true, multicastAll: false, receiveBufferBytes: 0 },
      );
      socket.setTtl(17);
      socket.setLoopback(false);
      assert.equal(socket.socketOptions().ttl, 17);
      assert.equal(socket.socketOptions().loopback, false);
      socket.setTtl(0);
      socket.setLoopback(true);
      assert.equal(socket.socketOptions().ttl, 0);
      assert.equal(socket.socketOptions().loopback, true);
      assert.throws(() => socket.setTtl(256), { code: "ERR_INVALID_TTL" });
      assert.throws(() => socket.setTtl(1.5), { code: "ERR_INVALID_TTL" });
      assert.ok(socket.socketOptions().receiveBufferBytes >= 212992);
    } finally {
      await socket.close();
    }
  },
});

Deno.test({
  name: "setTtl sets the IPv6 hop limit on a udp6 socket (no traffic)",
  ignore,
  async fn() {
    const socket = await openFfiTransport({
      family: "IPv6",
      address: "::1",
      port: 0,
      reuseAddress: false,
    });
    try {
      assert.equal(socket.family, "IPv6");
      assert.equal(socket.localAddress().address, "::1");
      assert.equal(socket.socketOptions().multicastAll, false);
      socket.setTtl(42);
      socket.setLoopback(false);
      const options = socket.socketOptions();
      assert.equal(options.ttl, 42);
      assert.equal(options.loopback, false);
      // Interface by name, by "%zone", by index, by address (::1 is lo's).
      socket.setInterface("lo");
      socket.setInterface("%lo");
      socket.setInterface("1");
      socket.setInterface("::1");
      socket.join("ff15::31:1", "lo");
      socket.joinSource("::1", "ff35::31:2", "lo");
      socket.leaveSource("::1", "ff35::31:2", "lo");
      socket.leave("ff15::31:1", "lo");
      assert.throws(
        () => socket.join("ff15::31:1", "nope31"),
        (error: SocketError) => {
          assert.ok(error instanceof SocketError);
          assert.match(
            error.message,
            /join group ff15::31:1 on interface nope31: there is no interface named "nope31" \(ENODEV\)/,
          );
          return true;
        },
      );
      assert.throws(
        () => socket.leave("ff15::31:1", "lo"),
        /Cannot leave group ff15::31:1 on interface lo: EADDRNOTAVAIL/,
      );
    } finally {
      await socket.close();
    }
  },
});

Deno.test({
  name: "IP_MULTICAST_ALL=0: sockets on one port see only their own groups",
  ignore,
  async fn() {
    const a = await receiver(31020);
    const b = await receiver(31020);
    // Control: a node:dgram socket on the same port joins nothing, yet
    // gets both groups, because Deno's node:dgram leaves IP_MULTICAST_ALL=1.
    const control = await dgramReceiver(31020);
    const tx = await sender();
    try {
      a.socket.join("239.31.20.1", LOOPBACK);
      b.socket.join("239.31.20.2", LOOPBACK);
      await tx.send(encoder.encode("to group 2"), 31020, "239.31.20.2");
      await tx.send(encoder.encode("to group 1"), 31020, "239.31.20.1");
      await until(
        () =>
          a.received.length >= 1 && b.received.length >= 1 &&
          control.received.length >= 2,
        "each socket's datagram",
      );
      await sleep(100);
      assert.deepEqual(a.received.map((r) => r.text), ["to group 1"]);
      assert.deepEqual(b.received.map((r) => r.text), ["to group 2"]);
      assert.deepEqual(control.received.map((r) => r.text).sort(), [
        "to group 1",
        "to group 2",
      ]);
    } finally {
      await a.socket.close();
      await b.socket.close();
      await dgramClose(control.socket);
      await tx.close();
    }
  },
});

Deno.test({
  name: "joinSource receives only the chosen source (SSM)",
  ignore,
  async fn() {
    const group = "239.31.30.1";
    const ssm = await receiver(31030);
    const any = await receiver(31030);
    const fromOne = await sender("127.0.0.1");
    const fromTwo = await sender("127.0.0.2");
    try {
      ssm.socket.joinSource("127.0.0.1", group, LOOPBACK);
      any.socket.join(group, LOOPBACK);
      await fromTwo.send(encoder.encode("from .2"), 31030, group);
      await fromOne.send(encoder.encode("from .1"), 31030, group);
      await until(
        () => ssm.received.length >= 1 && any.received.length >= 2,
        "the first round",
      );
      await sleep(100);
      assert.deepEqual(ssm.received.map((r) => r.text), ["from .1"]);
      assert.equal(ssm.received[0].from.address, "127.0.0.1");
      // The any-source member got both: 127.0.0.2 really sent.
      assert.deepEqual(any.received.map((r) => r.from.address), [
        "127.0.0.2",
        "127.0.0.1",
      ]);

      // Switch the source (by interface name, through group_source_req).
      ssm.socket.leaveSource("127.0.0.1", group, LOOPBACK);
      ssm.socket.joinSource("127.0.0.2", group, "lo");
      await fromOne.send(encoder.encode("from .1 again"), 31030, group);
      await fromTwo.send(encoder.encode("from .2 again"), 31030, group);
      await until(() => ssm.received.length >= 2, "the second round");
      await sleep(100);
      assert.deepEqual(ssm.received.map((r) => r.text), [
        "from .1",
        "from .2 again",
      ]);
      ssm.socket.leaveSource("127.0.0.2", group, "lo");
    } finally {
      await ssm.socket.close();
      await any.socket.close();
      await fromOne.close();
      await fromTwo.close();
    }
  },
});

Deno.test({
  name: "close is prompt while a recvmmsg waits, and frees the port",
  ignore,
  async fn() {
    const { socket: rx, received } = await receiver(31040);
    const tx = await sender();
    const txPort = tx.localAddress().port;
    assert.equal(descriptorsOnPort(31040), 1);
    assert.equal(descriptorsOnPort(txPort), 1);
    rx.join("239.31.40.1", LOOPBACK);
    await tx.send(encoder.encode("wake"), 31040, "239.31.40.1");
    await until(() => received.length === 1, "the receiver to run");
    await sleep(50); // now waiting in recvmmsg
    const started = performance.now();
    const closing = rx.close();
    assert.equal(rx.close(), closing, "close is idempotent");
    await closing;
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `close took ${elapsed} ms`);
    await tx.close();
    assert.equal(descriptorsOnPort(31040), 0, "no descriptor left open");
    assert.equal(descriptorsOnPort(txPort), 0, "no descriptor left open");
    // The descriptor is closed: the port binds again without reuse.
    const again = await openFfiTransport({
      family: "IPv4",
      address: "0.0.0.0",
      port: 31040,
      reuseAddress: false,
    });
    await again.close();
  },
});

Deno.test({
  name: "close is prompt right after receiving started",
  ignore,
  async fn() {
    const rx = await openFfiTransport({
      family: "IPv4",
      address: LOOPBACK,
      port: 0,
      reuseAddress: false,
    });
    rx.onDatagram(() => {});
    const started = performance.now();
    await rx.close();
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `close took ${elapsed} ms`);
  },
});

Deno.test({
  name: "a closed socket refuses further use",
  ignore,
  async fn() {
    const socket = await sender();
    await socket.close();
    await socket.close();
    await assert.rejects(
      socket.send(encoder.encode("x"), 31050, "239.31.50.1"),
      /Cannot send 1 bytes to 239\.31\.50\.1:31050 via interface 127\.0\.0\.1: the socket is closed/,
    );
    assert.throws(
      () => socket.join("239.31.50.1", LOOPBACK),
      /Cannot join group 239\.31\.50\.1: the socket is closed/,
    );
    assert.throws(() => socket.setTtl(2), SocketError);
  },
});

Deno.test({
  name: "errors are SocketErrors naming the operation, address and errno",
  ignore,
  async fn() {
    const taken = await openFfiTransport({
      family: "IPv4",
      address: LOOPBACK,
      port: 31060,
      reuseAddress: false,
    });
    try {
      await assert.rejects(
        openFfiTransport({
          family: "IPv4",
          address: LOOPBACK,
          port: 31060,
          reuseAddress: false,
        }),
        (error: SocketError) => {
          assert.ok(error instanceof SocketError);
          assert.equal(error.code, "ERR_SOCKET");
          assert.equal(
            error.message,
            "Cannot bind 127.0.0.1:31060: another program holds port 31060 without sharing it (it did not set SO_REUSEADDR): stop it, or choose another port with -p (EADDRINUSE)",
          );
          assert.ok(error.cause instanceof ErrnoError);
          assert.equal(error.cause.code, "EADDRINUSE");
          return true;
        },
      );
      await assert.rejects(
        openFfiTransport({
          family: "IPv4",
          address: "not-an-ip",
          port: 31061,
          reuseAddress: false,
        }),
        {
          name: "SocketError",
          message:
            'Cannot bind not-an-ip:31061: "not-an-ip" is not an IPv4 address',
        },
      );
      await assert.rejects(
        openFfiTransport({
          family: "IPv6",
          address: LOOPBACK,
          port: 31061,
          reuseAddress: false,
        }),
        SocketError,
      );
      await assert.rejects(
        openFfiTransport({
          family: "IPv4",
          address: "192.0.2.99",
          port: 31061,
          reuseAddress: false,
        }),
        /Cannot bind 192\.0\.2\.99:31061: 192\.0\.2\.99 is not an address of this host \(its interfaces: .*\blo 127\.0\.0\.1\b.*\) \(EADDRNOTAVAIL\)$/,
      );
      await assert.rejects(
        openFfiTransport({
          family: "IPv4",
          address: LOOPBACK,
          port: 70000,
          reuseAddress: false,
        }),
        { code: "ERR_INVALID_PORT" },
      );
      assert.throws(
        () => taken.join("10.31.0.1", LOOPBACK),
        /Cannot join group 10\.31\.0\.1 on interface 127\.0\.0\.1: EINVAL \(Invalid argument\)/,
      );
      assert.throws(
        () => taken.join("239.31.60.1", "nope31"),
        /Cannot join group 239\.31\.60\.1 on interface nope31: there is no interface named "nope31" \(ENODEV\)/,
      );
      assert.throws(
        () => taken.join("239.31.60.300", LOOPBACK),
        /Cannot join group "239\.31\.60\.300": not an IPv4 address/,
      );
      assert.throws(
        () => taken.setInterface("192.0.2.99"),
        /Cannot send multicast through interface 192\.0\.2\.99: 192\.0\.2\.99 is not an address of this host: choose the interface to send through with -i: .* \(EADDRNOTAVAIL\)$/,
      );
      taken.setInterface(LOOPBACK);
      await assert.rejects(
        taken.send(new Uint8Array(70000), 31061, "239.31.60.1"),
        /Cannot send 70000 bytes to 239\.31\.60\.1:31061 via interface 127\.0\.0\.1: the datagram is larger than UDP allows .* \(EMSGSIZE\)$/,
      );
      assert.throws(
        () => taken.send(encoder.encode("x"), 31061, "nowhere"),
        /Cannot send to nowhere:31061: "nowhere" is not an IPv4 address/,
      );
      // Also against a port that node:dgram holds.
      const node = dgram.createSocket({ type: "udp4" });
      await new Promise<void>((resolve) => node.bind(31062, LOOPBACK, resolve));
      try {
        await assert.rejects(
          openFfiTransport({
            family: "IPv4",
            address: LOOPBACK,
            port: 31062,
            reuseAddress: false,
          }),
          /EADDRINUSE/,
        );
      } finally {
        await dgramClose(node);
      }
    } finally {
      await taken.close();
    }
  },
});
