/**
 * mcast mesh: the all-to-all multicast check (`mcast mesh` on the command
 * line). Run the same `mesh()` on every node of a segment: each joins the
 * group, sends a numbered probe to it every interval and by unicast to
 * every peer it knows, answers the others' probes and shares what it
 * hears, so every node (and a passive watcher) ends with the whole matrix
 * of who hears whom, multicast beside unicast, and a verdict naming every
 * failing pair and whether unicast works for it.
 *
 * An entry point of its own beside `mod.ts` (which keeps its 60 names);
 * like it, free of side effects and of bare specifiers.
 *
 * @example A mesh of one on loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { mesh } from "./mesh.ts";
 * let last;
 * for await (
 *   const event of mesh({
 *     group: "239.77.21.8", port: 0, interface: "127.0.0.1",
 *     allowFrom: ["127.0.0.0/8"], intervalMs: 20, count: 2,
 *   })
 * ) last = event;
 * assert.equal(last?.event, "matrix");
 * ```
 *
 * @module
 */

export {
  mesh,
  type MeshDropEvent,
  type MeshEvent,
  type MeshFailure,
  type MeshIntervalEvent,
  type MeshMatrixEvent,
  type MeshOptions,
  type MeshPair,
  type MeshPeerEvent,
  type MeshReadyEvent,
} from "./lib/mesh/mesh.ts";
export type { RttPercentiles } from "./lib/mesh/rtt_histogram.ts";

// The types the options and events above name, as in mod.ts.
export type { Family } from "./lib/address.ts";
export type { MulticastGroup } from "./lib/group.ts";
export type { RateLimitOptions } from "./lib/safety/rate_limiter.ts";
export type {
  DatagramHandler,
  Peer,
  Transport,
  TransportFactory,
  TransportOpenOptions,
} from "./lib/transports/transport.ts";
