/**
 * A hint for a `send -i IF` that nobody answered: the interface has
 * multicast switched off (no `MULTICAST` flag), which `doctor` fails
 * (`interfaces` check). Without this `send` printed `1 sent, 0 replies`
 * and nothing else. Said only when no reply came: the flag is not always
 * what stops multicast (in a namespace lab a veth with the flag off still
 * carries it both ways), so the hint says what is known, the flag and
 * the command that sets it, not that it was the cause. The flags are read
 * where they can be (`/sys/class/net`, see lib/interface.ts).
 *
 * @module
 */

import {
  type InterfaceChoice,
  interfaceChoices,
  type InterfaceEntry,
} from "../lib/interface.ts";
import type { Family } from "../lib/transports/transport.ts";

/** The host's interfaces, as {@linkcode multicastOffHint} reads them. */
export interface HostInterfaces {
  /** The interfaces with an address of the family, and their flags. */
  choices: readonly InterfaceChoice[];
  /** Every address of every interface (to find an interface `-i` gave by address). */
  entries: readonly InterfaceEntry[];
}

/** This host's interfaces, or none where they cannot be listed. */
function hostInterfaces(family: Family): HostInterfaces {
  let entries: InterfaceEntry[] = [];
  try {
    entries = Deno.networkInterfaces() as InterfaceEntry[];
  } catch {
    // No --allow-sys=networkInterfaces: nothing to say.
  }
  return { choices: interfaceChoices(family), entries };
}

/**
 * The hint for `-i iface` when no reply came, or `undefined` when the
 * interface carries multicast (or its flags cannot be read).
 *
 * @param iface What `-i` gave: a name or an address.
 * @param family The group's family.
 * @param host The host's interfaces. @default read from this host
 * @returns `hint: interface mo0 has multicast switched off ...`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { multicastOffHint } from "./interface_hint.ts";
 * const mo0 = { name: "mo0", address: "10.77.1.11", loopback: false, multicast: false, up: true };
 * const host = { choices: [mo0], entries: [{ name: "mo0", family: "IPv4" as const, address: "10.77.1.11" }] };
 * assert.equal(
 *   multicastOffHint("10.77.1.11", "IPv4", host),
 *   "hint: interface mo0 has multicast switched off (no MULTICAST flag), which doctor fails for multicast: ip link set mo0 multicast on",
 * );
 * assert.equal(multicastOffHint("mo0", "IPv4", { ...host, choices: [{ ...mo0, multicast: true }] }), undefined);
 * ```
 */
export function multicastOffHint(
  iface: string | undefined,
  family: Family,
  host: HostInterfaces = hostInterfaces(family),
): string | undefined {
  if (iface === undefined) return undefined;
  const bare = iface.split("%")[0];
  const name = host.choices.some((choice) => choice.name === iface)
    ? iface
    : host.entries.find((entry) => entry.address.split("%")[0] === bare)
      ?.name;
  const choice = host.choices.find((c) => c.name === name);
  if (choice === undefined || choice.loopback || choice.multicast) {
    return undefined;
  }
  return `hint: interface ${choice.name} has multicast switched off (no MULTICAST flag), which doctor fails for multicast: ip link set ${choice.name} multicast on`;
}
