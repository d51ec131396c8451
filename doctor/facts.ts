/**
 * What `mcast doctor` knows about a host, as plain data: the target it
 * checks (group, port, interface, expected sender) and the facts gathered
 * from the host (`gather.ts`). The checks (`*_check.ts`) are pure
 * functions of these, so they are tested without a network.
 *
 * @module
 */

import type { Family } from "../lib/transports/transport.ts";

/** What the user asked about: `doctor -g GROUP -p PORT [-i IF] [--source ADDR]`. */
export interface DoctorTarget {
  /** The multicast group. */
  group: string;
  /** Its family. */
  family: Family;
  /** The UDP port. */
  port: number;
  /** The interface given with `-i` (a name or an address), if any. */
  iface?: string;
  /** The sender expected (`--source`), if any. */
  source?: string;
}

/** A fact read from the host, or why it could not be read. */
export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

/** One address of an interface. */
export interface InterfaceAddress {
  /** Its family. */
  family: Family;
  /** The address, without prefix length. */
  address: string;
  /** The prefix length. */
  prefix: number;
}

/** One network interface, as `ip -j addr show` lists it. */
export interface InterfaceFact {
  /** Name, such as `eth0`. */
  name: string;
  /** Administratively up (`ip link set IF up`). */
  up: boolean;
  /** Has the MULTICAST flag (`ip link set IF multicast on`). */
  multicast: boolean;
  /** The loopback interface (`lo`). */
  loopback: boolean;
  /** Its addresses. */
  addresses: InterfaceAddress[];
}

/** Where a datagram would leave by (`ip route get`). */
export interface RouteFact {
  /** The outgoing interface. */
  dev: string;
  /** The source address the kernel would choose, if any. */
  source?: string;
  /** The gateway, for a route to a unicast address that has one. */
  gateway?: string;
}

/** How the self-test on one interface ended. */
export type SelfTestOutcome =
  | "received"
  | "open"
  | "join"
  | "send"
  | "timeout";

/** The self-test on one interface (or with none given, as send and listen without -i). */
export interface SelfTestResult {
  /** The interface tested by name; undefined for the OS's choice (no -i). */
  iface?: string;
  /** `received`, or the step that failed. */
  outcome: SelfTestOutcome;
  /** The TTL (hop limit) the test datagram was sent with: 0 never leaves the host. */
  ttl: number;
  /** Milliseconds from send to receipt, when received. */
  ms?: number;
  /** How long it waited, when nothing came. */
  waitedMs?: number;
  /** The error of the failed step. */
  error?: string;
}

/** Everything doctor gathered about the host for one target. */
export interface HostFacts {
  /** The interfaces (`ip -j addr show`). */
  interfaces: Read<InterfaceFact[]>;
  /** The route for the group (with `oif` when -i names one); `null` when there is none. */
  route: Read<RouteFact | null>;
  /** The interfaces the default routes of the group's family leave by. */
  defaultRoutes: Read<string[]>;
  /** The route back to `--source`, when one was given; `null` when there is none. */
  sourceRoute?: Read<RouteFact | null>;
  /** Files read under /proc and /sys, by path. */
  files: Record<string, Read<string>>;
  /** Firewall rule listings: `nft -j list ruleset`, and `iptables-save` or `ip6tables-save`. */
  firewall: { nft: Read<string>; iptables: Read<string> };
  /** The self-tests run. */
  selfTests: SelfTestResult[];
}

/**
 * A fact that was read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readOk } from "./facts.ts";
 * assert.deepEqual(readOk(3), { ok: true, value: 3 });
 * ```
 */
export function readOk<T>(value: T): Read<T> {
  return { ok: true, value };
}

/**
 * A fact that could not be read, and why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFailed } from "./facts.ts";
 * assert.deepEqual(readFailed("nft: not found on PATH"), { ok: false, error: "nft: not found on PATH" });
 * ```
 */
export function readFailed<T>(error: string): Read<T> {
  return { ok: false, error };
}
