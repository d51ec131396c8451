/**
 * What a running mesh node knows: its own run and round, each peer's
 * counts (`peer_stats.ts`), the latest row of each peer, when its own
 * probes left (for round trips), and who has left. It builds this node's
 * row, the matrix and the verdict from them. No sockets: the intake feeds
 * it, the rounds read it.
 *
 * @module
 */

import type { MeshPeerEvent } from "./events.ts";
import { buildMatrix, type Matrix, type Report } from "./matrix.ts";
import type { MeshPlan } from "./options.ts";
import { PeerStats, type PerVia } from "./peer_stats.ts";
import type { PeerLeft, RowEntry } from "./rows.ts";
import { judge, type Verdict } from "./verdict.ts";
import { newRunId, type ProbeVia } from "./wire.ts";

/**
 * Nodes a mesh node knows at most: its peers and every node the rows it
 * keeps name. A flood of sources or of forged names cannot grow its
 * memory further (at most this many squared row entries).
 */
export const MAX_MESH_HOSTS = 512;

/** Probes whose send time is kept to time their answers: answers later than this many rounds are ignored. */
const SENT_RING = 64;

/** A peer's latest row, merged over its chunks. */
interface StoredReport extends Report {
  runId: string;
  round: number;
  final: boolean;
  entries: Map<string, RowEntry>;
}

/**
 * The state of one mesh node.
 *
 * @example A peer heard, then its row: the matrix holds both directions
 * ```ts
 * import assert from "node:assert/strict";
 * import { planMesh } from "./options.ts";
 * import { MeshState } from "./state.ts";
 * const events: string[] = [];
 * const state = new MeshState(
 *   planMesh({ group: "239.77.21.1", allowFrom: ["10.77.0.0/16"] }),
 *   (event) => events.push(`${event.peer} ${event.state}`),
 * );
 * state.self = "10.77.1.2";
 * const peer = state.peer("10.77.1.3", "10.77.1.3", "0123456789abcdef", 1000, 0, 1)!;
 * peer.probe(1, "multicast", 0);
 * assert.deepEqual(events, ["10.77.1.3 joined"]);
 * const { pairs } = state.matrix();
 * assert.deepEqual(pairs.map((p) => `${p.from}>${p.to} ${p.state}`), [
 *   "10.77.1.2>10.77.1.3 unheard", // no row of 10.77.1.3's yet
 *   "10.77.1.3>10.77.1.2 ok",
 * ]);
 * ```
 */
export class MeshState {
  /** This node's run. */
  readonly runId: string = newRunId();
  /** This node's address as its peers see it, once known. */
  self: string | undefined;
  /** Rounds probed so far (the number of the latest probe). */
  round = 0;
  /** True once the last probe has left (rows then say so). */
  final = false;
  /** Peers by canonical address. */
  readonly peers: Map<string, PeerStats> = new Map();
  readonly #plan: MeshPlan;
  /** Every node known: peers, reporters, and the nodes their rows name. */
  readonly #hosts = new Set<string>();
  readonly #reports = new Map<string, StoredReport>();
  readonly #sentAt: PerVia<Float64Array> = {
    multicast: new Float64Array(SENT_RING),
    unicast: new Float64Array(SENT_RING),
  };
  readonly #sentSeq: PerVia<Uint32Array> = {
    multicast: new Uint32Array(SENT_RING),
    unicast: new Uint32Array(SENT_RING),
  };
  readonly #onPeer: (event: MeshPeerEvent) => void;

  /**
   * Starts a node's state: the listed peers are known (and probed) from
   * the start.
   *
   * @param plan The checked options.
   * @param onPeer Receives `peer` events.
   */
  constructor(plan: MeshPlan, onPeer: (event: MeshPeerEvent) => void) {
    this.#plan = plan;
    this.#onPeer = onPeer;
    for (const [address, sendTo] of plan.peers) {
      this.#hosts.add(address);
      this.peers.set(
        address,
        new PeerStats(address, sendTo, "", plan.intervalMs, 0),
      );
    }
  }

  #say(peer: string, state: MeshPeerEvent["state"], firstSeq?: number): void {
    this.#onPeer({
      event: "peer",
      time: new Date().toISOString(),
      peer,
      state,
      ...(firstSeq === undefined ? {} : { firstSeq }),
    });
  }

  /**
   * The peer a datagram came from, made or renewed as needed: a new
   * address is a new peer, a new run on a known address starts its
   * counts afresh. `undefined` when the table is full or the address is
   * this node's own.
   *
   * @param address Its canonical address.
   * @param sendTo Its address as the socket gave it (with an IPv6 zone).
   * @param runId The run its datagram names (`""` for an answer, which names this node's run).
   * @param intervalMs Its probe interval, when its datagram says.
   * @param now The time.
   * @param firstSeq For the `joined` event: the number of the probe that made it.
   */
  peer(
    address: string,
    sendTo: string,
    runId: string,
    intervalMs: number | undefined,
    now: number,
    firstSeq?: number,
  ): PeerStats | undefined {
    if (address === this.self) return undefined;
    const known = this.peers.get(address);
    if (known !== undefined && (runId === "" || known.runId === runId)) {
      return this.#renew(known, intervalMs, now);
    }
    if (known !== undefined && known.runId === "") {
      known.runId = runId;
      this.#say(address, "joined", firstSeq);
      return this.#renew(known, intervalMs, now);
    }
    if (known === undefined && !this.#know(address)) return undefined;
    const fresh = new PeerStats(
      address,
      sendTo,
      runId,
      intervalMs ?? this.#plan.intervalMs,
      now,
    );
    fresh.lastHeardAt = now;
    this.peers.set(address, fresh);
    if (runId !== "") this.#say(address, "joined", firstSeq);
    return fresh;
  }

  /** Whether `address` is known, or now is (false when the table is full). */
  #know(address: string): boolean {
    if (this.#hosts.has(address)) return true;
    if (this.#hosts.size >= MAX_MESH_HOSTS) return false;
    this.#hosts.add(address);
    return true;
  }

  /** A known peer heard again: back from `gone` if it fell silent. */
  #renew(peer: PeerStats, intervalMs: number | undefined, now: number) {
    if (intervalMs !== undefined) peer.intervalMs = intervalMs;
    peer.heardFrom(now);
    if (peer.left === "gone") {
      peer.left = null;
      this.#say(peer.address, "joined");
    }
    return peer;
  }

  /** A peer said goodbye: its counts stop there. */
  goodbye(peer: PeerStats, lastSeq: number): void {
    peer.claim(lastSeq - 1);
    if (peer.left === "goodbye") return;
    peer.left = "goodbye";
    this.#say(peer.address, "goodbye");
  }

  /** Marks as gone every peer silent for `goneAfterIntervals` of its rounds (or this node's, if longer). */
  checkGone(now: number): void {
    const { goneAfterIntervals, intervalMs } = this.#plan;
    for (const peer of this.peers.values()) {
      if (peer.left !== null || peer.lastHeardAt === -Infinity) continue;
      const limit = goneAfterIntervals * Math.max(intervalMs, peer.intervalMs);
      if (now - peer.lastHeardAt > limit) {
        peer.left = "gone";
        this.#say(peer.address, "gone");
      }
    }
  }

  /** Notes when probe `seq` left, to time its answers. */
  sent(via: ProbeVia, seq: number, now: number): void {
    this.#sentAt[via][seq % SENT_RING] = now;
    this.#sentSeq[via][seq % SENT_RING] = seq;
  }

  /**
   * The round trip of an answer to this node's probe `seq`, or `undefined`
   * when that probe is too old to be timed (or was never sent).
   */
  roundTrip(via: ProbeVia, seq: number, now: number): number | undefined {
    if (seq > this.round || this.#sentSeq[via][seq % SENT_RING] !== seq) {
      return undefined;
    }
    return now - this.#sentAt[via][seq % SENT_RING];
  }

  /**
   * Keeps the entries of one chunk of a peer's row: the latest round
   * wins entry by entry; a new run of the peer starts its row afresh.
   *
   * @param reporter The row's sender (canonical address).
   * @param row The chunk's run, round, finality and entries (forged ones already set apart).
   * @returns False when some entry names a node past {@linkcode MAX_MESH_HOSTS} (it is left out).
   */
  keepRow(
    reporter: string,
    row: { runId: string; round: number; final: boolean; entries: RowEntry[] },
  ): boolean {
    let report = this.#reports.get(reporter);
    if (report === undefined || report.runId !== row.runId) {
      report = { runId: row.runId, round: 0, final: false, entries: new Map() };
      this.#reports.set(reporter, report);
    }
    if (row.round < report.round) return true;
    report.round = row.round;
    report.final = row.final;
    let kept = true;
    for (const entry of row.entries) {
      if (this.#know(entry.from)) report.entries.set(entry.from, entry);
      else kept = false;
    }
    return kept;
  }

  /** This node's row: an entry for every peer it knows. */
  ownEntries(): RowEntry[] {
    const self = this.self;
    if (self === undefined) return [];
    return [...this.peers.values()].map((peer) => peer.entry(self));
  }

  /** The peers to probe by unicast this round: those listed or heard, still there. */
  probeTargets(): PeerStats[] {
    return [...this.peers.values()].filter((peer) =>
      peer.left === null && peer.address !== this.self
    );
  }

  /**
   * The peers that get this node's row by unicast too: those still there
   * that answered none of its multicast probes for two rounds (its
   * multicast does not reach them, so its rows would not either).
   */
  rowTargets(now: number): PeerStats[] {
    const wait = 2 * this.#plan.intervalMs;
    return this.probeTargets().filter((peer) =>
      now - peer.since > wait && now - peer.lastAnswerAt.multicast > wait
    );
  }

  /** The matrix as this node holds it now. */
  matrix(): Matrix {
    const reports = new Map<string, Report>(this.#reports);
    const self = this.self;
    if (self !== undefined && !this.#plan.watch) {
      const entries = new Map(this.ownEntries().map((e) => [e.from, e]));
      reports.set(self, { round: this.round, final: this.final, entries });
    }
    const answered = new Map<string, RowEntry>();
    const left = new Map<string, PeerLeft>();
    for (const peer of this.peers.values()) {
      if (peer.left !== null) left.set(peer.address, peer.left);
      if (self !== undefined && !this.#reports.has(peer.address)) {
        answered.set(peer.address, peer.answeredEntry(self, this.round));
      }
    }
    return buildMatrix({
      self: this.#plan.watch ? undefined : self,
      hosts: this.peers.keys(),
      reports,
      answered,
      left,
      maxLossPercent: this.#plan.maxLossPercent,
    });
  }

  /** The verdict on `matrix`. */
  verdict(matrix: Matrix): Verdict {
    const self = this.#plan.watch ? undefined : this.self;
    const reporters = new Set(this.#reports.keys());
    if (self !== undefined) reporters.add(self);
    return judge(matrix, {
      self,
      expect: this.#plan.expect,
      peers: this.#plan.peers.size === 0
        ? undefined
        : [...this.#plan.peers.keys()].filter((peer) => peer !== self),
      maxLossPercent: this.#plan.maxLossPercent,
      reporters,
    });
  }
}
