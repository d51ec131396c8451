/**
 * mcast's own client path: `send()` from `lib/sender/send.ts`, either one
 * call per request (closed loop, like the raw ping-pong client) or one call in
 * its sequence-numbered load mode (open loop). Prints one JSON line
 * (`../client_protocol.ts`).
 *
 * - `pingpong GROUP PORT COUNT SECONDS SIZE WARMUP`: per round trip one
 *   `send()` call (open a socket, send, stop at the first reply, close);
 *   WARMUP calls first, not counted; stops after COUNT counted round
 *   trips or SECONDS.
 * - `pingpong-sender GROUP PORT COUNT SECONDS SIZE WARMUP`: the same with
 *   one {@linkcode Sender} kept open: per round trip one `sender.send()`
 *   run over the same socket, as the raw client does.
 * - `fanin GROUP PORT ROUNDS EXPECTED TIMEOUT_MS WARMUP`: per round one
 *   `send()` call, left as soon as EXPECTED replies have come (or after
 *   TIMEOUT_MS); the time counted runs from the call to the last reply;
 *   WARMUP rounds first, not counted.
 * - `load GROUP PORT COUNT SECONDS SIZE RATE`: one `send()` call in load
 *   mode: `count` COUNT, `rate` RATE (0: `interval` 0, back to back),
 *   `sequence: true`, `timeout` 500 ms; aborted after SECONDS. Round-trip
 *   times come from its summary.
 *
 * Sends only through 127.0.0.1 (`interface`), TTL 1 (`ttl: 0` fails with
 * EINVAL on Deno 2.9.6's `node:dgram`).
 *
 * Run: `deno run --allow-net bench/clients/mcast_client.ts fanin 239.50.0.1 50000 20 10 1000 2`
 *
 * @module
 */

import { send } from "../../lib/sender/send.ts";
import { Sender, type SendSummary } from "../../lib/sender/sender.ts";
import { text } from "../../plugins/codecs/text.ts";
import { LOOPBACK } from "../addresses.ts";
import { clientMain, printResult } from "../client_protocol.ts";
import { percentile } from "../stats.ts";

const PER_REQUEST_TIMEOUT_MS = 100;

/** Runs one `send()` call until `expected` replies; resolves with the time, or NaN. */
async function ask(
  message: string,
  group: string,
  port: number,
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const start = performance.now();
  let replies = 0;
  for await (
    const event of send(message, {
      group,
      port,
      interface: LOOPBACK,
      ttl: 1,
      codec: text(),
      timeout: timeoutMs,
    })
  ) {
    if (event.event === "reply" && ++replies === expected) {
      return performance.now() - start;
    }
  }
  return NaN;
}

/** One run of a kept-open sender until its first reply; resolves with the time, or NaN. */
async function askOver(sender: Sender, message: string): Promise<number> {
  const start = performance.now();
  for await (
    const event of sender.send(message, { timeout: PER_REQUEST_TIMEOUT_MS })
  ) {
    if (event.event === "reply") return performance.now() - start;
  }
  return NaN;
}

/** `pingpong` with one `send()` call per round trip. */
function pingPong(group: string, port: number, ...numbers: number[]) {
  return measurePingPong(
    (message) => ask(message, group, port, 1, PER_REQUEST_TIMEOUT_MS),
    numbers,
  );
}

/** `pingpong-sender`: one kept-open `Sender`, one run per round trip. */
async function pingPongSender(
  group: string,
  port: number,
  ...numbers: number[]
): Promise<void> {
  await using sender = await Sender.open({
    group,
    port,
    interface: LOOPBACK,
    ttl: 1,
    codec: text(),
  });
  await measurePingPong((message) => askOver(sender, message), numbers);
}

async function measurePingPong(
  roundTrip: (message: string) => Promise<number>,
  [count, seconds, size, warmup]: number[],
): Promise<void> {
  const message = "p".repeat(size);
  const end = performance.now() + seconds * 1000;
  for (let i = 0; i < warmup && performance.now() < end; i++) {
    await roundTrip(message);
  }
  const latencies: number[] = [];
  let timeouts = 0;
  const start = performance.now();
  while (latencies.length < count && performance.now() < end) {
    const took = await roundTrip(message);
    if (Number.isNaN(took)) timeouts++;
    else latencies.push(took);
  }
  printResult({
    roundTrips: latencies.length,
    timeouts,
    seconds: (performance.now() - start) / 1000,
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
  const times: number[] = [];
  let incomplete = 0;
  for (let round = -warmup; round < rounds; round++) {
    const took = await ask("who is there?", group, port, expected, timeoutMs);
    if (round < 0) continue;
    if (Number.isNaN(took)) incomplete++;
    else times.push(took);
  }
  printResult({
    rounds,
    incomplete,
    p50Ms: percentile(times, 50),
    p90Ms: percentile(times, 90),
  });
}

async function load(
  group: string,
  port: number,
  count: number,
  seconds: number,
  size: number,
  rate: number,
): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), seconds * 1000);
  const start = performance.now();
  let lastReplyAt = start;
  let summary: SendSummary | undefined;
  for await (
    const event of send("p".repeat(size), {
      group,
      port,
      interface: LOOPBACK,
      ttl: 1,
      codec: text(),
      count,
      ...(rate > 0 ? { rate } : { interval: 0 }),
      sequence: true,
      timeout: 500,
      signal: stop.signal,
    })
  ) {
    if (event.event === "reply") lastReplyAt = performance.now();
    else summary = event;
  }
  clearTimeout(timer);
  const responder = summary?.perResponder?.[0];
  const replies = responder === undefined
    ? 0
    : Math.round(summary!.sent * (1 - responder.lossPercent / 100));
  printResult({
    sent: summary?.sent ?? 0,
    replies,
    seconds: (lastReplyAt - start) / 1000,
    p50Ms: responder?.rttMs?.p50 ?? NaN,
    p99Ms: responder?.rttMs?.p99 ?? NaN,
  });
}

if (import.meta.main) {
  await clientMain("mcast_client.ts", {
    pingpong: pingPong,
    "pingpong-sender": pingPongSender,
    fanin: fanIn,
    load,
  });
}
