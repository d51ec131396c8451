/**
 * The files under /proc that doctor reads, where each lives and what it
 * says: sysctls (`rp_filter`, `force_igmp_version`, `rmem_max`), group
 * memberships (`/proc/net/igmp`, `/proc/net/igmp6`) and the kernel's
 * counters (`/proc/net/netstat`). Pure: `gather.ts` reads the files.
 *
 * @module
 */

import type { Family } from "../lib/transports/transport.ts";
import type { HostFacts } from "./facts.ts";

/** Where the IPv4 group memberships are listed. */
export const IGMP_FILE = "/proc/net/igmp";
/** Where the IPv6 group memberships are listed. */
export const IGMP6_FILE = "/proc/net/igmp6";
/** Where the kernel's extended counters are (`IPReversePathFilter`). */
export const NETSTAT_FILE = "/proc/net/netstat";
/** The largest receive buffer a socket may ask for without privileges. */
export const RMEM_MAX_FILE = "/proc/sys/net/core/rmem_max";
/** The receive buffer a socket gets when it asks for none. */
export const RMEM_DEFAULT_FILE = "/proc/sys/net/core/rmem_default";

/**
 * The file of a per-interface sysctl (`all` for the setting of every
 * interface).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interfaceSysctlFile } from "./proc_files.ts";
 * assert.equal(interfaceSysctlFile("ipv4", "eth0", "rp_filter"), "/proc/sys/net/ipv4/conf/eth0/rp_filter");
 * ```
 */
export function interfaceSysctlFile(
  protocol: "ipv4" | "ipv6",
  iface: string,
  key: string,
): string {
  return `/proc/sys/net/${protocol}/conf/${iface}/${key}`;
}

/**
 * How a user sets that sysctl: `sysctl -w net.ipv4.conf.eth0.rp_filter=2`
 * (with slashes when the interface name has a dot, as `eth0.100`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sysctlCommand } from "./proc_files.ts";
 * assert.equal(sysctlCommand("ipv4", "eth0", "rp_filter", 2), "sysctl -w net.ipv4.conf.eth0.rp_filter=2");
 * assert.equal(sysctlCommand("ipv4", "eth0.7", "rp_filter", 2), "sysctl -w net/ipv4/conf/eth0.7/rp_filter=2");
 * ```
 */
export function sysctlCommand(
  protocol: "ipv4" | "ipv6",
  iface: string,
  key: string,
  value: number,
): string {
  const parts = ["net", protocol, "conf", iface, key];
  return `sysctl -w ${parts.join(iface.includes(".") ? "/" : ".")}=${value}`;
}

/**
 * A number read from one of the facts' files, or `undefined` when the file
 * was not read or holds no number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberFile } from "./proc_files.ts";
 * const facts = { files: { "/proc/sys/net/core/rmem_max": { ok: true as const, value: "212992\n" } } };
 * assert.equal(numberFile(facts, "/proc/sys/net/core/rmem_max"), 212992);
 * assert.equal(numberFile(facts, "/proc/nothing"), undefined);
 * ```
 */
export function numberFile(
  facts: Pick<HostFacts, "files">,
  path: string,
): number | undefined {
  const file = facts.files[path];
  if (file === undefined || !file.ok) return undefined;
  const value = Number(file.value.trim());
  return file.value.trim() === "" || !Number.isFinite(value)
    ? undefined
    : value;
}

/** A group joined on an interface, from /proc/net/igmp or /proc/net/igmp6. */
export interface Membership {
  /** The interface. */
  iface: string;
  /** The group. */
  group: string;
  /** Sockets (and the kernel itself) that joined it there. */
  users: number;
}

function ipv4FromKernelHex(hex: string): string {
  // The kernel prints the network-order address as a host-order number:
  // on little-endian CPUs (x86_64, aarch64) its bytes come out reversed.
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join(".");
}

function ipv6FromHex(hex: string): string {
  const words = hex.match(/.{4}/g)!.map((w) => parseInt(w, 16).toString(16));
  // Shorten the longest run of zero words, as addresses are written.
  const text = words.join(":");
  const runs = [...text.matchAll(/(?:^|:)0(?::0)+(?::|$)/g)];
  if (runs.length === 0) return text;
  const longest = runs.reduce((a, b) => b[0].length > a[0].length ? b : a);
  const at = longest.index!;
  return `${text.slice(0, at)}::${text.slice(at + longest[0].length)}`;
}

/**
 * Parses /proc/net/igmp (IPv4) or /proc/net/igmp6 (IPv6).
 *
 * @param text The file's text.
 * @param family Which of the two it is.
 * @returns Every membership listed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMemberships } from "./proc_files.ts";
 * const igmp = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n" +
 *   "2\teth0      :     2      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n\t\t\t\t014D00EF     3 0:00000000\t\t0\n";
 * assert.deepEqual(parseMemberships(igmp, "IPv4")[1], { iface: "eth0", group: "239.0.77.1", users: 3 });
 * const igmp6 = "2    eth0            ff020000000000000000000000000001     1 0000000C 0\n";
 * assert.deepEqual(parseMemberships(igmp6, "IPv6"), [{ iface: "eth0", group: "ff02::1", users: 1 }]);
 * ```
 */
export function parseMemberships(text: string, family: Family): Membership[] {
  const out: Membership[] = [];
  let iface = "";
  for (const line of text.split("\n")) {
    if (family === "IPv6") {
      const m = /^\s*\d+\s+(\S+)\s+([0-9a-f]{32})\s+(\d+)/i.exec(line);
      if (m) out.push({ iface: m[1], group: ipv6FromHex(m[2]), users: +m[3] });
      continue;
    }
    const device = /^\d+\s+(\S+)\s*:/.exec(line);
    if (device) iface = device[1];
    const group = /^\s+([0-9A-F]{8})\s+(\d+)/i.exec(line);
    if (group && iface !== "") {
      out.push({
        iface,
        group: ipv4FromKernelHex(group[1]),
        users: Number(group[2]),
      });
    }
  }
  return out;
}

/**
 * The IGMP querier version the kernel has seen per interface, from
 * /proc/net/igmp (`V1`, `V2` or `V3`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQueriers } from "./proc_files.ts";
 * assert.deepEqual(parseQueriers("Idx\tDevice : Count Querier\n2\teth0      :     2      V2\n"), { eth0: 2 });
 * ```
 */
export function parseQueriers(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^\d+\s+(\S+)\s*:\s*\d+\s+V(\d)/gm)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * One counter of /proc/net/netstat, such as `TcpExt` `IPReversePathFilter`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { netstatCounter } from "./proc_files.ts";
 * const text = "TcpExt: SyncookiesSent IPReversePathFilter\nTcpExt: 0 7\nIpExt: InNoRoutes\nIpExt: 1\n";
 * assert.equal(netstatCounter(text, "TcpExt", "IPReversePathFilter"), 7);
 * assert.equal(netstatCounter(text, "TcpExt", "Nothing"), undefined);
 * ```
 */
export function netstatCounter(
  text: string,
  section: string,
  name: string,
): number | undefined {
  const lines = text.split("\n").filter((l) => l.startsWith(`${section}:`));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i].split(/\s+/).slice(1);
    const values = lines[i + 1].split(/\s+/).slice(1);
    const at = names.indexOf(name);
    if (at >= 0) return Number(values[at]);
  }
  return undefined;
}
