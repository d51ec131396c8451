/**
 * Where the bench may send: loopback only, groups 239.50.x.x, ports
 * 50000-50999. Every bench socket takes its addresses from here, and
 * {@linkcode assertBenchEndpoint} refuses anything else before a socket
 * opens.
 *
 * @module
 */

/** The only interface the bench uses: joins, multicast sends, replies. */
export const LOOPBACK = "127.0.0.1";

/** Lowest port the bench may use. */
export const FIRST_PORT = 50000;
/** Highest port the bench may use. */
export const LAST_PORT = 50999;

/** A multicast group and port for one measurement. */
export interface Endpoint {
  /** A group in 239.50.0.0/16. */
  group: string;
  /** A port from 50000 to 50999. */
  port: number;
}

/**
 * Throws unless `endpoint` is in the bench's range.
 *
 * @param endpoint The group and port about to be used.
 * @throws {RangeError} outside 239.50.0.0/16 or ports 50000-50999.
 *
 * @example
 * ```ts
 * import { assertBenchEndpoint } from "./addresses.ts";
 * assertBenchEndpoint({ group: "239.50.1.2", port: 50010 });
 * ```
 */
export function assertBenchEndpoint(endpoint: Endpoint): void {
  const octets = endpoint.group.split(".").map(Number);
  const inGroup = octets.length === 4 && octets[0] === 239 &&
    octets[1] === 50 &&
    octets.every((octet) =>
      Number.isInteger(octet) && octet >= 0 &&
      octet <= 255
    );
  if (!inGroup) {
    throw new RangeError(
      `Bench group ${endpoint.group} is outside 239.50.0.0/16`,
    );
  }
  if (
    !Number.isInteger(endpoint.port) || endpoint.port < FIRST_PORT ||
    endpoint.port > LAST_PORT
  ) {
    throw new RangeError(
      `Bench port ${endpoint.port} is outside ${FIRST_PORT}-${LAST_PORT}`,
    );
  }
}

/**
 * Hands out a fresh group and port for every measurement of one bench
 * run. A run starts at a random place in the range, so two runs at the
 * same time (a full run and the smoke test) rarely share a group; the
 * receivers bind to the group address, so they only see their own group.
 */
export class EndpointAllocator {
  #next: number;

  /**
   * Creates an allocator.
   *
   * @param seed Where to start; random by default.
   */
  constructor(seed: number = Math.floor(Math.random() * 65_000)) {
    this.#next = seed;
  }

  /**
   * The next group and port, both inside the bench's range.
   *
   * @returns A fresh endpoint.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EndpointAllocator } from "./addresses.ts";
   * const endpoint = new EndpointAllocator(0).next();
   * assert.equal(endpoint.group, "239.50.0.1");
   * assert.equal(endpoint.port, 50000);
   * ```
   */
  next(): Endpoint {
    const n = this.#next++ % 65_000;
    const endpoint = {
      group: `239.50.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`,
      port: FIRST_PORT + (n % (LAST_PORT - FIRST_PORT + 1)),
    };
    assertBenchEndpoint(endpoint);
    return endpoint;
  }
}
