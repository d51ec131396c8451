/**
 * Reads the JSON that iproute2 prints (`ip -j addr show`,
 * `ip -j route get`, `ip -j route show default`) into doctor's facts.
 * Pure: the programs are run by `gather.ts`.
 *
 * @module
 */

import type { Family } from "../lib/transports/transport.ts";
import type { InterfaceAddress, InterfaceFact, RouteFact } from "./facts.ts";

type Json = Record<string, unknown>;

function jsonArray(text: string, what: string): Json[] {
  const parsed: unknown = JSON.parse(text.trim() === "" ? "[]" : text);
  if (!Array.isArray(parsed)) {
    throw new SyntaxError(`${what}: expected a JSON array`);
  }
  return parsed.filter((item): item is Json =>
    typeof item === "object" && item !== null
  );
}

function addressOf(info: Json): InterfaceAddress | undefined {
  const family: Family | undefined = info.family === "inet"
    ? "IPv4"
    : info.family === "inet6"
    ? "IPv6"
    : undefined;
  if (family === undefined || typeof info.local !== "string") return undefined;
  return {
    family,
    address: info.local,
    prefix: typeof info.prefixlen === "number" ? info.prefixlen : 0,
  };
}

/**
 * Parses `ip -j addr show`.
 *
 * @param text What the command printed.
 * @returns One fact per interface, in the order listed.
 * @throws {SyntaxError} when it is not the JSON iproute2 prints.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIpAddr } from "./ip_json.ts";
 * const [eth0] = parseIpAddr(JSON.stringify([{
 *   ifname: "eth0", flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
 *   addr_info: [{ family: "inet", local: "10.77.1.10", prefixlen: 24 }],
 * }]));
 * assert.deepEqual(eth0, {
 *   name: "eth0", up: true, multicast: true, loopback: false,
 *   addresses: [{ family: "IPv4", address: "10.77.1.10", prefix: 24 }],
 * });
 * ```
 */
export function parseIpAddr(text: string): InterfaceFact[] {
  return jsonArray(text, "ip -j addr show").map((link) => {
    const flags = Array.isArray(link.flags) ? link.flags : [];
    const infos = Array.isArray(link.addr_info) ? link.addr_info : [];
    return {
      name: String(link.ifname),
      up: flags.includes("UP"),
      multicast: flags.includes("MULTICAST"),
      loopback: flags.includes("LOOPBACK"),
      addresses: infos.map(addressOf).filter((a): a is InterfaceAddress =>
        a !== undefined
      ),
    };
  });
}

/**
 * Parses `ip -j route get ADDRESS`: where a datagram to it leaves by.
 *
 * @param text What the command printed.
 * @returns The route, or `null` when it lists none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIpRouteGet } from "./ip_json.ts";
 * assert.deepEqual(
 *   parseIpRouteGet('[{"type":"multicast","dst":"239.1.1.1","dev":"eth0","prefsrc":"10.77.1.10"}]'),
 *   { dev: "eth0", source: "10.77.1.10" },
 * );
 * ```
 */
export function parseIpRouteGet(text: string): RouteFact | null {
  const [route] = jsonArray(text, "ip -j route get");
  if (route === undefined || typeof route.dev !== "string") return null;
  const fact: RouteFact = { dev: route.dev };
  if (typeof route.prefsrc === "string") fact.source = route.prefsrc;
  if (typeof route.gateway === "string") fact.gateway = route.gateway;
  return fact;
}

/**
 * Parses `ip -j route show default`: the interfaces default routes leave by.
 *
 * @param text What the command printed.
 * @returns Interface names, without repeats.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIpDefaultRoutes } from "./ip_json.ts";
 * assert.deepEqual(
 *   parseIpDefaultRoutes('[{"dst":"default","gateway":"10.77.3.1","dev":"eth1"}]'),
 *   ["eth1"],
 * );
 * ```
 */
export function parseIpDefaultRoutes(text: string): string[] {
  const devs = jsonArray(text, "ip -j route show default")
    .map((route) => route.dev)
    .filter((dev): dev is string => typeof dev === "string");
  return [...new Set(devs)];
}
