// The Deno.listenDatagram transport: what it does, and what it refuses
// clearly. Runs under `deno task test` (which passes --unstable-net);
// loopback only, groups 239.26.x.x.
import assert from "node:assert/strict";
import {
  denoTransportAvailable,
  openDenoTransport,
} from "../lib/transports/deno_udp.ts";
import { McastTypeError, SocketError } from "../lib/errors.ts";
import type { Peer } from "../lib/transports/transport.ts";
import { RawSender } from "./support/raw_sender.ts";
import { until } from "./support/until.ts";

const available = denoTransportAvailable();
const LO = "127.0.0.1";

Deno.test({
  name:
    "datagram transport: binds the group, joins, receives into a reused buffer, replies",
  ignore: !available,
  async fn() {
    const transport = await openDenoTransport({
      family: "IPv4",
      address: "239.26.0.1",
      port: 0,
      reuseAddress: true,
    });
    try {
      assert.equal(transport.reusesBuffers, true);
      await transport.join("239.26.0.1", LO);
      const { port } = transport.localAddress();
      const got: { text: string; from: Peer }[] = [];
      transport.onDatagram((data, from) =>
        got.push({ text: new TextDecoder().decode(data), from })
      );
      await using sender = await RawSender.open();
      const replies: string[] = [];
      sender.onMessage((message) =>
        replies.push(new TextDecoder().decode(message))
      );
      await sender.send(new TextEncoder().encode("one"), port, "239.26.0.1");
      await sender.send(new TextEncoder().encode("two"), port, "239.26.0.1");
      await until(() => got.length === 2, 5000);
      assert.deepEqual(got.map((g) => g.text), ["one", "two"]);
      assert.equal(got[0].from.address, LO);
      await transport.send(
        new TextEncoder().encode("ack"),
        got[0].from.port,
        LO,
      );
      await until(() => replies.length === 1, 5000);
      assert.deepEqual(replies, ["ack"]);
    } finally {
      await transport.close();
    }
  },
});

Deno.test({
  name:
    "datagram transport: refuses what Deno's API cannot do, naming the alternative",
  ignore: !available,
  async fn() {
    await assert.rejects(
      openDenoTransport({
        family: "IPv6",
        address: "::",
        port: 0,
        reuseAddress: true,
      }),
      /IPv4 only \(use dgram or ffi for IPv6\)/,
    );
    const transport = await openDenoTransport({
      family: "IPv4",
      address: "239.26.0.2",
      port: 0,
      reuseAddress: true,
    });
    try {
      assert.throws(
        () => transport.joinSource("10.0.0.1", "232.1.1.1"),
        McastTypeError,
      );
      assert.throws(
        () => transport.setInterface(LO),
        /no outgoing-interface setting/,
      );
      await assert.rejects(
        Promise.resolve(transport.join("239.26.0.2", "192.0.2.123")),
        (error: unknown) =>
          error instanceof SocketError &&
          /Cannot join group 239.26.0.2 on interface 192.0.2.123/.test(
            error.message,
          ),
      );
    } finally {
      await transport.close();
      await transport.close(); // idempotent
    }
  },
});
