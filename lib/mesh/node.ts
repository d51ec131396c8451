/**
 * One running mesh node: its socket (bound to the wildcard address on the
 * mesh's port, joined to the group, loopback on so its own probe tells it
 * its address), its state, intake and rounds, and the queue its events
 * wait in. `finish` is the clean stop: goodbye, the final matrix, leave,
 * close.
 *
 * @module
 */

import { addressFamily, formatEndpoint } from "../address.ts";
import { errorText } from "../errors.ts";
import type { Transport } from "../transports/transport.ts";
import { MeshDrops } from "./drops.ts";
import { EventQueue } from "./event_queue.ts";
import type { MeshEvent, MeshMatrixEvent } from "./events.ts";
import { canonicalHost } from "./hosts.ts";
import { createMeshIntake, type MeshIntake } from "./intake.ts";
import type { MeshPlan } from "./options.ts";
import { MeshRounds } from "./rounds.ts";
import { MeshState } from "./state.ts";
import { MAX_MESH_DATAGRAM_BYTES } from "./wire.ts";

/** The longest a node waits for its own first probe to come back before it says it is ready. */
const SELF_WAIT_MS = 1000;

/** Opens, binds and joins the node's socket; closes it again on failure. */
async function openSocket(plan: MeshPlan): Promise<Transport> {
  const transport = await plan.open({
    family: plan.family,
    address: plan.family === "IPv4" ? "0.0.0.0" : "::",
    port: plan.port,
    reuseAddress: true,
    receiveBytes: 2 * MAX_MESH_DATAGRAM_BYTES,
    destinations: true,
  });
  try {
    await transport.join(plan.group, plan.iface);
    transport.setLoopback(true);
    if (!plan.watch) {
      transport.setTtl(plan.ttl);
      if (plan.iface !== undefined) transport.setInterface(plan.iface);
    }
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}

/**
 * This node's address as a guess from the interface, for when its own
 * probe does not come back: an IPv4 interface address as given, else an
 * address of the named interface (link-local for a link-local group).
 */
function guessSelf(plan: MeshPlan): string | undefined {
  if (plan.iface !== undefined && addressFamily(plan.iface) === "IPv4") {
    return plan.iface;
  }
  if (plan.zone === undefined) return undefined;
  let list: Deno.NetworkInterfaceInfo[];
  try {
    list = Deno.networkInterfaces();
  } catch {
    return undefined;
  }
  const own = list.filter((entry) =>
    entry.name === plan.zone && entry.family === plan.family
  );
  const linkLocal = (entry: Deno.NetworkInterfaceInfo) =>
    /^fe[89ab][0-9a-f]:/i.test(entry.address);
  const wantLinkLocal = /^ff[0-9a-f]2:/i.test(plan.group);
  const best = own.find((entry) => linkLocal(entry) === wantLinkLocal) ??
    own[0];
  return best === undefined ? undefined : canonicalHost(best.address);
}

/** Sends one datagram, signed when there is a key; a failure is a `sendFailed` drop, never a throw. */
function sender(plan: MeshPlan, transport: Transport, drops: MeshDrops) {
  return (bytes: Uint8Array, address: string, port: number): Promise<void> => {
    const datagram = plan.auth === undefined
      ? bytes
      : plan.auth.signRequest(bytes).datagram;
    let sending: Promise<void>;
    try {
      sending = transport.send(datagram, port, address);
    } catch (error) {
      sending = Promise.reject(error);
    }
    return sending.catch((error) =>
      drops.report(
        "sendFailed",
        canonicalHost(address),
        `Cannot send to ${formatEndpoint(address, port)}: ${errorText(error)}`,
      )
    );
  };
}

/**
 * A running mesh node.
 *
 * @example Run a node until aborted (`mesh()` does this)
 * ```ts ignore
 * import { planMesh } from "./options.ts";
 * import { MeshNode } from "./node.ts";
 * const controller = new AbortController();
 * const node = await MeshNode.start(
 *   planMesh({ group: "239.77.21.1", interface: "eth0", signal: controller.signal }),
 * );
 * setTimeout(() => controller.abort(), 10_000);
 * for await (const event of node.events()) console.log(event.event);
 * ```
 */
export class MeshNode {
  readonly #plan: MeshPlan;
  readonly #transport: Transport;
  readonly #queue = new EventQueue<MeshEvent>();
  readonly #drops: MeshDrops;
  readonly #state: MeshState;
  readonly #intake: MeshIntake;
  readonly #rounds: MeshRounds;
  #selfFound: (() => void) | undefined;
  #durationTimer: ReturnType<typeof setTimeout> | undefined;
  #finishing: Promise<void> | undefined;
  readonly #abort = () => void this.finish();

  private constructor(plan: MeshPlan, transport: Transport) {
    this.#plan = plan;
    this.#transport = transport;
    const queue = this.#queue;
    this.#drops = new MeshDrops((event) => queue.push(event));
    this.#state = new MeshState(plan, (event) => queue.push(event));
    const send = sender(plan, transport, this.#drops);
    this.#intake = createMeshIntake(plan, this.#state, {
      drops: this.#drops,
      send: (bytes, address, port) => void send(bytes, address, port),
      foundSelf: (address) => this.#foundSelf(address),
      reusesBuffers: transport.reusesBuffers,
    });
    this.#rounds = new MeshRounds(plan, this.#state, {
      port: transport.localAddress().port,
      send,
      // An interval event is the matrix so far: one the reader has not
      // taken yet is replaced by the next (a lagging reader, as on a host
      // short of CPU, would otherwise hold every round's matrix).
      emit: (event) =>
        queue.pushLatest(event, (waiting) => waiting.event === "interval"),
      done: () => void this.finish(),
    });
    transport.onDatagram(this.#intake.receive);
    transport.onError((error) =>
      this.#drops.report("sendFailed", "", `Socket error: ${errorText(error)}`)
    );
  }

  /**
   * Opens the socket, sends the first probe, waits (a second at most) for
   * it to come back with this node's address, and starts the rounds.
   *
   * @param plan The checked options.
   * @returns The running node; its first event is `ready`.
   * @throws {SocketError} when the socket cannot bind or join.
   */
  static async start(plan: MeshPlan): Promise<MeshNode> {
    const node = new MeshNode(plan, await openSocket(plan));
    await node.#begin();
    return node;
  }

  async #begin(): Promise<void> {
    const plan = this.#plan;
    const state = this.#state;
    // The first round's probes (a watcher only counts the round).
    this.#rounds.probe();
    if (!plan.watch) {
      const found = new Promise<void>((resolve) => {
        this.#selfFound = resolve;
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        found,
        new Promise((resolve) => {
          timer = setTimeout(resolve, Math.min(plan.intervalMs, SELF_WAIT_MS));
        }),
      ]);
      clearTimeout(timer);
      this.#selfFound = undefined;
      if (state.self === undefined) this.#setSelf(guessSelf(plan));
    }
    this.#queue.pushFirst({
      event: "ready",
      time: new Date().toISOString(),
      self: plan.watch ? "" : state.self ?? "",
      group: plan.group,
      port: this.#transport.localAddress().port,
      family: plan.family,
      watch: plan.watch,
    });
    if (plan.signal?.aborted) return void this.finish();
    plan.signal?.addEventListener("abort", this.#abort, { once: true });
    if (plan.durationMs !== undefined) {
      this.#durationTimer = setTimeout(this.#abort, plan.durationMs);
    }
    this.#rounds.start();
  }

  #foundSelf(address: string): void {
    if (address === this.#state.self) return;
    this.#setSelf(address);
    this.#selfFound?.();
  }

  #setSelf(address: string | undefined): void {
    if (address === undefined) return;
    this.#state.self = address;
    // A listed peer that is this node is no peer.
    this.#state.peers.delete(address);
  }

  /** The events, in order, until the final matrix. */
  events(): AsyncIterable<MeshEvent> {
    return this.#queue;
  }

  /** The clean stop (idempotent): goodbye, the final matrix, leave, close. */
  finish(): Promise<void> {
    this.#finishing ??= this.#finish();
    return this.#finishing;
  }

  async #finish(): Promise<void> {
    const plan = this.#plan;
    this.#rounds.stop();
    clearTimeout(this.#durationTimer);
    plan.signal?.removeEventListener("abort", this.#abort);
    await this.#rounds.goodbye();
    this.#intake.stop();
    this.#drops.stop();
    this.#queue.push(this.#finalMatrix());
    try {
      await this.#transport.leave(plan.group, plan.iface);
    } catch {
      // Closing the socket leaves the group anyway.
    }
    await this.#transport.close();
    this.#queue.end();
  }

  #finalMatrix(): MeshMatrixEvent {
    const state = this.#state;
    const matrix = state.matrix();
    const verdict = state.verdict(matrix);
    return {
      event: "matrix",
      time: new Date().toISOString(),
      self: this.#plan.watch ? "" : state.self ?? "",
      hosts: matrix.hosts,
      pairs: matrix.pairs,
      ...verdict,
    };
  }
}
