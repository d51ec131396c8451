/**
 * `mesh()`: the all-to-all multicast check, the same call on every node
 * of a segment (issue 21). Each node joins the group, sends a numbered
 * probe to it every interval and by unicast to every peer it knows,
 * answers the others' probes, and shares its row, so that every node, and
 * a passive watcher, holds the whole matrix of who hears whom, multicast
 * beside unicast, and a verdict that names every failing pair.
 *
 * The parts: the wire (`wire.ts`, `rows.ts`), the counts (`peer_stats.ts`,
 * `sequence_counts.ts`, `rtt_histogram.ts`), the node (`node.ts`:
 * `intake.ts`, `rounds.ts`, `state.ts`, `drops.ts`), and the matrix and
 * verdict (`matrix.ts`, `verdict.ts`).
 *
 * @module
 */

import type { MeshEvent } from "./events.ts";
import { MeshNode } from "./node.ts";
import { type MeshOptions, planMesh } from "./options.ts";

export type { MeshOptions } from "./options.ts";
export type {
  MeshDropEvent,
  MeshEvent,
  MeshFailure,
  MeshIntervalEvent,
  MeshMatrixEvent,
  MeshPair,
  MeshPeerEvent,
  MeshReadyEvent,
} from "./events.ts";

/**
 * Runs a mesh node until `count` probes (and two rounds more), until
 * `durationMs`, or until `signal` aborts, yielding its events: `ready`
 * first, `peer`, `interval` and `drop` events as they come, and the
 * `matrix` event with the verdict last. All options are checked before
 * any socket opens. Breaking out of the loop stops the node cleanly
 * (goodbye, leave, close).
 *
 * One node per address: nodes are told apart by their address, so
 * several on one host (all 127.0.0.1 on loopback) cannot measure each
 * other; run them in network namespaces.
 *
 * @param options Group, port, interface, timing, peers, verdict rules, safety.
 * @returns The node's events.
 * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
 * @throws {SocketError} when the socket cannot bind or join.
 *
 * @example A mesh of one on loopback, three probes
 * ```ts
 * import assert from "node:assert/strict";
 * import { mesh } from "./mesh.ts";
 * const kinds: string[] = [];
 * for await (
 *   const event of mesh({
 *     group: "239.77.21.9", port: 0, interface: "127.0.0.1",
 *     allowFrom: ["127.0.0.0/8"], intervalMs: 20, count: 3,
 *   })
 * ) {
 *   kinds.push(event.event);
 *   if (event.event === "matrix") assert.equal(event.self, "127.0.0.1");
 * }
 * assert.equal(kinds[0], "ready");
 * assert.equal(kinds.at(-1), "matrix");
 * ```
 */
export async function* mesh(
  options: MeshOptions = {},
): AsyncGenerator<MeshEvent, void, undefined> {
  const plan = planMesh(options);
  const node = await MeshNode.start(plan);
  try {
    yield* node.events();
  } finally {
    await node.finish();
  }
}
