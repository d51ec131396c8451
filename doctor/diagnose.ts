/**
 * Turns what doctor gathered about a host into its findings, one line
 * each, in the order a user reads them: interfaces, route, reverse-path
 * filtering, IGMP/MLD, receive buffers, firewall, the self-tests, and the
 * TTL hint. Pure: every check is a function of the facts.
 *
 * @module
 */

import type { DoctorTarget, HostFacts } from "./facts.ts";
import type { Finding } from "./finding.ts";
import { firewallCheck } from "./firewall_check.ts";
import { igmpCheck } from "./igmp_check.ts";
import { interfacesCheck } from "./interfaces_check.ts";
import { receiveBufferCheck } from "./receive_buffer_check.ts";
import { reversePathCheck } from "./reverse_path_check.ts";
import { routeCheck } from "./route_check.ts";
import { selfTestCheck } from "./self_test_check.ts";
import { ttlCheck } from "./ttl_check.ts";

/**
 * Every finding for `target` on a host with these facts.
 *
 * @param facts What `gatherFacts` found.
 * @param target The group, port, interface and sender asked about.
 * @returns One finding per check (one per self-test).
 *
 * @example A host with only `lo`
 * ```ts
 * import assert from "node:assert/strict";
 * import { diagnose } from "./diagnose.ts";
 * import { doctorExitStatus } from "./finding.ts";
 * const lo = { name: "lo", up: true, multicast: false, loopback: true,
 *   addresses: [{ family: "IPv4" as const, address: "127.0.0.1", prefix: 8 }] };
 * const findings = diagnose({
 *   interfaces: { ok: true, value: [lo] },
 *   route: { ok: true, value: null },
 *   defaultRoutes: { ok: true, value: [] },
 *   files: {},
 *   firewall: { nft: { ok: false, error: "nft: not found on PATH" }, iptables: { ok: false, error: "iptables-save: not found on PATH" } },
 *   selfTests: [{ outcome: "join", ttl: 0, error: "ENODEV (No such device)" }],
 * }, { group: "239.1.1.1", family: "IPv4", port: 5000 });
 * assert.equal(findings.find((f) => f.check === "route")?.verdict, "fail");
 * assert.equal(doctorExitStatus(findings), 1);
 * ```
 */
export function diagnose(facts: HostFacts, target: DoctorTarget): Finding[] {
  return [
    interfacesCheck(facts, target),
    routeCheck(facts, target),
    reversePathCheck(facts, target),
    igmpCheck(facts, target),
    receiveBufferCheck(facts),
    firewallCheck(facts, target),
    ...selfTestCheck(facts, target),
    ttlCheck(target),
  ];
}
