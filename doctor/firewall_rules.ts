/**
 * Firewall rules as doctor reads them, whichever tool listed them
 * (`nft_rules.ts`, `iptables_rules.ts`), and whether a rule could drop
 * the datagrams of the target: UDP to the group and port, or IGMP/MLD.
 * Each condition of a rule answers `yes`, `no` or `maybe` (it depends on
 * something doctor does not know, such as the sender); a rule applies
 * when none answers `no`, for sure when all answer `yes`. Pure.
 *
 * @module
 */

import { addressFamily, parseIPv4, parseIPv6 } from "../lib/address.ts";
import type { Family } from "../lib/transports/transport.ts";

/** One value a condition compares with. */
export type RuleValue =
  | { kind: "number"; value: number }
  | { kind: "range"; from: number; to: number }
  | { kind: "text"; value: string }
  | { kind: "prefix"; address: string; length: number };

/** One condition of a rule. */
export type RuleMatch =
  | {
    field: "protocol" | "dport" | "daddr" | "saddr" | "iif";
    negate: boolean;
    values: RuleValue[];
  }
  | { field: "unknown"; text: string };

/** Where in the kernel's path a chain sits. */
export type RuleHook =
  | "input"
  | "prerouting"
  | "ingress"
  | "output"
  | "postrouting"
  | "forward"
  | "none";

/** One rule, from nft or iptables. */
export interface FirewallRule {
  /** The table's family (`ip`, `ip6`, `inet`, `netdev`, `bridge`, `arp`). */
  family: string;
  /** Table and chain, for the message. */
  table: string;
  /** The chain's name. */
  chain: string;
  /** The chain's hook (`none` for a chain reached by jumps only). */
  hook: RuleHook;
  /** What the rule does to a datagram it matches. */
  verdict: "drop" | "reject" | "accept" | "other";
  /** Its conditions, all of which must hold. */
  matches: RuleMatch[];
  /** The rule as its tool writes it. */
  text: string;
  /** The command that deletes it. */
  remove: string;
}

/** A chain's policy for what no rule decided. */
export interface ChainPolicy {
  /** The table's family. */
  family: string;
  /** The table. */
  table: string;
  /** The chain. */
  chain: string;
  /** Its hook. */
  hook: RuleHook;
  /** `drop` or `accept`. */
  policy: string;
  /** The command that inserts an accept rule for a datagram, given its conditions in the tool's words. */
  allow: (conditions: DatagramConditions) => string;
}

/** A datagram described in the words of nft and iptables, for fix commands. */
export interface DatagramConditions {
  /** nft's words: `ip daddr 239.1.1.1 udp dport 5000`. */
  nft: string;
  /** iptables' words: `-d 239.1.1.1 -p udp --dport 5000`. */
  iptables: string;
}

/** Rules and policies read from one listing. */
export interface Ruleset {
  /** Every rule. */
  rules: FirewallRule[];
  /** Every chain policy of a hooked chain. */
  policies: ChainPolicy[];
}

/** The datagram a rule is tested against. */
export interface Datagram {
  /** Its family. */
  family: Family;
  /** `udp`, `igmp` or `icmpv6` (MLD). */
  protocol: "udp" | "igmp" | "icmpv6";
  /** The destination port (UDP only). */
  dport?: number;
  /** The destination address, when known. */
  daddr?: string;
  /** The sender, when known. */
  saddr?: string;
  /** The interface it arrives on or leaves by, when known. */
  iif?: string;
}

/** How sure doctor is that a condition holds. */
export type Answer = "yes" | "no" | "maybe";

const PROTOCOL_NUMBERS: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  "ipv6-icmp": 58,
  sctp: 132,
  udplite: 136,
};

function protocolNumber(value: RuleValue): number | undefined {
  if (value.kind === "number") return value.value;
  if (value.kind === "text") return PROTOCOL_NUMBERS[value.value.toLowerCase()];
  return undefined;
}

function addressBits(address: string): bigint | undefined {
  const v4 = parseIPv4(address);
  if (v4 !== undefined) return BigInt(v4);
  const v6 = parseIPv6(address.split("%")[0]);
  if (v6 === undefined) return undefined;
  return v6.reduce((bits, word) => (bits << 16n) | BigInt(word), 0n);
}

function inPrefix(address: string, prefix: string, length: number): Answer {
  if (addressFamily(address) !== addressFamily(prefix)) return "no";
  const width = addressFamily(address) === "IPv4" ? 32 : 128;
  const a = addressBits(address);
  const p = addressBits(prefix);
  if (a === undefined || p === undefined) return "maybe";
  const shift = BigInt(width - Math.min(length, width));
  return a >> shift === p >> shift ? "yes" : "no";
}

function valueHolds(
  field: "protocol" | "dport" | "daddr" | "saddr" | "iif",
  value: RuleValue,
  datagram: Datagram,
): Answer {
  if (field === "protocol") {
    if (value.kind === "text" && value.value === "all") return "yes";
    const wanted = protocolNumber(value);
    if (wanted === undefined) return "maybe";
    return wanted === PROTOCOL_NUMBERS[datagram.protocol] ? "yes" : "no";
  }
  if (field === "dport") {
    if (datagram.dport === undefined) return "no";
    if (value.kind === "number") {
      return value.value === datagram.dport ? "yes" : "no";
    }
    if (value.kind === "range") {
      const inside = value.from <= datagram.dport && datagram.dport <= value.to;
      return inside ? "yes" : "no";
    }
    return "maybe";
  }
  if (field === "iif") {
    if (datagram.iif === undefined || value.kind !== "text") return "maybe";
    const name = value.value;
    const wildcard = name.endsWith("+") || name.endsWith("*");
    const same = wildcard
      ? datagram.iif.startsWith(name.slice(0, -1))
      : datagram.iif === name;
    return same ? "yes" : "no";
  }
  const address = field === "daddr" ? datagram.daddr : datagram.saddr;
  if (address === undefined) return "maybe";
  if (value.kind === "prefix") {
    return inPrefix(address, value.address, value.length);
  }
  if (value.kind === "text") {
    const width = addressFamily(value.value) === "IPv4" ? 32 : 128;
    return inPrefix(address, value.value, width);
  }
  return "maybe";
}

function matchHolds(match: RuleMatch, datagram: Datagram): Answer {
  if (match.field === "unknown") return "maybe";
  // A set holds when any of its values does.
  const answers = match.values.map((v) => valueHolds(match.field, v, datagram));
  const any: Answer = answers.includes("yes")
    ? "yes"
    : answers.includes("maybe")
    ? "maybe"
    : "no";
  if (!match.negate) return any;
  return any === "yes" ? "no" : any === "no" ? "yes" : "maybe";
}

/**
 * Whether a rule's table sees datagrams of this family.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { familySees } from "./firewall_rules.ts";
 * assert.ok(familySees("inet", "IPv6"));
 * assert.equal(familySees("ip", "IPv6"), false);
 * ```
 */
export function familySees(family: string, datagram: Family): boolean {
  if (family === "inet" || family === "netdev") return true;
  return family === (datagram === "IPv4" ? "ip" : "ip6");
}

/**
 * Whether every condition of `rule` holds for `datagram`: `yes` (it
 * certainly applies), `no`, or `maybe` (it depends on what doctor cannot
 * know, such as the sender or an extension match).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ruleApplies } from "./firewall_rules.ts";
 * const rule = {
 *   family: "inet", table: "t", chain: "in", hook: "input" as const, verdict: "drop" as const,
 *   text: "udp dport 5000 drop", remove: "nft delete rule inet t in handle 2",
 *   matches: [{ field: "dport" as const, negate: false, values: [{ kind: "number" as const, value: 5000 }] }],
 * };
 * const datagram = { family: "IPv4" as const, protocol: "udp" as const, dport: 5000 };
 * assert.equal(ruleApplies(rule, datagram), "yes");
 * assert.equal(ruleApplies(rule, { ...datagram, dport: 5001 }), "no");
 * ```
 */
export function ruleApplies(rule: FirewallRule, datagram: Datagram): Answer {
  if (!familySees(rule.family, datagram.family)) return "no";
  let answer: Answer = "yes";
  for (const match of rule.matches) {
    const holds = matchHolds(match, datagram);
    if (holds === "no") return "no";
    if (holds === "maybe") answer = "maybe";
  }
  return answer;
}
