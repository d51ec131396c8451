/**
 * The `route` check: which interface a datagram for the group leaves by
 * (`ip route get GROUP`, with `oif` when `-i` names one), and whether
 * there is such a route at all: without one, `send` fails with "Network
 * is unreachable" and `listen` without `-i` cannot join. Pure.
 *
 * @module
 */

import type { DoctorTarget, HostFacts } from "./facts.ts";
import { type Finding, finding } from "./finding.ts";
import { interfaceFix } from "./interfaces_check.ts";
import {
  candidates,
  choicesText,
  findInterface,
  interfaceProblem,
} from "./interfaces.ts";

const CHECK = "route";

function noRoute(facts: HostFacts, target: DoctorTarget): Finding {
  const interfaces = facts.interfaces.ok ? facts.interfaces.value : [];
  const choices = choicesText(interfaces, target.family);
  if (target.iface !== undefined) {
    return finding(
      CHECK,
      "fail",
      `no route for ${target.group} through ${target.iface}`,
      `pass -i with one of: ${choices}`,
    );
  }
  const [first] = candidates(interfaces, target.family);
  const add = first === undefined
    ? ""
    : target.family === "IPv4"
    ? `, or add a route: ip route add 224.0.0.0/4 dev ${first.name}`
    : `, or add a route: ip -6 route add ff00::/8 dev ${first.name} table local`;
  return finding(
    CHECK,
    "fail",
    `no route for ${target.group}: send without -i fails with "Network is unreachable" and listen without -i cannot join ("No such device")`,
    `pass -i with one of: ${choices}${add}`,
  );
}

/**
 * The `route` finding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { routeCheck } from "./route_check.ts";
 * const lo = { name: "lo", up: true, multicast: false, loopback: true,
 *   addresses: [{ family: "IPv4" as const, address: "127.0.0.1", prefix: 8 }] };
 * const facts = {
 *   interfaces: { ok: true as const, value: [lo] },
 *   route: { ok: true as const, value: null },
 *   defaultRoutes: { ok: true as const, value: [] },
 *   files: {}, firewall: { nft: { ok: false as const, error: "" }, iptables: { ok: false as const, error: "" } },
 *   selfTests: [],
 * };
 * const result = routeCheck(facts, { group: "239.1.1.1", family: "IPv4", port: 5000 });
 * assert.equal(result.verdict, "fail");
 * assert.match(result.fix!, /lo 127\.0\.0\.1 \(this host only\)/);
 * ```
 */
export function routeCheck(facts: HostFacts, target: DoctorTarget): Finding {
  if (!facts.route.ok) {
    return finding(
      CHECK,
      "warn",
      `cannot look up the route for ${target.group}: ${facts.route.error}`,
    );
  }
  if (facts.route.value === null) return noRoute(facts, target);
  const { dev, source } = facts.route.value;
  const interfaces = facts.interfaces.ok ? facts.interfaces.value : [];
  const iface = findInterface(interfaces, dev);
  const leaves = `${target.group} leaves by ${dev}${
    source === undefined ? "" : ` from ${source}`
  }`;
  const problem = iface && interfaceProblem(iface, target.family);
  if (iface !== undefined && problem !== undefined) {
    const others = candidates(interfaces, target.family).map((i) => i.name);
    return finding(
      CHECK,
      "fail",
      `${leaves}, which ${problem}`,
      `${interfaceFix(iface, target.family)}${
        others.length > 0 ? `, or pass -i ${others.join(" or -i ")}` : ""
      }`,
    );
  }
  if (iface?.loopback && target.iface === undefined) {
    return finding(
      CHECK,
      "warn",
      `${leaves}: only this host's own listeners hear it`,
      `pass -i with one of: ${choicesText(interfaces, target.family)}`,
    );
  }
  return finding(CHECK, "ok", leaves);
}
