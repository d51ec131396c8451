/**
 * The `interfaces` check: are there interfaces that can carry the group's
 * multicast (up, MULTICAST, with an address of its family), and is the
 * one `-i` names one of them? Pure.
 *
 * @module
 */

import type { DoctorTarget, HostFacts, InterfaceFact } from "./facts.ts";
import { type Finding, finding } from "./finding.ts";
import {
  candidates,
  choicesText,
  describeInterface,
  findInterface,
  interfaceProblem,
} from "./interfaces.ts";

const CHECK = "interfaces";

/** The command that removes what keeps `iface` from multicast. */
export function interfaceFix(
  iface: InterfaceFact,
  family: DoctorTarget["family"],
): string {
  if (!iface.up) return `ip link set ${iface.name} up`;
  if (!iface.multicast && !iface.loopback) {
    return `ip link set ${iface.name} multicast on`;
  }
  return `ip address add ADDRESS/PREFIX dev ${iface.name} (it has no ${family} address)`;
}

/**
 * The way to other hosts from a host whose `-i` named loopback: the
 * candidates for `-i`, else what would make one (an interface that is
 * down or has multicast off), else that there is none.
 */
function toOtherHosts(
  interfaces: InterfaceFact[],
  family: DoctorTarget["family"],
): string {
  const usable = candidates(interfaces, family);
  if (usable.length > 0) {
    return `to reach other hosts pass -i with one of: ${
      choicesText(usable, family)
    }`;
  }
  const fixable = interfaces.filter((i) =>
    !i.loopback && i.addresses.some((a) => a.family === family)
  );
  if (fixable.length > 0) {
    return `to reach other hosts: ${
      fixable.map((i) => interfaceFix(i, family)).join("; ")
    }`;
  }
  return `to reach other hosts this host needs an interface on their network: it has none with an ${family} address but loopback`;
}

function namedInterface(
  interfaces: InterfaceFact[],
  target: DoctorTarget,
  spec: string,
): Finding {
  const iface = findInterface(interfaces, spec);
  const choices = choicesText(interfaces, target.family);
  if (iface === undefined) {
    return finding(
      CHECK,
      "fail",
      `no interface here is named or has the address "${spec}"`,
      `pass -i with one of: ${choices}`,
    );
  }
  const problem = interfaceProblem(iface, target.family);
  if (problem !== undefined) {
    return finding(
      CHECK,
      "fail",
      `-i ${spec}: ${iface.name} ${problem}`,
      interfaceFix(iface, target.family),
    );
  }
  if (iface.loopback) {
    return finding(
      CHECK,
      "warn",
      `-i ${spec}: ${
        describeInterface(iface, target.family)
      } is loopback: only this host's own listeners and senders meet there`,
      toOtherHosts(interfaces, target.family),
    );
  }
  return finding(
    CHECK,
    "ok",
    `-i ${spec}: ${
      describeInterface(iface, target.family)
    } is up with multicast on (candidates for -i: ${choices})`,
  );
}

function anyInterface(
  interfaces: InterfaceFact[],
  target: DoctorTarget,
): Finding {
  const usable = candidates(interfaces, target.family);
  const choices = choicesText(interfaces, target.family);
  const broken = interfaces.filter((i) =>
    !i.loopback && i.addresses.length > 0 &&
    interfaceProblem(i, target.family) !== undefined &&
    interfaceProblem(i, target.family) !== `has no ${target.family} address`
  );
  const problems = broken.map((i) =>
    `${i.name} ${interfaceProblem(i, target.family)}`
  ).join("; ");
  const fixes = broken.map((i) => interfaceFix(i, target.family)).join("; ");
  if (usable.length === 0) {
    return finding(
      CHECK,
      "fail",
      `no interface can carry ${target.family} multicast to other hosts${
        problems === "" ? "" : `: ${problems}`
      } (this host has: ${choices})`,
      fixes === ""
        ? `bring up an interface with an ${target.family} address; until then -i lo reaches this host only`
        : fixes,
    );
  }
  if (broken.length > 0) {
    return finding(
      CHECK,
      "warn",
      `candidates for -i: ${choices}; ${problems}`,
      fixes,
    );
  }
  return finding(CHECK, "ok", `candidates for -i: ${choices}`);
}

/**
 * The `interfaces` finding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interfacesCheck } from "./interfaces_check.ts";
 * const eth0 = { name: "eth0", up: true, multicast: false, loopback: false,
 *   addresses: [{ family: "IPv4" as const, address: "10.77.1.10", prefix: 24 }] };
 * const facts = { interfaces: { ok: true as const, value: [eth0] } };
 * const result = interfacesCheck(facts, { group: "239.1.1.1", family: "IPv4", port: 5000 });
 * assert.equal(result.verdict, "fail");
 * assert.equal(result.fix, "ip link set eth0 multicast on");
 * ```
 */
export function interfacesCheck(
  facts: Pick<HostFacts, "interfaces">,
  target: DoctorTarget,
): Finding {
  if (!facts.interfaces.ok) {
    return finding(
      CHECK,
      "warn",
      `cannot list the interfaces: ${facts.interfaces.error}`,
      "install iproute2 (the ip command)",
    );
  }
  return target.iface === undefined
    ? anyInterface(facts.interfaces.value, target)
    : namedInterface(facts.interfaces.value, target, target.iface);
}
