/**
 * A mesh node's clock: once a round (every `intervalMs`, without drift)
 * it sends its numbered probe to the group and to every peer it knows,
 * marks silent peers gone, shares its row (with the group, and by
 * unicast with the peers its multicast does not reach), and yields the
 * matrix so far. After `count` probes it waits two rounds, still
 * answering and sharing its row, then ends; a watcher only yields the
 * matrix.
 *
 * @module
 */

import { AUTH_OVERHEAD } from "../safety/auth.ts";
import type { MeshIntervalEvent } from "./events.ts";
import type { MeshPlan } from "./options.ts";
import type { MeshState } from "./state.ts";
import {
  encodeGoodbye,
  encodeProbe,
  encodeRow,
  MAX_MESH_DATAGRAM_BYTES,
} from "./wire.ts";

/** Rounds a node waits after its last probe, sharing its final row, before it ends. */
export const FINAL_ROUNDS = 2;

/** What the rounds need from the node. */
export interface RoundSteps {
  /** The socket's port (the one every node uses). */
  port: number;
  /** Sends one datagram (signed with the key, if any); resolves once it left or failed. */
  send(bytes: Uint8Array, address: string, port: number): Promise<void>;
  /** Receives each round's matrix. */
  emit(event: MeshIntervalEvent): void;
  /** Called once, when the last round is done (after `count` probes and the wait). */
  done(): void;
}

/**
 * The clock of a mesh node.
 *
 * @example One round's probes, by hand (no timer, no socket)
 * ```ts
 * import assert from "node:assert/strict";
 * import { planMesh } from "./options.ts";
 * import { MeshRounds } from "./rounds.ts";
 * import { MeshState } from "./state.ts";
 * import { decodeMeshDatagram } from "./wire.ts";
 * const plan = planMesh({ group: "239.77.21.1", peers: ["10.77.1.7"], allowFrom: ["10.77.0.0/16"] });
 * const sent: string[] = [];
 * const rounds = new MeshRounds(plan, new MeshState(plan, () => {}), {
 *   port: 10000,
 *   send: (bytes, address) => {
 *     const probe = decodeMeshDatagram(bytes);
 *     if (probe.kind === "probe") sent.push(`${probe.via} ${probe.seq} to ${address}`);
 *     return Promise.resolve();
 *   },
 *   emit: () => {},
 *   done: () => {},
 * });
 * rounds.probe();
 * assert.deepEqual(sent, ["multicast 1 to 239.77.21.1", "unicast 1 to 10.77.1.7"]);
 * ```
 */
export class MeshRounds {
  readonly #plan: MeshPlan;
  readonly #state: MeshState;
  readonly #steps: RoundSteps;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #start = 0;
  #ticks = 0;
  #tail = 0;
  #rounds = 0;
  #stopped = false;

  /**
   * Prepares the clock; nothing is sent before {@linkcode MeshRounds.probe}.
   *
   * @param plan The checked options.
   * @param state The node's state.
   * @param steps Sending, events and the end.
   */
  constructor(plan: MeshPlan, state: MeshState, steps: RoundSteps) {
    this.#plan = plan;
    this.#state = state;
    this.#steps = steps;
  }

  /**
   * Sends the next round's probes: to the group, then to every peer
   * known; after `count` rounds, none (the rows then say so).
   */
  probe(): void {
    const plan = this.#plan;
    const state = this.#state;
    if (plan.count !== undefined && this.#rounds >= plan.count) {
      state.final = true;
      return;
    }
    this.#rounds++;
    // A watcher keeps the rounds (for count) and sends nothing.
    if (plan.watch) return;
    const seq = ++state.round;
    const { runId } = state;
    const { intervalMs, group } = plan;
    const now = performance.now();
    state.sent("multicast", seq, now);
    this.#steps.send(
      encodeProbe({ seq, via: "multicast", runId, intervalMs }),
      group,
      this.#steps.port,
    );
    state.sent("unicast", seq, now);
    const unicast = encodeProbe({ seq, via: "unicast", runId, intervalMs });
    for (const peer of state.probeTargets()) {
      if (peer.probedSince === 0) peer.probedSince = seq;
      this.#steps.send(unicast, peer.sendAddress, this.#steps.port);
    }
  }

  /**
   * The rest of a round after its probes: gone peers, the row, the
   * interval event; then the end once the final rounds are over.
   */
  share(): void {
    const state = this.#state;
    const now = performance.now();
    state.checkGone(now);
    if (!this.#plan.watch && state.self !== undefined) this.#sendRow(now);
    const { hosts, pairs } = state.matrix();
    this.#steps.emit({
      event: "interval",
      time: new Date().toISOString(),
      probesSent: state.round,
      hosts,
      pairs,
    });
    if (state.final && ++this.#tail >= FINAL_ROUNDS) {
      this.stop();
      this.#steps.done();
    }
  }

  #sendRow(now: number): void {
    const plan = this.#plan;
    const state = this.#state;
    const room = MAX_MESH_DATAGRAM_BYTES -
      (plan.auth === undefined ? 0 : AUTH_OVERHEAD);
    const chunks = encodeRow(
      {
        round: state.round,
        runId: state.runId,
        intervalMs: plan.intervalMs,
        family: plan.family,
        final: state.final,
      },
      state.ownEntries(),
      room,
    );
    const { port } = this.#steps;
    for (const chunk of chunks) this.#steps.send(chunk, plan.group, port);
    for (const peer of state.rowTargets(now)) {
      for (const chunk of chunks) {
        this.#steps.send(chunk, peer.sendAddress, port);
      }
    }
  }

  /** Starts the rounds: the first one's rest now (its probes went already), the next ones an interval apart. */
  start(): void {
    this.#start = performance.now();
    this.#ticks = 0;
    this.share();
    if (!this.#stopped) this.#schedule();
  }

  #schedule(): void {
    const { intervalMs } = this.#plan;
    const now = performance.now();
    // Held up by more than a round (a busy host): go on from now rather
    // than send the missed rounds in a burst.
    if (this.#start + this.#ticks * intervalMs < now - intervalMs) {
      this.#start = now - this.#ticks * intervalMs;
    }
    const next = this.#start + ++this.#ticks * intervalMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      this.probe();
      this.share();
      if (!this.#stopped) this.#schedule();
    }, Math.max(0, next - now));
  }

  /**
   * Says goodbye to the group and to every peer probed (when this node
   * sent any probe), and resolves once those left.
   */
  async goodbye(): Promise<void> {
    const state = this.#state;
    if (this.#plan.watch || state.round === 0) return;
    const bytes = encodeGoodbye({ seq: state.round, runId: state.runId });
    const { port } = this.#steps;
    await Promise.all([
      this.#steps.send(bytes, this.#plan.group, port),
      ...state.probeTargets().map((peer) =>
        this.#steps.send(bytes, peer.sendAddress, port)
      ),
    ]);
  }

  /** Stops the clock. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
