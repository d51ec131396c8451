/**
 * Which interfaces doctor looks at: the one under test (`-i`, or the one
 * the group's route leaves by), the candidates for `-i` (up, MULTICAST,
 * not loopback, with an address of the group's family), and how each is
 * written in a message (`eth0 10.77.1.10`). Pure.
 *
 * @module
 */

import { addressFamily, parseIPv6 } from "../lib/address.ts";
import {
  describeInterfaceChoices,
  type InterfaceChoice,
  rankInterfaceChoices,
} from "../lib/interface.ts";
import type { Family } from "../lib/transports/transport.ts";
import type { DoctorTarget, HostFacts, InterfaceFact } from "./facts.ts";

/** The first address of `family` on `iface`, preferring a global one. */
export function addressOn(
  iface: InterfaceFact,
  family: Family,
): string | undefined {
  const all = iface.addresses.filter((a) => a.family === family);
  const global = all.find((a) => !a.address.toLowerCase().startsWith("fe80"));
  return (global ?? all[0])?.address;
}

/**
 * `eth0 10.77.1.10`: an interface's name and its address of `family`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeInterface } from "./interfaces.ts";
 * const eth0 = { name: "eth0", up: true, multicast: true, loopback: false,
 *   addresses: [{ family: "IPv4" as const, address: "10.77.1.10", prefix: 24 }] };
 * assert.equal(describeInterface(eth0, "IPv4"), "eth0 10.77.1.10");
 * assert.equal(describeInterface(eth0, "IPv6"), "eth0 (no IPv6 address)");
 * ```
 */
export function describeInterface(
  iface: InterfaceFact,
  family: Family,
): string {
  const address = addressOn(iface, family);
  return address === undefined
    ? `${iface.name} (no ${family} address)`
    : `${iface.name} ${address}`;
}

/** What keeps an interface from carrying the group's multicast, if anything. */
export function interfaceProblem(
  iface: InterfaceFact,
  family: Family,
): string | undefined {
  if (!iface.up) return "is down";
  if (!iface.multicast && !iface.loopback) {
    return "has multicast switched off (no MULTICAST flag)";
  }
  if (addressOn(iface, family) === undefined) {
    return `has no ${family} address`;
  }
  return undefined;
}

/**
 * The candidates for `-i`: up, with the MULTICAST flag, not loopback, with
 * an address of `family`.
 */
export function candidates(
  interfaces: readonly InterfaceFact[],
  family: Family,
): InterfaceFact[] {
  return interfaces.filter((i) =>
    !i.loopback && interfaceProblem(i, family) === undefined
  );
}

/**
 * The host's interfaces as `-i` takes them, name and address, candidates
 * first, then the others with what keeps them out, loopback last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { choicesText } from "./interfaces.ts";
 * const v4 = (address: string) => [{ family: "IPv4" as const, address, prefix: 8 }];
 * assert.equal(choicesText([
 *   { name: "lo", up: true, multicast: false, loopback: true, addresses: v4("127.0.0.1") },
 *   { name: "eth1", up: true, multicast: false, loopback: false, addresses: v4("10.0.0.2") },
 *   { name: "eth0", up: true, multicast: true, loopback: false, addresses: v4("10.0.0.1") },
 * ], "IPv4"), "eth0 10.0.0.1, eth1 10.0.0.2 (multicast off), lo 127.0.0.1 (this host only)");
 * ```
 */
export function choicesText(
  interfaces: readonly InterfaceFact[],
  family: Family,
): string {
  const choices: InterfaceChoice[] = interfaces.flatMap((i) => {
    const address = addressOn(i, family);
    return address === undefined ? [] : [{
      name: i.name,
      address,
      loopback: i.loopback,
      multicast: i.multicast,
      up: i.up,
    }];
  });
  // The order and wording send and listen use when they suggest -i.
  return describeInterfaceChoices(rankInterfaceChoices(choices)) || "none";
}

function sameAddress(a: string, b: string): boolean {
  const x = parseIPv6(a.split("%")[0]);
  const y = parseIPv6(b.split("%")[0]);
  if (x !== undefined && y !== undefined) return x.every((v, i) => v === y[i]);
  return a === b;
}

/**
 * The interface `-i` names (by name or address), when the host has it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findInterface } from "./interfaces.ts";
 * const eth0 = { name: "eth0", up: true, multicast: true, loopback: false,
 *   addresses: [{ family: "IPv4" as const, address: "10.77.1.10", prefix: 24 }] };
 * assert.equal(findInterface([eth0], "10.77.1.10"), eth0);
 * assert.equal(findInterface([eth0], "eth0"), eth0);
 * assert.equal(findInterface([eth0], "eth9"), undefined);
 * ```
 */
export function findInterface(
  interfaces: readonly InterfaceFact[],
  spec: string,
): InterfaceFact | undefined {
  if (addressFamily(spec.split("%")[0]) === undefined) {
    return interfaces.find((i) => i.name === spec);
  }
  return interfaces.find((i) =>
    i.addresses.some((a) => sameAddress(a.address, spec))
  );
}

/**
 * The interface doctor checks closely: the one `-i` names, else the one
 * the group's route leaves by; `undefined` when neither is known.
 */
export function interfaceUnderTest(
  facts: HostFacts,
  target: DoctorTarget,
): InterfaceFact | undefined {
  if (!facts.interfaces.ok) return undefined;
  if (target.iface !== undefined) {
    return findInterface(facts.interfaces.value, target.iface);
  }
  if (!facts.route.ok || facts.route.value === null) return undefined;
  const dev = facts.route.value.dev;
  return facts.interfaces.value.find((i) => i.name === dev);
}
