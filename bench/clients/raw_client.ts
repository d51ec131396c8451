/**
 * The fixed baseline client: the least `node:dgram` code in Deno that
 * multicasts a request and waits for replies. Prints one JSON line
 * (`../client_protocol.ts`).
 *
 * - `pingpong GROUP PORT COUNT SECONDS SIZE WARMUP`: one socket; send a
 *   request of SIZE bytes, wait for one reply (100 ms at most), repeat;
 *   WARMUP round trips first, not counted; stops after COUNT counted
 *   round trips or SECONDS.
 * - `fanin GROUP PORT ROUNDS EXPECTED TIMEOUT_MS WARMUP`: per round, open
 *   a socket, send one request, wait for EXPECTED replies (or
 *   TIMEOUT_MS), close; the time counted runs from opening to the last
 *   reply; WARMUP rounds first, not counted.
 * - `load GROUP PORT COUNT SECONDS SIZE RATE`: one socket; COUNT requests
 *   framed with sequence numbers as `send({ sequence: true })` frames
 *   them (`lib/wire/sequence.ts`), RATE a second on a schedule (0: back to
 *   back), each send awaited; replies matched by number; waits 500 ms for
 *   the last replies. Stops sending after SECONDS.
 *
 * Sends only through 127.0.0.1 (`setMulticastInterface`), TTL 1. (TTL 0
 * would keep even a misrouted datagram on the host, but Deno 2.9.6's
 * `setMulticastTTL(0)` fails with EINVAL.)
 *
 * Run: `deno run --allow-net bench/clients/raw_client.ts pingpong 239.50.0.1 50000 20000 5 64 1000`
 *
 * @module
 */

import dgram from "node:dgram";
import { LOOPBACK } from "../addresses.ts";
import { clientMain, printResult } from "../client_protocol.ts";
import { percentile } from "../stats.ts";

const PER_REQUEST_TIMEOUT_MS = 100;

async function openSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  socket.setMulticastInterface(LOOPBACK);
  socket.setMulticastTTL(1);
  socket.setMulticastLoopback(true);
  return socket;
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

async function pingPong(
  group: string,
  port: number,
  count: number,
  seconds: number,
  size: number,
  warmup: number,
): Promise<void> {
  const socket = await openSocket();
  const request = new TextEncoder().encode("p".repeat(size));
  let waiting: (() => void) | undefined;
  socket.on("message", () => {
    const wake = waiting;
    waiting = undefined;
    wake?.();
  });
  const roundTrip = (): Promise<boolean> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<boolean>((resolve) => {
      waiting = () => resolve(true);
      timer = setTimeout(() => {
        waiting = undefined;
        resolve(false);
      }, PER_REQUEST_TIMEOUT_MS);
      socket.send(request, port, group);
    }).finally(() => clearTimeout(timer));
  };
  const end = performance.now() + seconds * 1000;
  for (let i = 0; i < warmup && performance.now() < end; i++) {
    await roundTrip();
  }
  const latencies: number[] = [];
  let timeouts = 0;
  const start = performance.now();
  while (latencies.length < count && performance.now() < end) {
    const sentAt = performance.now();
    if (await roundTrip()) latencies.push(performance.now() - sentAt);
    else timeouts++;
  }
  const elapsed = (performance.now() - start) / 1000;
  await closeSocket(socket);
  printResult({
    roundTrips: latencies.length,
    timeouts,
    seconds: elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  });
}

async function fanIn(
  group: string,
  port: number,
  rounds: number,
  expected: number,
  timeoutMs: number,
  warmup: number,
): Promise<void> {
  const request = new TextEncoder().encode("who is there?");
  const times: number[] = [];
  let incomplete = 0;
  for (let round = -warmup; round < rounds; round++) {
    const start = performance.now();
    const socket = await openSocket();
    let replies = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const complete = await new Promise<boolean>((resolve) => {
      socket.on("message", () => {
        if (++replies === expected) resolve(true);
      });
      timer = setTimeout(() => resolve(false), timeoutMs);
      socket.send(request, port, group);
    });
    const took = performance.now() - start;
    clearTimeout(timer);
    await closeSocket(socket);
    if (round < 0) continue;
    if (complete) times.push(took);
    else incomplete++;
  }
  printResult({
    rounds,
    incomplete,
    p50Ms: percentile(times, 50),
    p90Ms: percentile(times, 90),
  });
}

/** `lib/wire/sequence.ts`'s frame: 0, "M", "S", kind (1 request, 2 reply), seq (u32 BE). */
const FRAME_BYTES = 8;

async function load(
  group: string,
  port: number,
  count: number,
  seconds: number,
  size: number,
  rate: number,
): Promise<void> {
  const socket = await openSocket();
  const intervalMs = rate > 0 ? 1000 / rate : 0;
  const request = new Uint8Array(FRAME_BYTES + size).fill(0x70);
  request.set([0, 0x4d, 0x53, 0x01, 0, 0, 0, 0]);
  const requestView = new DataView(request.buffer);
  const sentAt = new Float64Array(count);
  const answered = new Uint8Array(count);
  const rtts: number[] = [];
  let lastReplyAt = 0;
  socket.on("message", (reply: Uint8Array) => {
    if (
      reply.byteLength < FRAME_BYTES || reply[0] !== 0 ||
      reply[1] !== 0x4d || reply[2] !== 0x53 || reply[3] !== 0x02
    ) return;
    const seq = new DataView(reply.buffer, reply.byteOffset, FRAME_BYTES)
      .getUint32(4);
    if (seq >= count || answered[seq] === 1) return;
    answered[seq] = 1;
    lastReplyAt = performance.now();
    rtts.push(lastReplyAt - sentAt[seq]);
  });
  const start = performance.now();
  const end = start + seconds * 1000;
  let sent = 0;
  let nextSendAt = start;
  while (sent < count && performance.now() < end) {
    const now = performance.now();
    if (now < nextSendAt) {
      await new Promise((resolve) => setTimeout(resolve, nextSendAt - now));
      continue;
    }
    nextSendAt += intervalMs;
    requestView.setUint32(4, sent);
    sentAt[sent] = performance.now();
    await new Promise<void>((resolve) =>
      socket.send(request, port, group, () => resolve())
    );
    sent++;
  }
  const lastSentAt = performance.now();
  while (
    rtts.length < sent &&
    performance.now() - Math.max(lastReplyAt, lastSentAt) < 500
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await closeSocket(socket);
  printResult({
    sent,
    replies: rtts.length,
    seconds: (lastReplyAt - start) / 1000,
    p50Ms: percentile(rtts, 50),
    p99Ms: percentile(rtts, 99),
  });
}

if (import.meta.main) {
  await clientMain("raw_client.ts", { pingpong: pingPong, fanin: fanIn, load });
}
