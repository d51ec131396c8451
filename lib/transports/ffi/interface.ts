/**
 * Which network interface a multicast request names. An interface is
 * given as text; the kernel wants an IPv4 address or an interface index
 * (`struct ip_mreqn`, `struct ipv6_mreq`, `IPV6_MULTICAST_IF`).
 * {@link resolveInterface} does the mapping, {@link setMulticastInterface}
 * applies it to outgoing multicast.
 *
 * @module
 */

import { SocketError } from "../../errors.ts";
import { type Libc, LINUX } from "./libc.ts";
import { osCall } from "./os_call.ts";
import type { Family } from "../transport.ts";

/**
 * The interface part of a multicast request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InterfaceChoice } from "./interface.ts";
 * const byIndex: InterfaceChoice = { ip: new Uint8Array(4), index: 2 };
 * assert.equal(byIndex.index, 2);
 * ```
 */
export interface InterfaceChoice {
  /** IPv4 interface address (0.0.0.0 when chosen by index or by the OS). */
  ip: Uint8Array;
  /** Interface index; 0 lets the kernel choose (IPv4: by `ip`). */
  index: number;
}

const ANY4 = new Uint8Array(4);

/**
 * Resolves `iface`: an IPv4 address or interface name on IPv4; an
 * interface name or index, `%zone`, `address%zone` or the address of an
 * interface (needs `--allow-sys=networkInterfaces`) on IPv6. Absent or
 * empty lets the kernel choose. Throws `SocketError` (its message starts
 * `Cannot ${action}`) when no interface matches.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { Libc } from "./libc.ts";
 * import { resolveInterface } from "./interface.ts";
 * const libc = Libc.acquire();
 * assert.equal(resolveInterface(libc, "IPv6", "join", "%lo").index, 1);
 * libc.release();
 * ```
 */
export function resolveInterface(
  libc: Libc,
  family: Family,
  action: string,
  iface: string | undefined,
): InterfaceChoice {
  if (iface === undefined || iface === "") return { ip: ANY4, index: 0 };
  if (family === "IPv4") {
    const ip = libc.parseAddress("IPv4", iface);
    if (ip !== null) return { ip, index: 0 };
    return { ip: ANY4, index: interfaceIndex(libc, action, iface) };
  }
  const percent = iface.indexOf("%");
  if (percent >= 0) {
    return {
      ip: ANY4,
      index: interfaceIndex(libc, action, iface.slice(percent + 1)),
    };
  }
  const ip = libc.parseAddress("IPv6", iface);
  if (ip === null) {
    return { ip: ANY4, index: interfaceIndex(libc, action, iface) };
  }
  if (ip.every((byte) => byte === 0)) return { ip: ANY4, index: 0 };
  return { ip: ANY4, index: interfaceOfAddress(libc, action, iface, ip) };
}

/** The index of the interface named `name` (or the index `name` spells). */
function interfaceIndex(libc: Libc, action: string, name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const index = libc.interfaceIndex(name);
  if (index === 0) {
    throw new SocketError(
      `Cannot ${action}: there is no interface named "${name}" (ENODEV)`,
    );
  }
  return index;
}

/** The index of the interface that has the IPv6 address `ip` (`text`). */
function interfaceOfAddress(
  libc: Libc,
  action: string,
  text: string,
  ip: Uint8Array,
): number {
  let interfaces: Deno.NetworkInterfaceInfo[];
  try {
    interfaces = Deno.networkInterfaces();
  } catch (error) {
    throw new SocketError(
      `Cannot ${action}: finding the interface of ${text} needs --allow-sys=networkInterfaces; name the interface instead (for example "%eth0")`,
      { cause: error },
    );
  }
  const canonical = libc.formatAddress(ip);
  for (const info of interfaces) {
    if (info.family !== "IPv6") continue;
    const address = libc.parseAddress("IPv6", info.address.split("%")[0]);
    if (address !== null && libc.formatAddress(address) === canonical) {
      return interfaceIndex(libc, action, info.name);
    }
  }
  throw new SocketError(
    `Cannot ${action}: no interface has the address ${text} (EADDRNOTAVAIL)`,
  );
}

/**
 * Sends the socket's outgoing multicast through `iface`
 * (`IP_MULTICAST_IF` with `struct ip_mreqn`, or `IPV6_MULTICAST_IF`).
 * `where` describes the change for error messages.
 *
 * @example
 * ```ts ignore
 * import { Libc } from "./libc.ts";
 * import { setMulticastInterface } from "./interface.ts";
 * const libc = Libc.acquire();
 * const fd = libc.socket("IPv4");
 * setMulticastInterface(libc, fd, "IPv4", "127.0.0.1", "set the interface");
 * libc.close(fd);
 * libc.release();
 * ```
 */
export function setMulticastInterface(
  libc: Libc,
  fd: number,
  family: Family,
  iface: string,
  where: string,
): void {
  const choice = resolveInterface(libc, family, where, iface);
  osCall(`Cannot ${where}`, () => {
    if (family === "IPv4") {
      libc.setIpMreqn(fd, LINUX.IP_MULTICAST_IF, ANY4, choice.ip, choice.index);
    } else {
      libc.setInt(
        fd,
        LINUX.IPPROTO_IPV6,
        LINUX.IPV6_MULTICAST_IF,
        choice.index,
      );
    }
  }, { operation: "interface", family, address: iface });
}
