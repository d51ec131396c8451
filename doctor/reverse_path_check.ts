/**
 * The `rp_filter` check: reverse-path filtering drops a datagram that
 * arrives on an interface other than the one the route back to its
 * sender leaves by (strict, `rp_filter=1`), or whose sender has no route
 * back at all (strict and loose, `2`). Multicast from behind a router on
 * a multi-homed host is its classic victim. The kernel counts these drops
 * (`IPReversePathFilter` in /proc/net/netstat). Pure.
 *
 * @module
 */

import type { DoctorTarget, HostFacts } from "./facts.ts";
import { type Finding, finding } from "./finding.ts";
import { interfaceUnderTest } from "./interfaces.ts";
import {
  interfaceSysctlFile,
  NETSTAT_FILE,
  netstatCounter,
  numberFile,
  sysctlCommand,
} from "./proc_files.ts";

const CHECK = "rp_filter";

/** The files this check reads for `iface`. */
export function reversePathFiles(iface: string): string[] {
  return [
    interfaceSysctlFile("ipv4", "all", "rp_filter"),
    interfaceSysctlFile("ipv4", iface, "rp_filter"),
    NETSTAT_FILE,
  ];
}

function droppedSoFar(facts: HostFacts): string {
  const file = facts.files[NETSTAT_FILE];
  const count = file?.ok
    ? netstatCounter(file.value, "TcpExt", "IPReversePathFilter")
    : undefined;
  return count === undefined || count === 0
    ? ""
    : ` (the kernel has dropped ${count} datagram${
      count === 1 ? "" : "s"
    } by reverse-path filtering so far)`;
}

/** The commands that make the kernel's rp_filter on `name` `value` (it applies the larger of `all` and the interface's). */
function setMode(name: string, value: number, all: number): string {
  const own = sysctlCommand("ipv4", name, "rp_filter", value);
  return all > value
    ? `${own} and ${sysctlCommand("ipv4", "all", "rp_filter", value)}`
    : own;
}

function withSource(
  facts: HostFacts,
  target: DoctorTarget,
  name: string,
  mode: number,
): Finding {
  const source = target.source!;
  const back = facts.sourceRoute;
  const fix = (value: number) =>
    sysctlCommand("ipv4", name, "rp_filter", value);
  if (back === undefined || !back.ok) {
    return finding(
      CHECK,
      "warn",
      `rp_filter=${mode} on ${name}, and the route back to ${source} is unknown${
        back?.ok === false ? `: ${back.error}` : ""
      }`,
    );
  }
  if (back.value === null) {
    return finding(
      CHECK,
      "fail",
      `rp_filter=${mode} on ${name} drops datagrams from ${source}: there is no route back to it${
        droppedSoFar(facts)
      }`,
      `${fix(0)} and ${
        sysctlCommand("ipv4", "all", "rp_filter", 0)
      }, or add a route back to ${source} by ${name}`,
    );
  }
  if (mode === 1 && back.value.dev !== name) {
    return finding(
      CHECK,
      "fail",
      `strict rp_filter (1) on ${name} drops datagrams from ${source}: the route back to it leaves by ${back.value.dev}, not ${name}${
        droppedSoFar(facts)
      }`,
      `${fix(2)} (loose: any route back will do)`,
    );
  }
  return finding(
    CHECK,
    "ok",
    `rp_filter=${mode} on ${name} lets ${source} through: the route back to it leaves by ${back.value.dev}`,
  );
}

/**
 * The `rp_filter` finding, for the interface under test (IPv4; IPv6 has
 * no rp_filter).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reversePathCheck } from "./reverse_path_check.ts";
 * const eth0 = { name: "eth0", up: true, multicast: true, loopback: false, addresses: [] };
 * const facts = {
 *   interfaces: { ok: true as const, value: [eth0] },
 *   route: { ok: true as const, value: { dev: "eth0" } },
 *   defaultRoutes: { ok: true as const, value: ["eth1"] },
 *   files: {
 *     "/proc/sys/net/ipv4/conf/all/rp_filter": { ok: true as const, value: "0\n" },
 *     "/proc/sys/net/ipv4/conf/eth0/rp_filter": { ok: true as const, value: "1\n" },
 *   },
 *   firewall: { nft: { ok: false as const, error: "" }, iptables: { ok: false as const, error: "" } },
 *   selfTests: [],
 * };
 * const result = reversePathCheck(facts, { group: "239.1.1.1", family: "IPv4", port: 5000 });
 * assert.equal(result.verdict, "warn");
 * assert.match(result.fix!, /^sysctl -w net\.ipv4\.conf\.eth0\.rp_filter=2,/);
 * ```
 */
export function reversePathCheck(
  facts: HostFacts,
  target: DoctorTarget,
): Finding {
  if (target.family === "IPv6") {
    return finding(
      CHECK,
      "ok",
      "IPv6 has no rp_filter (an rpfilter firewall rule would show under firewall)",
    );
  }
  const iface = interfaceUnderTest(facts, target);
  if (iface === undefined) {
    return finding(
      CHECK,
      "ok",
      "not checked: no interface to check (see interfaces and route)",
    );
  }
  const name = iface.name;
  const all = numberFile(
    facts,
    interfaceSysctlFile("ipv4", "all", "rp_filter"),
  );
  const own = numberFile(facts, interfaceSysctlFile("ipv4", name, "rp_filter"));
  if (all === undefined || own === undefined) {
    const path = interfaceSysctlFile(
      "ipv4",
      all === undefined ? "all" : name,
      "rp_filter",
    );
    const file = facts.files[path];
    return finding(
      CHECK,
      "warn",
      `cannot read ${path}${file?.ok === false ? `: ${file.error}` : ""}`,
    );
  }
  // The kernel applies the larger of the two.
  const mode = Math.max(all, own);
  if (mode === 0) return finding(CHECK, "ok", `rp_filter is off on ${name}`);
  if (target.source !== undefined) return withSource(facts, target, name, mode);
  const defaults = facts.defaultRoutes.ok ? facts.defaultRoutes.value : [];
  if (defaults.includes(name)) {
    return finding(
      CHECK,
      "ok",
      `rp_filter=${mode} on ${name}, which the default route leaves by: senders reachable through it pass${
        droppedSoFar(facts)
      }`,
    );
  }
  const elsewhere = defaults.length === 0
    ? "there is no default route"
    : `the default route leaves by ${defaults.join(", ")}`;
  if (mode === 2 && defaults.length > 0) {
    return finding(
      CHECK,
      "ok",
      `loose rp_filter (2) on ${name}: any sender with a route back passes${
        droppedSoFar(facts)
      }`,
    );
  }
  return finding(
    CHECK,
    "warn",
    `rp_filter=${mode} on ${name} drops datagrams from senders beyond ${name}'s own subnets unless the route back to them leaves by ${name} (${elsewhere})${
      droppedSoFar(facts)
    }`,
    `${
      setMode(name, defaults.length === 0 ? 0 : 2, all)
    }, or check one sender with doctor --source ADDR`,
  );
}
