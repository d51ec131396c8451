/**
 * IP addresses: their families, parsing and multicast classification, for
 * IPv4 (224.0.0.0/4) and IPv6 (ff00::/8), and the endpoint a datagram
 * comes from ({@linkcode Peer}). Pure functions: no sockets, no
 * permissions. A multicast group is parsed into one value by `group.ts`.
 *
 * @module
 */

import { McastTypeError } from "./errors.ts";

/** Address family of an address or a socket. */
export type Family = "IPv4" | "IPv6";

/** Where a datagram came from. */
export interface Peer {
  /** Source address, without zone for IPv4. */
  address: string;
  /** Source UDP port. */
  port: number;
  /** Address family. */
  family: Family;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Parses a dotted-quad IPv4 address into its 32-bit value.
 *
 * @param address Text such as `224.3.29.71`.
 * @returns The address as an unsigned 32-bit number, or `undefined` when the text is not an IPv4 address.
 *
 * @example Parse an address
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIPv4 } from "./address.ts";
 * assert.equal(parseIPv4("224.0.0.1"), 0xe0000001);
 * assert.equal(parseIPv4("300.1.1.1"), undefined);
 * ```
 */
export function parseIPv4(address: string): number | undefined {
  const match = IPV4.exec(address);
  if (match === null) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(match[i]);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/**
 * Parses an IPv6 address (an optional `%zone` suffix is allowed) into its
 * eight 16-bit groups.
 *
 * @param address Text such as `ff02::1` or `fe80::1%eth0`.
 * @returns The eight groups, or `undefined` when the text is not an IPv6 address.
 *
 * @example Parse an address
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIPv6 } from "./address.ts";
 * assert.equal(parseIPv6("ff02::1")?.[0], 0xff02);
 * assert.equal(parseIPv6("ff02:::1"), undefined);
 * ```
 */
export function parseIPv6(address: string): number[] | undefined {
  const zone = address.indexOf("%");
  let text = zone === -1 ? address : address.slice(0, zone);
  if (zone !== -1 && zone === address.length - 1) return undefined;
  let tail: number[] = [];
  const dotted = text.lastIndexOf(":");
  if (dotted !== -1 && text.includes(".", dotted)) {
    const v4 = parseIPv4(text.slice(dotted + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    text = text.slice(0, dotted + 1);
    if (!text.endsWith("::")) text = text.slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups = part.split(":");
    const out: number[] = [];
    for (const group of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  if (head === undefined) return undefined;
  if (halves.length === 1) {
    const all = [...head, ...tail];
    return all.length === 8 ? all : undefined;
  }
  const rest = parse(halves[1]);
  if (rest === undefined) return undefined;
  const known = head.length + rest.length + tail.length;
  if (known > 7) return undefined;
  return [...head, ...new Array(8 - known).fill(0), ...rest, ...tail];
}

/**
 * Tells which IP family an address belongs to.
 *
 * @param address Any text.
 * @returns `"IPv4"`, `"IPv6"`, or `undefined` for text that is not an IP address.
 *
 * @example Classify addresses
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressFamily } from "./address.ts";
 * assert.equal(addressFamily("10.0.0.1"), "IPv4");
 * assert.equal(addressFamily("ff02::1"), "IPv6");
 * assert.equal(addressFamily("eth0"), undefined);
 * ```
 */
export function addressFamily(address: string): Family | undefined {
  if (parseIPv4(address) !== undefined) return "IPv4";
  if (parseIPv6(address) !== undefined) return "IPv6";
  return undefined;
}

/**
 * Tells whether an address is a multicast group address
 * (IPv4 224.0.0.0/4 or IPv6 ff00::/8).
 *
 * @param address Any text.
 * @returns True for a multicast address, false for anything else.
 *
 * @example Check a group
 * ```ts
 * import assert from "node:assert/strict";
 * import { isMulticast } from "./address.ts";
 * assert.ok(isMulticast("239.1.2.3"));
 * assert.equal(isMulticast("10.0.0.1"), false);
 * ```
 */
export function isMulticast(address: string): boolean {
  const v4 = parseIPv4(address);
  if (v4 !== undefined) return v4 >>> 28 === 0xe;
  const v6 = parseIPv6(address);
  return v6 !== undefined && v6[0] >>> 8 === 0xff;
}

/**
 * Tells whether a multicast group is a source-specific one
 * (IPv4 232.0.0.0/8, IPv6 ff3x::/32).
 *
 * @param group A multicast address.
 * @returns True for an SSM group.
 *
 * @example Check an SSM group
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSourceSpecific } from "./address.ts";
 * assert.ok(isSourceSpecific("232.1.1.1"));
 * assert.equal(isSourceSpecific("239.1.1.1"), false);
 * ```
 */
export function isSourceSpecific(group: string): boolean {
  const v4 = parseIPv4(group);
  if (v4 !== undefined) return v4 >>> 24 === 232;
  const v6 = parseIPv6(group);
  return v6 !== undefined && (v6[0] & 0xfff0) === 0xff30;
}

/**
 * Checks a unicast IP address given for a source or an interface.
 *
 * @param address The address the user gave.
 * @param what What it is for, used in the message (`"interface"`, `"source"`).
 * @returns Its family.
 * @throws {McastTypeError} when it is not an IP address, or is a multicast one.
 *
 * @example Validate a source
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateUnicast } from "./address.ts";
 * assert.equal(validateUnicast("127.0.0.1", "source"), "IPv4");
 * ```
 */
export function validateUnicast(
  address: string,
  what: "interface" | "source",
): Family {
  const family = addressFamily(address);
  const code = what === "source"
    ? "ERR_INVALID_SOURCE"
    : "ERR_INVALID_INTERFACE";
  if (family === undefined) {
    throw new McastTypeError(
      code,
      `Invalid ${what} "${address}": not an IP address`,
    );
  }
  if (isMulticast(address)) {
    throw new McastTypeError(
      code,
      `Invalid ${what} "${address}": a multicast address cannot be ${
        what === "source" ? "a source" : "an interface"
      }`,
    );
  }
  return family;
}

/**
 * One address as a key that ignores how it was written: an IPv6 zone,
 * upper case, `::` compression and leading zeros do not matter. Text that
 * is not an IP address is its own key.
 *
 * @param address An IPv4 or IPv6 address.
 * @returns The same key for every way of writing the same address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressKey } from "./address.ts";
 * assert.equal(addressKey("FF15::0044"), addressKey("ff15::44"));
 * assert.notEqual(addressKey("239.1.1.1"), addressKey("239.1.1.2"));
 * ```
 */
export function addressKey(address: string): string {
  const v4 = parseIPv4(address);
  if (v4 !== undefined) return String(v4);
  const v6 = parseIPv6(address);
  return v6 === undefined ? address : v6.join(":");
}

/**
 * Writes an address and port the way URLs and most tools do: IPv6
 * addresses in brackets (`[fe80::1]:8000`), IPv4 as `10.0.0.1:8000`.
 *
 * @param address An IPv4 or IPv6 address (an IPv6 zone, `%eth0`, is kept).
 * @param port The port.
 * @returns `address:port`, with brackets around an IPv6 address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEndpoint } from "./address.ts";
 * assert.equal(formatEndpoint("fe80::1", 8000), "[fe80::1]:8000");
 * assert.equal(formatEndpoint("10.0.0.1", 8000), "10.0.0.1:8000");
 * ```
 */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
