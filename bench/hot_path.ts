/**
 * mcast's own cost per datagram, without sockets: `listen()` over an
 * in-memory transport whose receive handler is called in a tight loop
 * with the same 64-byte datagram; sends resolve at once. What is left is
 * the work of `lib/listener/listen.ts`, `lib/dispatch.ts`, the codec and
 * the responder, next to a bare counting handler (the loop's own cost).
 * Prints one JSON line: nanoseconds per datagram for each variant of
 * {@linkcode HOT_PATH_VARIANTS}.
 *
 * Run: `deno run --allow-sys=networkInterfaces bench/hot_path.ts [--quick]`
 *
 * @module
 */

import { listen, type ListenOptions } from "../lib/listener/listen.ts";
import type { DatagramHandler, Peer } from "../lib/transports/transport.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { silent } from "../plugins/responders/silent.ts";
import { memoryTransport } from "../tests/support/memory_transport.ts";
import { LOOPBACK } from "./addresses.ts";

const CHUNK = 1000;

/**
 * Calls `handler` `count` times (or for `seconds`), letting queued
 * promise reactions run every CHUNK calls.
 */
async function time(
  handler: DatagramHandler,
  count: number,
  seconds: number,
): Promise<number> {
  const data = new TextEncoder().encode("p".repeat(64));
  const from: Peer = { address: LOOPBACK, port: 40000, family: "IPv4" };
  const warmup = Math.min(count, 20_000);
  for (let i = 0; i < warmup; i += CHUNK) {
    for (let j = 0; j < CHUNK; j++) handler(data, from);
    await Promise.resolve();
  }
  const start = performance.now();
  const end = start + seconds * 1000;
  let done = 0;
  while (done < count && performance.now() < end) {
    for (let j = 0; j < CHUNK; j++) handler(data, from);
    done += CHUNK;
    // Lets the promise reactions of the chunk's sends run.
    await Promise.resolve();
  }
  return ((performance.now() - start) * 1e6) / done;
}

async function viaListen(
  options: Omit<ListenOptions, "transport">,
  count: number,
  seconds: number,
): Promise<number> {
  // In memory: joins and options are no-ops, every send resolves at once.
  const memory = memoryTransport("239.50.0.1", 50000);
  // Spread from a variable so this compiles against a listen() without it.
  const limits = { rateLimit: false as const };
  const listener = await listen({
    ...options,
    ...limits,
    group: "239.50.0.1",
    port: 50000,
    interface: LOOPBACK,
    transport: () => Promise.resolve(memory.transport),
  });
  try {
    return await time(memory.deliver(), count, seconds);
  } finally {
    await listener.close();
  }
}

/** What is measured: a listener configuration, or the bare loop. */
export interface HotPathVariant {
  /** Stable id (JSON key). */
  id: string;
  /** Human name. */
  label: string;
  /** The listener's options; the bare counting handler when absent. */
  options?: () => Omit<ListenOptions, "transport">;
}

const ACK_BYTES = new TextEncoder().encode("ack");

/** The variants, the bare loop first. */
export const HOT_PATH_VARIANTS: readonly HotPathVariant[] = [
  { id: "bare", label: "bare counting handler (the loop itself)" },
  {
    id: "silent-raw",
    label: "listen() silent, no codec",
    options: () => ({ responder: silent() }),
  },
  {
    id: "silent-text",
    label: "listen() silent, text codec",
    options: () => ({ responder: silent(), codec: text() }),
  },
  {
    id: "silent-text-events",
    label: "listen() silent, text codec, onEvent no-op",
    options: () => ({ responder: silent(), codec: text(), onEvent: () => {} }),
  },
  {
    id: "bytes-raw",
    label: "listen() reply with pre-encoded bytes, no codec",
    options: () => ({ responder: { name: "bytes", respond: () => ACK_BYTES } }),
  },
  {
    id: "ack-raw",
    label: "listen() ack, no codec",
    options: () => ({ responder: ack() }),
  },
  {
    id: "ack-text",
    label: "listen() ack, text codec",
    options: () => ({ responder: ack(), codec: text() }),
  },
];

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const count = quick ? 20_000 : 2_000_000;
  const seconds = quick ? 0.1 : 0.5;
  const result: Record<string, number> = {};
  for (const variant of HOT_PATH_VARIANTS) {
    let counted = 0;
    result[variant.id] = variant.options === undefined
      ? await time(() => counted++, count, seconds)
      : await viaListen(variant.options(), count, seconds);
  }
  console.log(JSON.stringify(result));
}
