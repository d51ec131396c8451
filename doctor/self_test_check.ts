/**
 * The `self-test` findings: one per interface tested (`self_test.ts`
 * joins the group there, sends to it with loopback on and a TTL that
 * keeps the datagram on this host, and waits for it). The test the user's
 * own command line stands for (`-i`, or none) fails the run when it
 * fails; the other candidates only warn. Pure.
 *
 * @module
 */

import type { DoctorTarget, HostFacts, SelfTestResult } from "./facts.ts";
import { type Finding, finding } from "./finding.ts";
import { choicesText } from "./interfaces.ts";

const CHECK = "self-test";

function label(result: SelfTestResult, facts: HostFacts): string {
  if (result.iface !== undefined) return `on ${result.iface}`;
  const route = facts.route.ok ? facts.route.value : null;
  return route === null ? "without -i" : `without -i (leaves by ${route.dev})`;
}

function ttlText(ttl: number, target: DoctorTarget): string {
  const name = target.family === "IPv4" ? "TTL" : "hop limit";
  return ttl === 0
    ? `${name} 0 (it never leaves this host)`
    : `${name} ${ttl} (the local segment only)`;
}

function failure(
  result: SelfTestResult,
  facts: HostFacts,
  target: DoctorTarget,
): { found: string; fix?: string } {
  const error = result.error ?? "";
  const choices = facts.interfaces.ok
    ? choicesText(facts.interfaces.value, target.family)
    : "";
  switch (result.outcome) {
    case "open":
      return {
        found: `cannot open a socket on port ${target.port}: ${error}`,
        fix: /EADDRINUSE/.test(error)
          ? `another program holds port ${target.port} without sharing it (ss -ulpn 'sport = :${target.port}' names it)`
          : undefined,
      };
    case "join":
      return {
        found: `cannot join ${target.group}: ${error}`,
        fix: result.iface === undefined && choices !== ""
          ? `pass -i with one of: ${choices}`
          : undefined,
      };
    case "send":
      return {
        found: `joined, but cannot send to ${target.group}: ${error}`,
        fix: /EPERM|not permitted/i.test(error)
          ? "an outgoing firewall rule refuses it (see firewall)"
          : undefined,
      };
    default:
      return {
        found: `joined and sent with ${
          ttlText(result.ttl, target)
        }, but nothing came back within ${result.waitedMs} ms: something on this host drops UDP to port ${target.port}`,
        fix: "see the firewall line (nft list ruleset; iptables-save)",
      };
  }
}

/**
 * The `self-test` findings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selfTestCheck } from "./self_test_check.ts";
 * const facts = {
 *   interfaces: { ok: true as const, value: [] },
 *   route: { ok: true as const, value: { dev: "eth0" } },
 *   defaultRoutes: { ok: true as const, value: [] },
 *   files: {},
 *   firewall: { nft: { ok: false as const, error: "" }, iptables: { ok: false as const, error: "" } },
 *   selfTests: [{ outcome: "received" as const, ttl: 0, ms: 0.3 }],
 * };
 * const [result] = selfTestCheck(facts, { group: "239.1.1.1", family: "IPv4", port: 5000 });
 * assert.equal(result.verdict, "ok");
 * assert.match(result.found, /^without -i \(leaves by eth0\): joined 239\.1\.1\.1/);
 * ```
 */
export function selfTestCheck(
  facts: HostFacts,
  target: DoctorTarget,
): Finding[] {
  if (facts.selfTests.length === 0) {
    return [
      finding(CHECK, "warn", "not run: no interface to test (see interfaces)"),
    ];
  }
  return facts.selfTests.map((result, index) => {
    const where = label(result, facts);
    if (result.outcome === "received") {
      return finding(
        CHECK,
        "ok",
        `${where}: joined ${target.group}, sent to port ${target.port} with ${
          ttlText(result.ttl, target)
        }, received it back in ${result.ms} ms`,
      );
    }
    // The first test is the one the user's command line stands for.
    const verdict = index === 0 ? "fail" : "warn";
    const { found, fix } = failure(result, facts, target);
    return finding(CHECK, verdict, `${where}: ${found}`, fix);
  });
}
