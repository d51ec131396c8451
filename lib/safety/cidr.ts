/**
 * Address ranges (CIDR blocks) and the subnets this host is directly
 * connected to, for deciding whose datagrams a listener answers.
 *
 * @module
 */

import {
  addressFamily,
  type Family,
  parseIPv4,
  parseIPv6,
} from "../address.ts";
import { McastTypeError } from "../errors.ts";

/** A parsed CIDR block such as `10.0.0.0/24` or `fe80::/10`. */
export interface Cidr {
  /** The block as written. */
  text: string;
  /** Its family. */
  family: Family;
  /** The network address as a big integer. */
  network: bigint;
  /** Prefix length in bits. */
  prefix: number;
}

function toBigInt(
  address: string,
): { family: Family; value: bigint } | undefined {
  const v4 = parseIPv4(address);
  if (v4 !== undefined) return { family: "IPv4", value: BigInt(v4) };
  const v6 = parseIPv6(address);
  if (v6 === undefined) return undefined;
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is that IPv4 address.
  if (v6.slice(0, 5).every((group) => group === 0) && v6[5] === 0xffff) {
    return { family: "IPv4", value: BigInt(v6[6] * 65536 + v6[7]) };
  }
  return {
    family: "IPv6",
    value: v6.reduce((sum, group) => (sum << 16n) | BigInt(group), 0n),
  };
}

const WIDTH: Record<Family, number> = { IPv4: 32, IPv6: 128 };

function mask(family: Family, prefix: number): bigint {
  const width = WIDTH[family];
  return prefix === 0
    ? 0n
    : ((1n << BigInt(prefix)) - 1n) << BigInt(width - prefix);
}

/**
 * Parses a CIDR block; a bare address is a block of one (`/32`, `/128`).
 *
 * @param text Such as `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`.
 * @returns The block.
 * @throws {McastTypeError} `ERR_INVALID_OPTION` naming the text when it is not a CIDR block.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contains, parseCidr } from "./cidr.ts";
 * const block = parseCidr("10.1.0.0/16");
 * assert.ok(contains(block, "10.1.200.3"));
 * assert.equal(contains(block, "10.2.0.1"), false);
 * ```
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const parsed = addressFamily(address) === undefined
    ? undefined
    : toBigInt(address);
  const invalid = (why: string) =>
    new McastTypeError(
      "ERR_INVALID_OPTION",
      `Invalid address range "${text}": ${why}`,
    );
  if (parsed === undefined) throw invalid("not an IP address or CIDR block");
  const { family, value } = parsed;
  const width = WIDTH[family];
  const prefixText = slash === -1 ? String(width) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) {
    throw invalid(`prefix must be 0-${width}`);
  }
  const prefix = Number(prefixText);
  return { text, family, network: value & mask(family, prefix), prefix };
}

/**
 * Tells whether an address lies in a block. IPv4-mapped IPv6 addresses
 * count as IPv4; a zone suffix is ignored.
 *
 * @param block A parsed block.
 * @param address Any address text.
 * @returns True when the address is inside the block.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contains, parseCidr } from "./cidr.ts";
 * assert.ok(contains(parseCidr("fe80::/10"), "fe80::1%eth0"));
 * ```
 */
export function contains(block: Cidr, address: string): boolean {
  const parsed = toBigInt(address);
  if (parsed === undefined || parsed.family !== block.family) return false;
  return (parsed.value & mask(block.family, block.prefix)) === block.network;
}

/**
 * The subnets this host is directly connected to, from
 * `Deno.networkInterfaces()` (needs `--allow-sys=networkInterfaces`), plus
 * IPv6 link-local `fe80::/10`.
 *
 * @returns One block per interface address.
 * @throws {McastTypeError} `ERR_INVALID_OPTION` when the permission is missing, saying which flag to add.
 *
 * @example
 * ```ts ignore
 * import { connectedSubnets } from "./cidr.ts";
 * console.log(connectedSubnets().map((block) => block.text));
 * ```
 */
export function connectedSubnets(): Cidr[] {
  let list: Deno.NetworkInterfaceInfo[];
  try {
    list = Deno.networkInterfaces();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new McastTypeError(
        "ERR_INVALID_OPTION",
        "Cannot find the directly connected subnets whose senders a listener answers: needs --allow-sys=networkInterfaces (or give the allowed ranges with --allow-from)",
      );
    }
    throw error;
  }
  const blocks = list.map((entry) =>
    parseCidr(entry.cidr.replace(/%.*\//, "/"))
  );
  blocks.push(parseCidr("fe80::/10"));
  return blocks;
}
