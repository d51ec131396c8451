/**
 * A multicast group as one value: what the user typed (on the command line
 * or in a library option) is checked and classified once, at the edge, by
 * {@linkcode parseGroup}, and the parsed {@linkcode MulticastGroup} is what
 * the listener, the sender and the command line pass inward. Nothing past
 * the edge checks the text again.
 *
 * @module
 */

import {
  type Family,
  parseIPv4,
  parseIPv6,
  validateUnicast,
} from "./address.ts";
import { McastRangeError, McastTypeError } from "./errors.ts";

/**
 * A multicast group, checked: made by {@linkcode parseGroup}, never by
 * hand.
 */
export interface MulticastGroup {
  /** The group address as given (an IPv6 zone, `%eth0`, is kept). */
  readonly address: string;
  /** Its family. */
  readonly family: Family;
  /**
   * How far its traffic is meant to go, from its address:
   *
   * - `interface-local`: IPv6 ffx1:: (this host only);
   * - `link-local`: IPv4 224.0.0.0/24, IPv6 ffx2:: (one link, never routed);
   * - `site-local`: IPv4 239.255.0.0/16 (RFC 2365's local scope), IPv6 ffx5::;
   * - `admin`: the rest of IPv4 239.0.0.0/8 and the other IPv6 scopes
   *   (realm, admin- and organization-local, unassigned): as far as the
   *   network's administrators let it;
   * - `global`: everything else: IPv4 224.0.1.0-238.255.255.255, IPv6 ffxe::.
   */
  readonly scope:
    | "interface-local"
    | "link-local"
    | "site-local"
    | "admin"
    | "global";
  /**
   * Whether the address is in the source-specific range (IPv4
   * 232.0.0.0/8, IPv6 ff3x::), where receivers name the sender they want.
   */
  readonly ssm: boolean;
  /**
   * The one sender a listener takes this group's traffic from (a
   * source-specific join); absent for an any-source group.
   */
  readonly source?: string;
}

/** The groups {@linkcode parseGroup} made: passed in again, they are not checked again. */
const made = new WeakSet<object>();

function scopeOf(
  v4: number | undefined,
  v6: number[] | undefined,
): MulticastGroup["scope"] {
  if (v4 !== undefined) {
    if (v4 >>> 8 === 0xe00000) return "link-local";
    if (v4 >>> 16 === 0xefff) return "site-local";
    return v4 >>> 24 === 239 ? "admin" : "global";
  }
  switch (v6![0] & 0xf) {
    case 0x1:
      return "interface-local";
    case 0x2:
      return "link-local";
    case 0x5:
      return "site-local";
    case 0xe:
      return "global";
    default:
      return "admin";
  }
}

function checkSource(source: string, address: string, family: Family): void {
  const given = validateUnicast(source, "source");
  if (given !== family) {
    throw new McastTypeError(
      "ERR_INVALID_SOURCE",
      `Invalid source "${source}": an ${given} sender cannot send to the ${family} group ${address}`,
    );
  }
}

function parseAddress(address: string): MulticastGroup {
  if (typeof address !== "string") {
    throw new McastTypeError(
      "ERR_INVALID_GROUP",
      `Invalid group ${
        String(address)
      }: expected an address such as "239.1.2.3"`,
    );
  }
  const v4 = parseIPv4(address);
  const v6 = v4 === undefined ? parseIPv6(address) : undefined;
  if (v4 === undefined && v6 === undefined) {
    throw new McastTypeError(
      "ERR_INVALID_GROUP",
      `Invalid group "${address}": not an IP address`,
    );
  }
  if (v4 !== undefined ? v4 >>> 28 !== 0xe : v6![0] >>> 8 !== 0xff) {
    throw new McastRangeError(
      "ERR_INVALID_GROUP",
      `Invalid group "${address}": not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8)`,
    );
  }
  return {
    address,
    family: v4 !== undefined ? "IPv4" : "IPv6",
    scope: scopeOf(v4, v6),
    ssm: v4 !== undefined ? v4 >>> 24 === 232 : (v6![0] & 0xfff0) === 0xff30,
  };
}

/**
 * Checks that `group` is a multicast address (and `source`, when given, a
 * unicast sender of the same family) and makes the one value the rest of
 * mcast passes on. A group this function made comes back as it is
 * (unless another source is asked for), so passing one in again costs
 * nothing.
 *
 * @param group The group the user asked for, as text (or a group already parsed).
 * @param options `source`: the one sender to take the group's traffic
 *   from, for a source-specific join.
 * @returns The parsed group (frozen).
 * @throws {McastTypeError} `ERR_INVALID_GROUP` when it is not an IP address;
 *   `ERR_INVALID_SOURCE` for a source that is not a unicast address of the
 *   group's family, or a source other than the one the group already has.
 * @throws {McastRangeError} `ERR_INVALID_GROUP` when it is not a multicast address.
 *
 * @example Parse a group, and a source-specific one
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGroup } from "./group.ts";
 * const group = parseGroup("239.1.2.3");
 * assert.equal(group.family, "IPv4");
 * assert.equal(group.scope, "admin");
 * assert.equal(parseGroup(group), group);
 * const channel = parseGroup("232.1.1.1", { source: "10.0.0.1" });
 * assert.equal(channel.ssm, true);
 * assert.equal(channel.source, "10.0.0.1");
 * assert.throws(() => parseGroup("10.0.0.1"), {
 *   name: "McastRangeError",
 *   code: "ERR_INVALID_GROUP",
 *   message: /10\.0\.0\.1/,
 * });
 * ```
 */
export function parseGroup(
  group: string | MulticastGroup,
  options: { source?: string } = {},
): MulticastGroup {
  const { source } = options;
  if (typeof group === "object" && group !== null) {
    if (made.has(group) && (source === undefined || source === group.source)) {
      return group;
    }
    // A group made by hand is checked like text; a second source is refused.
    if (
      source !== undefined && group.source !== undefined &&
      source !== group.source
    ) {
      throw new McastTypeError(
        "ERR_INVALID_SOURCE",
        `Invalid source "${source}": the group ${group.address} already has the source ${group.source}`,
      );
    }
    return parseGroup(group.address, { source: source ?? group.source });
  }
  const parsed: MulticastGroup = parseAddress(group);
  if (source !== undefined) checkSource(source, parsed.address, parsed.family);
  const value = Object.freeze(
    source === undefined ? parsed : { ...parsed, source },
  );
  made.add(value);
  return value;
}
