/**
 * The self-test on one interface: join the group there, send one
 * datagram to it with loopback on, and wait a bounded time for it to come
 * back. It stays on this host: over the ffi transport the TTL is 0 (the
 * kernel delivers the loopback copy and sends nothing out); where only
 * `node:dgram` is available, which refuses TTL 0, it is 1 (the local
 * segment of the interface under test, nowhere further).
 *
 * @module
 */

import { errorText } from "../lib/errors.ts";
import { type InterfaceEntry, resolveInterface } from "../lib/interface.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import type { Transport } from "../lib/transports/transport.ts";
import type { DoctorTarget, SelfTestResult } from "./facts.ts";

/** How long a self-test waits for its datagram. */
export const SELF_TEST_WAIT_MS = 300;

/** Where and how to run one self-test. */
export interface SelfTestOptions {
  /** The interface by name, or undefined for the OS's choice (as without -i). */
  iface?: string;
  /** The host's interfaces, to turn a name into what the socket takes. */
  interfaces: InterfaceEntry[];
  /** How long to wait for the datagram. @default {SELF_TEST_WAIT_MS} */
  waitMs?: number;
}

function waitFor(
  socket: Transport,
  payload: string,
  waitMs: number,
): Promise<number | undefined> {
  const started = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), waitMs);
    socket.onDatagram((data) => {
      if (new TextDecoder().decode(data) !== payload) return;
      clearTimeout(timer);
      resolve(Math.round((performance.now() - started) * 100) / 100);
    });
  });
}

async function close(...sockets: (Transport | undefined)[]): Promise<void> {
  await Promise.allSettled(sockets.map((s) => s?.close()));
}

/**
 * Runs the self-test for `target` on one interface.
 *
 * @example
 * ```ts ignore
 * import { runSelfTest } from "./self_test.ts";
 * const result = await runSelfTest(
 *   { group: "239.1.1.1", family: "IPv4", port: 5000 },
 *   { iface: "lo", interfaces: [{ name: "lo", family: "IPv4", address: "127.0.0.1" }] },
 * );
 * ```
 */
export async function runSelfTest(
  target: DoctorTarget,
  options: SelfTestOptions,
): Promise<SelfTestResult> {
  const ffi = ffiTransportAvailable();
  const open = ffi ? openFfiTransport : openDgramTransport;
  const ttl = ffi ? 0 : 1;
  const waitMs = options.waitMs ?? SELF_TEST_WAIT_MS;
  const base = options.iface === undefined
    ? { ttl }
    : { iface: options.iface, ttl };
  const any = target.family === "IPv4" ? "0.0.0.0" : "::";
  let receiver: Transport | undefined;
  let sender: Transport | undefined;
  let step: SelfTestResult["outcome"] = "open";
  try {
    receiver = await open({
      family: target.family,
      address: target.family === "IPv4" ? target.group : any,
      port: target.port,
      reuseAddress: true,
    });
    sender = await open({
      family: target.family,
      address: any,
      port: 0,
      reuseAddress: false,
    });
    step = "join";
    const spec = options.iface === undefined
      ? undefined
      : resolveInterface(options.iface, target.family, options.interfaces);
    await receiver.join(target.group, spec);
    step = "send";
    sender.setTtl(ttl);
    sender.setLoopback(true);
    if (spec !== undefined) sender.setInterface(spec);
    const payload = `mcast doctor ${crypto.randomUUID()}`;
    const arrived = waitFor(receiver, payload, waitMs);
    await sender.send(
      new TextEncoder().encode(payload),
      target.port,
      target.group,
    );
    const ms = await arrived;
    return ms === undefined
      ? { ...base, outcome: "timeout", waitedMs: waitMs }
      : { ...base, outcome: "received", ms };
  } catch (error) {
    return { ...base, outcome: step, error: errorText(error) };
  } finally {
    await close(receiver, sender);
  }
}
