/**
 * A listener's replies through a transport that can send at once
 * (`sendNow`, as ffi): counted before the datagram's handler returns, no
 * promise per reply; a full send buffer falls back to `send` (pending
 * until it settles); a refused send is a send error. In memory: a
 * transport that records what it was asked to do.
 *
 * @module
 */

import assert from "node:assert/strict";
import { listen, type ListenEvent } from "../lib/listener/listen.ts";
import { SocketError } from "../lib/errors.ts";
import type { Peer } from "../lib/transports/transport.ts";
import { ack } from "../plugins/responders/ack.ts";
import { LOOPBACK } from "./support/loopback.ts";
import { memoryTransport } from "./support/memory_transport.ts";

/** What `sendNow` does: send, say the buffer is full, or refuse. */
type NowMode = "sent" | "full" | "refused";

/** A transport in memory with `sendNow`; `send` resolves when told to. */
function memoryTransportWithSendNow() {
  const state = {
    mode: "sent" as NowMode,
    now: [] as Uint8Array[],
    later: [] as Uint8Array[],
    settle: [] as (() => void)[],
  };
  const memory = memoryTransport("239.61.9.1", 50000, {
    sendNow(data) {
      if (state.mode === "refused") {
        throw new SocketError("Cannot send 3 bytes: refused by a test");
      }
      if (state.mode === "full") return false;
      state.now.push(data);
      return true;
    },
    send(data) {
      state.later.push(data);
      return new Promise<void>((resolve) => state.settle.push(resolve));
    },
  });
  return { transport: memory.transport, state, deliver: memory.deliver };
}

/** An `ack` listener on `group` through `memory`, its events into `events`. */
function ackOn(
  memory: ReturnType<typeof memoryTransportWithSendNow>,
  group: string,
  events: ListenEvent[],
) {
  return listen({
    group,
    interface: LOOPBACK,
    responder: ack(),
    rateLimit: false,
    transport: () => Promise.resolve(memory.transport),
    onEvent: (event) => events.push(event),
  });
}

const from: Peer = { address: LOOPBACK, port: 40000, family: "IPv4" };
const request = new TextEncoder().encode("ping");

Deno.test("listener replies through sendNow: counted before the handler returns, no send, nothing pending", async () => {
  const memory = memoryTransportWithSendNow();
  const events: ListenEvent[] = [];
  await using listener = await ackOn(memory, "239.61.9.1", events);
  memory.deliver()(request, from);
  assert.equal(listener.stats.replied, 1);
  assert.equal(listener.stats.pending, 0);
  assert.equal(memory.state.now.length, 1);
  assert.equal(memory.state.later.length, 0);
  assert.deepEqual(events.map((event) => event.event), ["message", "reply"]);
});

Deno.test("listener replies through send when sendNow finds the buffer full: pending until it settles", async () => {
  const memory = memoryTransportWithSendNow();
  memory.state.mode = "full";
  await using listener = await listen({
    group: "239.61.9.2",
    interface: LOOPBACK,
    responder: ack(),
    rateLimit: false,
    transport: () => Promise.resolve(memory.transport),
  });
  memory.deliver()(request, from);
  assert.equal(memory.state.later.length, 1);
  assert.equal(listener.stats.pending, 1);
  assert.equal(listener.stats.replied, 0);
  memory.state.settle[0]();
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(listener.stats.pending, 0);
  assert.equal(listener.stats.replied, 1);
});

Deno.test("listener counts a reply sendNow refuses as a send error and reports it", async () => {
  const memory = memoryTransportWithSendNow();
  memory.state.mode = "refused";
  const events: ListenEvent[] = [];
  await using listener = await ackOn(memory, "239.61.9.3", events);
  memory.deliver()(request, from);
  assert.equal(listener.stats.sendErrors, 1);
  assert.equal(listener.stats.replied, 0);
  assert.equal(listener.stats.pending, 0);
  const error = events.find((event) => event.event === "error");
  assert.ok(error?.event === "error" && error.kind === "send");
  assert.match(error.message, /refused by a test/);
});
