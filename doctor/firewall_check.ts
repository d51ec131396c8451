/**
 * The `firewall` check: rules that drop or reject UDP to the port (on the
 * way in, or on the way out, where `send` then fails), or IGMP/MLD (which
 * switches and routers need to hear), and input chains whose policy drops
 * what no rule accepts. Reads `nft -j list ruleset` and `iptables-save`
 * (`ip6tables-save`); a rule iptables-nft made appears in both and is
 * counted once. Pure.
 *
 * @module
 */

import type { DoctorTarget, HostFacts } from "./facts.ts";
import { type Finding, finding } from "./finding.ts";
import {
  type Datagram,
  type DatagramConditions,
  familySees,
  type FirewallRule,
  ruleApplies,
  type Ruleset,
} from "./firewall_rules.ts";
import { interfaceUnderTest } from "./interfaces.ts";
import { parseIptablesSave } from "./iptables_rules.ts";
import { parseNftRuleset } from "./nft_rules.ts";

const CHECK = "firewall";
const INBOUND = new Set(["input", "prerouting", "ingress", "none"]);
const OUTBOUND = new Set(["output", "postrouting"]);
const IPTABLES_TABLES = new Set(["filter", "raw", "mangle", "nat", "security"]);

/** A rule or policy that stops the target's datagrams. */
interface Hit {
  what: string;
  sure: boolean;
  fix: string;
  udp: boolean;
}

function readRulesets(
  facts: HostFacts,
  target: DoctorTarget,
): { sets: Ruleset[]; unread: string[] } {
  const sets: Ruleset[] = [];
  const unread: string[] = [];
  const { nft, iptables } = facts.firewall;
  const family = target.family === "IPv4" ? "ip" : "ip6";
  // iptables-nft keeps its rules in nft tables: read them once, from iptables-save.
  const nftBackend = iptables.ok && /\(nf_tables\)/.test(iptables.value);
  if (iptables.ok) sets.push(parseIptablesSave(iptables.value, family));
  else unread.push(iptables.error);
  if (nft.ok) {
    try {
      const all = parseNftRuleset(nft.value);
      const own = (r: { family: string; table: string }) =>
        !(nftBackend && r.family === family && IPTABLES_TABLES.has(r.table));
      sets.push({
        rules: all.rules.filter(own),
        policies: all.policies.filter(own),
      });
    } catch (error) {
      unread.push(`nft: ${(error as Error).message}`);
    }
  } else unread.push(nft.error);
  return { sets, unread };
}

function conditions(target: DoctorTarget): DatagramConditions {
  const ip = target.family === "IPv4" ? "ip" : "ip6";
  return {
    nft: `${ip} daddr ${target.group} udp dport ${target.port}`,
    iptables: `-d ${target.group} -p udp --dport ${target.port}`,
  };
}

function chainOf(rule: FirewallRule): string {
  return `${rule.family} ${rule.table} ${rule.chain}`;
}

/** The drops in one chain, in order: a rule that surely accepts first ends it. */
function chainHits(
  rules: FirewallRule[],
  datagram: Datagram,
  hooks: Set<string>,
): Hit[] {
  const hits: Hit[] = [];
  for (const rule of rules) {
    if (!hooks.has(rule.hook)) continue;
    const applies = ruleApplies(rule, datagram);
    if (applies === "no") continue;
    if (rule.verdict === "accept") {
      if (applies === "yes") break;
      continue;
    }
    if (rule.verdict !== "drop" && rule.verdict !== "reject") continue;
    const way = OUTBOUND.has(rule.hook) ? "outgoing " : "";
    const kind = datagram.protocol === "udp"
      ? `${way}UDP to port ${datagram.dport}`
      : `${way}${datagram.protocol === "igmp" ? "IGMP" : "MLD"}`;
    const sure = applies === "yes" && rule.hook !== "none";
    hits.push({
      what: `${chainOf(rule)} ${
        sure ? "drops" : "may drop"
      } ${kind}: "${rule.text}"`,
      sure,
      fix: rule.remove,
      udp: datagram.protocol === "udp",
    });
  }
  return hits;
}

function policyHits(
  set: Ruleset,
  datagram: Datagram,
  target: DoctorTarget,
): Hit[] {
  const hits: Hit[] = [];
  for (const policy of set.policies) {
    if (policy.policy !== "drop" || !INBOUND.has(policy.hook)) continue;
    if (!familySees(policy.family, datagram.family)) continue;
    const where = `${policy.family} ${policy.table} ${policy.chain}`;
    const accepts = set.rules.filter((r) =>
      chainOf(r) === where && r.verdict === "accept"
    ).map((r) => ruleApplies(r, datagram));
    if (accepts.includes("yes")) continue;
    const sure = !accepts.includes("maybe");
    hits.push({
      what: `${where} ${
        sure ? "drops" : "may drop"
      } UDP to port ${target.port} by its policy (drop what no rule accepts)`,
      sure,
      fix: policy.allow(conditions(target)),
      udp: true,
    });
  }
  return hits;
}

function hitsOf(
  set: Ruleset,
  datagrams: Datagram[],
  target: DoctorTarget,
): Hit[] {
  const chains = new Map<string, FirewallRule[]>();
  for (const rule of set.rules) {
    chains.set(chainOf(rule), [...chains.get(chainOf(rule)) ?? [], rule]);
  }
  const hits: Hit[] = [];
  for (const datagram of datagrams) {
    const hooks = datagram.protocol === "udp"
      ? new Set([...INBOUND, ...OUTBOUND])
      : new Set([...INBOUND, "output"]);
    for (const rules of chains.values()) {
      hits.push(...chainHits(rules, datagram, hooks));
    }
  }
  return [...hits, ...policyHits(set, datagrams[0], target)];
}

/**
 * The `firewall` finding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firewallCheck } from "./firewall_check.ts";
 * const facts = {
 *   interfaces: { ok: true as const, value: [] },
 *   route: { ok: true as const, value: null },
 *   defaultRoutes: { ok: true as const, value: [] },
 *   files: {},
 *   firewall: {
 *     nft: { ok: false as const, error: "nft: not found on PATH" },
 *     iptables: { ok: true as const, value: "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 5000 -j DROP\nCOMMIT\n" },
 *   },
 *   selfTests: [],
 * };
 * const result = firewallCheck(facts, { group: "239.1.1.1", family: "IPv4", port: 5000 });
 * assert.equal(result.verdict, "fail");
 * assert.equal(result.fix, "iptables -D INPUT -p udp --dport 5000 -j DROP");
 * ```
 */
export function firewallCheck(facts: HostFacts, target: DoctorTarget): Finding {
  const { sets, unread } = readRulesets(facts, target);
  if (sets.length === 0) {
    const missing = unread.every((e) => /not found on PATH/.test(e));
    return missing
      ? finding(
        CHECK,
        "ok",
        `rules not read (${
          unread.join("; ")
        }): as root with /usr/sbin on PATH doctor reads them; the self-test shows what this host's firewall does to the port`,
      )
      : finding(
        CHECK,
        "warn",
        `cannot read the firewall rules: ${unread.join("; ")}`,
        "run doctor as root to read them",
      );
  }
  const iif = interfaceUnderTest(facts, target)?.name;
  const base = {
    family: target.family,
    daddr: target.group,
    saddr: target.source,
    iif,
  };
  // IGMP and MLD go to the group (v2 reports), the all-routers report
  // address (v3) and the all-hosts address (queries).
  const igmp: Datagram["protocol"] = target.family === "IPv4"
    ? "igmp"
    : "icmpv6";
  const igmpTo = target.family === "IPv4"
    ? [target.group, "224.0.0.22", "224.0.0.1"]
    : [target.group, "ff02::16", "ff02::1"];
  const datagrams: Datagram[] = [
    { ...base, protocol: "udp", dport: target.port },
    ...igmpTo.map((daddr) => ({ ...base, daddr, protocol: igmp })),
  ];
  const seen = new Set<string>();
  const hits = sets.flatMap((set) => hitsOf(set, datagrams, target))
    .filter((hit) => !seen.has(hit.what) && seen.add(hit.what));
  const count = sets.reduce((n, s) => n + s.rules.length, 0);
  if (hits.length === 0) {
    return finding(
      CHECK,
      "ok",
      `no rule drops UDP to port ${target.port} or ${
        target.family === "IPv4" ? "IGMP" : "MLD"
      } (${count} rule${count === 1 ? "" : "s"} read)`,
    );
  }
  hits.sort((a, b) => Number(b.sure && b.udp) - Number(a.sure && a.udp));
  const shown = hits.slice(0, 3);
  const more = hits.length > shown.length
    ? `; and ${hits.length - shown.length} more`
    : "";
  const verdict = hits.some((h) => h.sure && h.udp) ? "fail" : "warn";
  return finding(
    CHECK,
    verdict,
    `${shown.map((h) => h.what).join("; ")}${more}`,
    shown.map((h) => h.fix).join("; "),
  );
}
