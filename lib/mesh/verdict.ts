/**
 * The verdict of a mesh run: which nodes were expected (`expect N`
 * counting this one, the `peers` list, or every node heard), which never
 * showed up, and which pairs among them fail: multicast loss above
 * `maxLossPercent`, or multicast never heard. Each failure is a sentence
 * that says whether unicast works for the pair, the case people need
 * found (IGMP snooping without a querier, a firewall, rp_filter). Pure.
 *
 * @module
 */

import type { MeshFailure, MeshPair } from "./events.ts";
import type { Matrix } from "./matrix.ts";
import { compareHosts } from "./hosts.ts";

/** Which nodes the verdict covers and how much loss passes. */
export interface VerdictRules {
  /** This node's address; `undefined` for a watcher. */
  self: string | undefined;
  /** The number of nodes expected, counting this one. */
  expect?: number;
  /** The nodes expected besides this one (canonical addresses). */
  peers?: readonly string[];
  /** Multicast loss above this fails a pair. */
  maxLossPercent: number;
  /** Nodes with a row that arrived (a pair `A -> B` without B's row is unknown, not silent). */
  reporters: ReadonlySet<string>;
}

/** The verdict. */
export interface Verdict {
  /** The nodes it covers, in numeric order. */
  expected: string[];
  /** Expected nodes never heard of. */
  missing: string[];
  /** True when nothing failed. */
  ok: boolean;
  /** What failed, in words. */
  failures: MeshFailure[];
}

function unicastWorks(pair: MeshPair): boolean | null {
  return pair.unicastLossPercent === null
    ? null
    : pair.unicastLossPercent < 100;
}

function unicastWords(pair: MeshPair): string {
  const works = unicastWorks(pair);
  if (works === null) return "unicast not measured";
  return works
    ? `unicast works (${pair.unicastLossPercent}% lost)`
    : "unicast fails too";
}

/** Why a pair fails, or `undefined` when it passes. */
function failureOf(
  pair: MeshPair,
  rules: VerdictRules,
): string | undefined {
  const { from, to, multicastLossPercent: loss } = pair;
  const counted = pair.received === 0
    ? `none of ${pair.expected} probes heard`
    : `${pair.received} of ${pair.expected} probes heard` +
      (pair.joinMissed > 0 ? `, ${pair.joinMissed} before the first` : "");
  if (pair.state === "multicast-fails" || pair.state === "both-fail") {
    return `multicast from ${from} does not reach ${to} (${counted}); ${
      unicastWords(pair)
    }`;
  }
  if (loss !== null && loss > rules.maxLossPercent) {
    return `${from} -> ${to} loses ${loss}% of multicast probes (${counted}; at most ${rules.maxLossPercent}% passes); ${
      unicastWords(pair)
    }`;
  }
  if (pair.state === "unheard") {
    if (!rules.reporters.has(to)) {
      return `no row from ${to} reached this node, so whether ${to} hears ${from} is unknown (${to}'s multicast does not reach here, or it only just started)`;
    }
    return `${to} has heard nothing from ${from}, by multicast or unicast; ${
      unicastWords(pair)
    }`;
  }
  return undefined;
}

function expectedNodes(matrix: Matrix, rules: VerdictRules): string[] {
  if (rules.peers === undefined) return [...matrix.hosts];
  const nodes = new Set(rules.peers);
  if (rules.self !== undefined) nodes.add(rules.self);
  return [...nodes].sort(compareHosts);
}

/**
 * Judges a matrix.
 *
 * @param matrix The hosts and pairs.
 * @param rules Who is expected and how much loss passes.
 * @returns The expected nodes, the missing ones, and every failure in words.
 *
 * @example A pair where unicast works and multicast does not
 * ```ts
 * import assert from "node:assert/strict";
 * import { judge } from "./verdict.ts";
 * import type { MeshPair } from "./events.ts";
 * const pair = (from: string, to: string, received: number): MeshPair => ({
 *   from, to, received, expected: 10, joinMissed: 0, duplicates: 0, reordered: 0,
 *   multicastLossPercent: 100 - received * 10, unicastLossPercent: 0,
 *   multicastRttMs: null, unicastRttMs: null,
 *   state: received === 0 ? "multicast-fails" : "ok",
 * });
 * const verdict = judge(
 *   { hosts: ["10.77.1.3", "10.77.1.7"], pairs: [pair("10.77.1.3", "10.77.1.7", 0), pair("10.77.1.7", "10.77.1.3", 10)] },
 *   { self: "10.77.1.3", maxLossPercent: 0, reporters: new Set(["10.77.1.3", "10.77.1.7"]) },
 * );
 * assert.equal(verdict.ok, false);
 * assert.equal(verdict.failures.length, 1);
 * assert.equal(verdict.failures[0].unicastWorks, true);
 * assert.match(verdict.failures[0].reason, /multicast from 10\.77\.1\.3 does not reach 10\.77\.1\.7/);
 * ```
 */
export function judge(matrix: Matrix, rules: VerdictRules): Verdict {
  const expected = expectedNodes(matrix, rules);
  const known = new Set(matrix.hosts);
  const missing = expected.filter((node) => !known.has(node));
  const failures: MeshFailure[] = missing.map((node) => ({
    from: node,
    to: rules.self ?? "*",
    reason:
      `${node} never showed up: no probe, answer or row from it, and no row naming it, reached this node`,
    unicastWorks: null,
  }));
  if (rules.expect !== undefined && matrix.hosts.length < rules.expect) {
    failures.push({
      from: "*",
      to: "*",
      reason:
        `${rules.expect} nodes expected, only ${matrix.hosts.length} showed up`,
      unicastWorks: null,
    });
  }
  const covered = new Set(expected);
  for (const pair of matrix.pairs) {
    if (!covered.has(pair.from) || !covered.has(pair.to)) continue;
    const reason = failureOf(pair, rules);
    if (reason !== undefined) {
      failures.push({
        from: pair.from,
        to: pair.to,
        reason,
        unicastWorks: unicastWorks(pair),
      });
    }
  }
  return { expected, missing, ok: failures.length === 0, failures };
}
