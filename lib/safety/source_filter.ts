/**
 * Decides whose datagrams a listener answers: by default senders on a
 * directly connected subnet, otherwise the ranges given with `--allow-from`.
 *
 * @module
 */

import { type Cidr, connectedSubnets, contains, parseCidr } from "./cidr.ts";

/**
 * A source address allow list with a small cache of recent decisions, so
 * the per-datagram cost is one map lookup.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SourceFilter } from "./source_filter.ts";
 * const filter = new SourceFilter(["10.0.0.0/8"]);
 * assert.ok(filter.allows("10.1.2.3"));
 * assert.equal(filter.allows("192.0.2.1"), false);
 * ```
 */
export class SourceFilter {
  /** The ranges allowed, as written. */
  readonly ranges: readonly string[];
  readonly #blocks: Cidr[];
  readonly #cache = new Map<string, boolean>();

  /**
   * Creates the filter.
   *
   * @param allowFrom CIDR blocks or addresses; `undefined` means this host's directly connected subnets.
   * @throws {McastTypeError} for a bad range, or when the connected subnets cannot be read.
   */
  constructor(allowFrom?: readonly string[]) {
    this.#blocks = allowFrom === undefined
      ? connectedSubnets()
      : allowFrom.map(parseCidr);
    this.ranges = this.#blocks.map((block) => block.text);
  }

  /**
   * Tells whether a sender may be answered.
   *
   * @param address The sender's address.
   * @returns True when it lies in an allowed range.
   */
  allows(address: string): boolean {
    let allowed = this.#cache.get(address);
    if (allowed === undefined) {
      allowed = this.#blocks.some((block) => contains(block, address));
      // Bounded: a flood of spoofed sources cannot grow it.
      if (this.#cache.size >= 4096) this.#cache.clear();
      this.#cache.set(address, allowed);
    }
    return allowed;
  }
}
