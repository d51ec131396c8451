/**
 * The `igmp` check (`mld` for IPv6): a forced IGMP or MLD version (an
 * IGMPv1/v2 or MLDv1 host cannot make source-specific joins), the querier
 * version seen, and who has joined the group on this host right now
 * (/proc/net/igmp, /proc/net/igmp6). Pure.
 *
 * @module
 */

import { isSourceSpecific, parseIPv6 } from "../lib/address.ts";
import type { DoctorTarget, HostFacts } from "./facts.ts";
import { type Finding, finding } from "./finding.ts";
import { interfaceUnderTest } from "./interfaces.ts";
import {
  IGMP6_FILE,
  IGMP_FILE,
  interfaceSysctlFile,
  type Membership,
  numberFile,
  parseMemberships,
  parseQueriers,
  sysctlCommand,
} from "./proc_files.ts";

function protocolOf(target: DoctorTarget) {
  return target.family === "IPv4"
    ? {
      name: "igmp",
      ip: "ipv4" as const,
      key: "force_igmp_version",
      file: IGMP_FILE,
      v3: 3,
      label: "IGMP",
    }
    : {
      name: "mld",
      ip: "ipv6" as const,
      key: "force_mld_version",
      file: IGMP6_FILE,
      v3: 2,
      label: "MLD",
    };
}

/** The files this check reads for `iface`. */
export function igmpFiles(
  target: DoctorTarget,
  iface: string | undefined,
): string[] {
  const p = protocolOf(target);
  const names = iface === undefined ? ["all"] : ["all", iface];
  return [p.file, ...names.map((n) => interfaceSysctlFile(p.ip, n, p.key))];
}

function sameGroup(a: string, b: string): boolean {
  const x = parseIPv6(a);
  const y = parseIPv6(b);
  if (x !== undefined && y !== undefined) return x.every((v, i) => v === y[i]);
  return a === b;
}

function membershipText(target: DoctorTarget, joined: Membership[]): string {
  if (joined.length === 0) {
    return `no socket on this host has joined ${target.group} yet`;
  }
  return `${target.group} is joined on ${
    joined.map((m) =>
      `${m.iface} (${m.users} socket${m.users === 1 ? "" : "s"})`
    ).join(", ")
  }`;
}

/**
 * The `igmp` (IPv4) or `mld` (IPv6) finding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { igmpCheck } from "./igmp_check.ts";
 * const eth0 = { name: "eth0", up: true, multicast: true, loopback: false, addresses: [] };
 * const facts = {
 *   interfaces: { ok: true as const, value: [eth0] },
 *   route: { ok: true as const, value: { dev: "eth0" } },
 *   defaultRoutes: { ok: true as const, value: [] },
 *   files: {
 *     "/proc/net/igmp": { ok: true as const, value: "" },
 *     "/proc/sys/net/ipv4/conf/all/force_igmp_version": { ok: true as const, value: "0\n" },
 *     "/proc/sys/net/ipv4/conf/eth0/force_igmp_version": { ok: true as const, value: "2\n" },
 *   },
 *   firewall: { nft: { ok: false as const, error: "" }, iptables: { ok: false as const, error: "" } },
 *   selfTests: [],
 * };
 * const ssm = igmpCheck(facts, { group: "232.1.1.1", family: "IPv4", port: 5000, source: "10.0.0.1" });
 * assert.equal(ssm.verdict, "fail");
 * assert.equal(ssm.fix, "sysctl -w net.ipv4.conf.eth0.force_igmp_version=0");
 * ```
 */
export function igmpCheck(facts: HostFacts, target: DoctorTarget): Finding {
  const p = protocolOf(target);
  const iface = interfaceUnderTest(facts, target)?.name;
  const list = facts.files[p.file];
  const memberships = list?.ok
    ? parseMemberships(list.value, target.family).filter((m) =>
      sameGroup(m.group, target.group)
    )
    : undefined;
  const joined = memberships === undefined
    ? `cannot read ${p.file}${list?.ok === false ? `: ${list.error}` : ""}`
    : membershipText(target, memberships);
  if (iface === undefined) return finding(p.name, "ok", joined);
  const forced = Math.max(
    numberFile(facts, interfaceSysctlFile(p.ip, "all", p.key)) ?? 0,
    numberFile(facts, interfaceSysctlFile(p.ip, iface, p.key)) ?? 0,
  );
  const querier = list?.ok && target.family === "IPv4"
    ? parseQueriers(list.value)[iface]
    : undefined;
  const ssm = isSourceSpecific(target.group) || target.source !== undefined;
  if (forced !== 0 && forced < p.v3) {
    const text =
      `${p.label}v${forced} is forced on ${iface}: a source-specific join (listen --source) cannot be made there; ${joined}`;
    const fix = sysctlCommand(p.ip, iface, p.key, 0);
    return ssm
      ? finding(p.name, "fail", text, fix)
      : finding(p.name, "ok", text);
  }
  if (querier !== undefined && querier < p.v3 && ssm) {
    return finding(
      p.name,
      "warn",
      `the ${p.label} querier on ${iface} speaks v${querier}: routers there do not forward by source; ${joined}`,
      "ask the network's owner for IGMPv3 on its querier",
    );
  }
  return finding(
    p.name,
    "ok",
    `${p.label} on ${iface}: no version forced${
      querier === undefined ? "" : `, querier v${querier}`
    }; ${joined}`,
  );
}
