/**
 * A mesh node's way in: every datagram the socket delivers, from the
 * source filter through the signature check and decoding to the state,
 * with one drop reason for whatever is refused. A probe is counted and
 * answered (unless this node only watches), an answer timed, a row kept
 * without its forged entries, a goodbye noted. A bad datagram never stops
 * the node.
 *
 * @module
 */

import { addressKey, isMulticast } from "../address.ts";
import { errorText } from "../errors.ts";
import { AUTH_OVERHEAD, isSignedRequest } from "../safety/auth.ts";
import type { Peer } from "../address.ts";
import type { MeshDrops } from "./drops.ts";
import { canonicalHost } from "./hosts.ts";
import type { MeshPlan } from "./options.ts";
import { splitForged } from "./rows.ts";
import { MAX_MESH_HOSTS, type MeshState } from "./state.ts";
import {
  decodeMeshDatagram,
  encodeAnswer,
  MAX_MESH_DATAGRAM_BYTES,
  type MeshAnswer,
  type MeshDatagram,
  type MeshProbe,
  type MeshRowChunk,
} from "./wire.ts";

/** Which drop each authentication failure is. */
const AUTH_DROPS = {
  "unsigned": "unsigned",
  "bad-signature": "badSignature",
  "stale": "stale",
  "replayed": "replayed",
} as const;

/** What the intake needs besides the plan and the state. */
export interface IntakeSteps {
  /** Where drops are counted and said. */
  drops: MeshDrops;
  /** Sends one datagram (signed with the key, if any); never throws. */
  send(bytes: Uint8Array, address: string, port: number): void;
  /** Called once this node's own multicast probe comes back: its address as peers see it. */
  foundSelf(address: string): void;
  /** Whether the transport's receive data are reused after the call. */
  reusesBuffers: boolean;
}

/** The receive step of a mesh node. */
export interface MeshIntake {
  /** Takes one datagram, as the transport delivers it. */
  receive(data: Uint8Array, from: Peer, truncated?: boolean, to?: string): void;
  /** Stops taking datagrams (the node is closing). */
  stop(): void;
}

/**
 * Builds the receive step.
 *
 * @param plan The checked options.
 * @param state The node's state.
 * @param steps Drops, sending, and where this node's own address goes.
 * @returns The step; hand `receive` to `transport.onDatagram`.
 *
 * @example A probe from a peer is counted and answered
 * ```ts
 * import assert from "node:assert/strict";
 * import { MeshDrops } from "./drops.ts";
 * import { createMeshIntake } from "./intake.ts";
 * import { planMesh } from "./options.ts";
 * import { MeshState } from "./state.ts";
 * import { decodeMeshDatagram, encodeProbe } from "./wire.ts";
 * const plan = planMesh({ group: "239.77.21.1", allowFrom: ["10.77.0.0/16"] });
 * const state = new MeshState(plan, () => {});
 * const sent: Uint8Array[] = [];
 * const intake = createMeshIntake(plan, state, {
 *   drops: new MeshDrops(() => {}),
 *   send: (bytes) => sent.push(bytes),
 *   foundSelf: () => {},
 *   reusesBuffers: false,
 * });
 * const probe = encodeProbe({ seq: 4, via: "multicast", runId: "0123456789abcdef", intervalMs: 1000 });
 * intake.receive(probe, { address: "10.77.1.3", port: 10000, family: "IPv4" });
 * assert.equal(state.peers.get("10.77.1.3")?.heard.multicast.received, 1);
 * assert.equal(decodeMeshDatagram(sent[0]).kind, "answer");
 * ```
 */
export function createMeshIntake(
  plan: MeshPlan,
  state: MeshState,
  steps: IntakeSteps,
): MeshIntake {
  const { drops } = steps;
  const groupKey = addressKey(plan.group);
  const open = opener(plan, drops);
  const handle = handler(plan, state, steps);
  let stopped = false;
  const receive = (
    data: Uint8Array,
    from: Peer,
    truncated?: boolean,
    to?: string,
  ) => {
    if (stopped) return;
    // Another group's datagram on this port (where the socket can tell).
    if (to !== undefined && isMulticast(to) && addressKey(to) !== groupKey) {
      return;
    }
    const source = canonicalHost(from.address);
    if (!plan.filter.allows(from.address)) {
      drops.report(
        "refused",
        source,
        `Refused a datagram from ${source}: not a node this mesh counts (it counts ${
          plan.filter.ranges.join(", ") || "nobody"
        }; widen it with allowFrom / --allow-from)`,
      );
      return;
    }
    if (truncated === true || data.byteLength > MAX_MESH_DATAGRAM_BYTES) {
      drops.report(
        "malformed",
        source,
        `A datagram of ${data.byteLength}${
          truncated ? "+" : ""
        } bytes from ${source}: larger than any mesh datagram (${MAX_MESH_DATAGRAM_BYTES} bytes at most)`,
      );
      return;
    }
    const bytes = open(
      steps.reusesBuffers ? data.slice() : data,
      source,
    );
    if (bytes === undefined) return;
    let datagram: MeshDatagram;
    try {
      datagram = decodeMeshDatagram(bytes);
    } catch (error) {
      drops.report(
        "malformed",
        source,
        plan.auth === undefined && isSignedRequest(bytes)
          ? `From ${source}: a datagram signed with a key (--key-file), and this node has none: give it the same key`
          : `From ${source}: ${errorText(error)}`,
      );
      return;
    }
    handle(datagram, from, source, data.byteLength);
  };
  return {
    receive,
    stop() {
      stopped = true;
    },
  };
}

/** Opens a signed datagram (with a key), or reports why not. */
function opener(
  plan: MeshPlan,
  drops: MeshDrops,
): (bytes: Uint8Array, source: string) => Uint8Array | undefined {
  const auth = plan.auth;
  if (auth === undefined) return (bytes) => bytes;
  return (bytes, source) => {
    const opened = auth.openRequest(bytes);
    if (opened.ok) return opened.payload;
    const reason = AUTH_DROPS[opened.reason];
    const why = {
      unsigned: "not signed, and this mesh has a key",
      badSignature:
        "its signature does not verify (another key, or changed on the way)",
      stale: "signed too long ago (the two clocks disagree?)",
      replayed: "seen before (a replay, or a copy made on the way)",
    }[reason];
    drops.report(reason, source, `Refused a datagram from ${source}: ${why}`);
    return undefined;
  };
}

/** What to do with each kind of mesh datagram. */
function handler(
  plan: MeshPlan,
  state: MeshState,
  steps: IntakeSteps,
): (datagram: MeshDatagram, from: Peer, source: string, size: number) => void {
  const answer = answerer(plan, steps);
  const full = (source: string) =>
    steps.drops.report(
      "refused",
      source,
      `Ignored ${source} (or a node its row names): this node already knows ${MAX_MESH_HOSTS} nodes, as many as it keeps`,
    );
  return (datagram, from, source, size) => {
    const now = performance.now();
    if (datagram.kind !== "answer" && datagram.runId === state.runId) {
      // This node's own datagram, looped back: its source is this node.
      if (datagram.kind === "probe" && datagram.via === "multicast") {
        steps.foundSelf(source);
      }
      return;
    }
    switch (datagram.kind) {
      case "probe": {
        const { runId, intervalMs, seq } = datagram;
        const peer = state.peer(
          source,
          from.address,
          runId,
          intervalMs,
          now,
          seq,
        );
        if (peer === undefined) {
          return source === state.self ? undefined : full(source);
        }
        peer.probe(seq, datagram.via, now);
        if (!plan.watch) answer(datagram, from, source, size, now);
        return;
      }
      case "answer":
        return timeAnswer(state, datagram, from, source, now);
      case "row":
        return keepRow(state, steps, datagram, from, source, now) ||
          full(source);
      case "goodbye": {
        const peer = state.peers.get(source);
        if (peer?.runId === datagram.runId) state.goodbye(peer, datagram.seq);
        return;
      }
    }
  };
}

/** Answers a probe, within the size cap and the rate limits. */
function answerer(plan: MeshPlan, steps: IntakeSteps) {
  const overhead = plan.auth === undefined ? 0 : AUTH_OVERHEAD;
  return (
    probe: MeshProbe,
    from: Peer,
    source: string,
    probeBytes: number,
    now: number,
  ): void => {
    const answer = encodeAnswer({
      seq: probe.seq,
      via: probe.via,
      runId: probe.runId,
    });
    if (answer.byteLength + overhead > probeBytes) {
      steps.drops.report(
        "oversize",
        source,
        `Did not answer a probe of ${probeBytes} bytes from ${source}: the answer (${
          answer.byteLength + overhead
        } bytes) would be larger than the probe`,
      );
      return;
    }
    if (!plan.limiter.allow(from.address, now)) {
      const { limits, refusedBy } = plan.limiter;
      steps.drops.report(
        "rateLimited",
        source,
        refusedBy === "global"
          ? `Did not answer ${source}: over this node's limit on answers in total (${limits.global}/s, burst ${limits.globalBurst})`
          : `Did not answer ${source}: over the limit on answers to one node (${limits.perSource}/s, burst ${limits.perSourceBurst})`,
      );
      return;
    }
    steps.send(answer, from.address, from.port);
  };
}

/** Times an answer to one of this node's probes (answers to another run are not this node's). */
function timeAnswer(
  state: MeshState,
  answer: MeshAnswer,
  from: Peer,
  source: string,
  now: number,
): void {
  if (answer.runId !== state.runId) return;
  const rtt = state.roundTrip(answer.via, answer.seq, now);
  if (rtt === undefined) return;
  state.peer(source, from.address, "", undefined, now)
    ?.answer(answer.seq, answer.via, rtt, now);
}

/** Keeps a row chunk without its forged entries; false when the table is full. */
function keepRow(
  state: MeshState,
  steps: IntakeSteps,
  row: MeshRowChunk,
  from: Peer,
  source: string,
  now: number,
): boolean {
  const { kept, forged } = splitForged(row.entries, source);
  if (forged.length > 0) {
    const [first] = forged;
    steps.drops.report(
      "forged",
      source,
      `Ignored ${forged.length} entr${
        forged.length === 1 ? "y" : "ies"
      } of a row from ${source} for pairs it does not measure (such as ${first.from} -> ${first.to}): a node reports only what it heard`,
      forged.length,
    );
  }
  const peer = state.peer(source, from.address, row.runId, row.intervalMs, now);
  if (peer === undefined) return source === state.self;
  peer.row(row.round, row.final, now);
  return state.keepRow(source, { ...row, entries: kept });
}
