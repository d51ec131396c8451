/**
 * The `ttl` check, a hint: how far the group reaches. A link-local group
 * (224.0.0.0/24, ff02::/16) is never forwarded by a router, whatever the
 * TTL; any other group crosses one router per TTL step above 1, and
 * `send`'s default TTL 1 keeps it on the local segment. Pure.
 *
 * @module
 */

import { parseIPv4, parseIPv6 } from "../lib/address.ts";
import { DEFAULT_TTL } from "../lib/defaults.ts";
import type { DoctorTarget } from "./facts.ts";
import { type Finding, finding } from "./finding.ts";

const CHECK = "ttl";

const IPV6_SCOPES: Record<number, string> = {
  1: "interface-local: it never leaves this host",
  2: "link-local: routers never forward it, whatever the hop limit",
  4: "admin-local",
  5: "site-local",
  8: "organization-local",
  14: "global",
};

/**
 * The `ttl` hint for a group.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ttlCheck } from "./ttl_check.ts";
 * assert.match(ttlCheck({ group: "224.0.0.251", family: "IPv4", port: 5353 }).found, /link-local/);
 * assert.match(ttlCheck({ group: "239.1.1.1", family: "IPv4", port: 5000 }).found, /-t 3/);
 * ```
 */
export function ttlCheck(target: DoctorTarget): Finding {
  const hops =
    `send's default TTL ${DEFAULT_TTL} stays on the local segment; to cross N routers send with -t N+1 (2 routers: -t 3) and have them route the group`;
  if (target.family === "IPv4") {
    const bits = parseIPv4(target.group)!;
    if (bits >>> 8 === 0xe00000) {
      return finding(
        CHECK,
        "ok",
        `${target.group} is link-local (224.0.0.0/24): routers never forward it, whatever the TTL`,
      );
    }
    const scope = bits >>> 16 === 0xefff
      ? " (site-local scope, 239.255.0.0/16)"
      : bits >>> 18 === 0xefc0 >>> 2
      ? " (organization-local scope, 239.192.0.0/14)"
      : "";
    return finding(CHECK, "ok", `${target.group} is routable${scope}: ${hops}`);
  }
  const scope = parseIPv6(target.group)![0] & 0xf;
  const name = IPV6_SCOPES[scope] ?? `scope ${scope}`;
  if (scope <= 2) return finding(CHECK, "ok", `${target.group} is ${name}`);
  return finding(
    CHECK,
    "ok",
    `${target.group} is ${name}: ${hops.replaceAll("TTL", "hop limit")}`,
  );
}
