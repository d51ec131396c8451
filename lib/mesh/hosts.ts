/**
 * The addresses a mesh names its nodes by: one canonical text per address
 * (IPv6 in RFC 5952's short form, without a zone), so the same node has
 * the same name in every node's matrix, and the numeric order the matrix
 * lists them in.
 *
 * @module
 */

import { parseIPv4, parseIPv6 } from "../address.ts";

/**
 * The canonical text of an address: IPv4 as dotted quad, IPv6 in lower
 * case with the longest run of zero groups as `::` (RFC 5952) and no zone;
 * an IPv4-mapped IPv6 address as its IPv4 address. Text that is not an
 * address comes back as it is.
 *
 * @param address An address as a socket or a user wrote it.
 * @returns Its canonical text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalHost } from "./hosts.ts";
 * assert.equal(canonicalHost("FE80:0:0:0:0:0:0:1%eth0"), "fe80::1");
 * assert.equal(canonicalHost("fd77:0:0:1:0:0:0:0"), "fd77:0:0:1::");
 * assert.equal(canonicalHost("::ffff:10.77.1.2"), "10.77.1.2");
 * assert.equal(canonicalHost("10.77.1.2"), "10.77.1.2");
 * ```
 */
export function canonicalHost(address: string): string {
  const v4 = parseIPv4(address);
  if (v4 !== undefined) return formatIPv4(v4);
  const v6 = parseIPv6(address);
  if (v6 === undefined) return address;
  if (v6.slice(0, 5).every((group) => group === 0) && v6[5] === 0xffff) {
    return formatIPv4(v6[6] * 65536 + v6[7]);
  }
  return formatIPv6(v6);
}

/**
 * Writes eight 16-bit groups in RFC 5952's form: the longest run of two
 * or more zero groups (the first of equal runs) as `::`.
 *
 * @param groups Eight numbers 0-65535.
 * @returns The address text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatIPv6 } from "./hosts.ts";
 * assert.equal(formatIPv6([0xff02, 0, 0, 0, 0, 0, 0, 1]), "ff02::1");
 * assert.equal(formatIPv6([1, 0, 2, 0, 0, 3, 0, 0]), "1:0:2::3:0:0");
 * ```
 */
export function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${
    hex.slice(bestStart + bestLength).join(":")
  }`;
}

/** IPv4 addresses written recently: a row names the same nodes every round. */
const formatted = new Map<number, string>();
const FORMATTED_KEPT = 4096;

/**
 * Writes a 32-bit number as a dotted-quad IPv4 address (the text of the
 * addresses seen recently is kept, so rows decode without making a new
 * string per entry).
 *
 * @param value 0 to 2^32 - 1.
 * @returns The address text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatIPv4 } from "./hosts.ts";
 * assert.equal(formatIPv4(0x0a4d0102), "10.77.1.2");
 * ```
 */
export function formatIPv4(value: number): string {
  let text = formatted.get(value);
  if (text === undefined) {
    text = `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${
      value & 255
    }`;
    // Bounded: a flood of forged addresses cannot grow it.
    if (formatted.size >= FORMATTED_KEPT) formatted.clear();
    formatted.set(value, text);
  }
  return text;
}

/** The address as a number for ordering: IPv4 before IPv6, then by value. */
function orderKey(address: string): bigint {
  const v4 = parseIPv4(address);
  if (v4 !== undefined) return BigInt(v4);
  const v6 = parseIPv6(address);
  if (v6 === undefined) return -1n;
  return (1n << 128n) +
    v6.reduce((sum, group) => (sum << 16n) | BigInt(group), 0n);
}

/**
 * Compares two addresses numerically (for `Array.prototype.sort`): IPv4
 * before IPv6, `10.77.1.9` before `10.77.1.10`; text that is not an
 * address first, in code-point order.
 *
 * @param a An address.
 * @param b Another.
 * @returns Negative, zero or positive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareHosts } from "./hosts.ts";
 * assert.deepEqual(
 *   ["10.77.1.10", "fd77::1", "10.77.1.9"].sort(compareHosts),
 *   ["10.77.1.9", "10.77.1.10", "fd77::1"],
 * );
 * ```
 */
export function compareHosts(a: string, b: string): number {
  const ka = orderKey(a);
  const kb = orderKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
