/**
 * Joining and leaving multicast groups on an FFI socket: any-source
 * groups (`IP_ADD_MEMBERSHIP` with `struct ip_mreqn`, `IPV6_JOIN_GROUP`
 * with `struct ipv6_mreq`) and source-specific ones (SSM:
 * `IP_ADD_SOURCE_MEMBERSHIP`, or `MCAST_JOIN_SOURCE_GROUP` when the
 * interface is chosen by index or on IPv6), and leaving each.
 *
 * @module
 */

import { SocketError } from "../../errors.ts";
import { type Libc, LINUX } from "./libc.ts";
import { resolveInterface } from "./interface.ts";
import { osCall } from "./os_call.ts";
import type { Family } from "../transport.ts";

/**
 * Joins (`join` true) or leaves `group` on `iface` (absent: the kernel
 * chooses). Throws `SocketError` for a bad group or interface or when the
 * kernel refuses.
 *
 * @example
 * ```ts ignore
 * import { Libc } from "./libc.ts";
 * import { changeMembership } from "./membership.ts";
 * const libc = Libc.acquire();
 * const fd = libc.socket("IPv4");
 * changeMembership(libc, fd, "IPv4", true, "239.31.0.1", "127.0.0.1");
 * libc.close(fd);
 * libc.release();
 * ```
 */
export function changeMembership(
  libc: Libc,
  fd: number,
  family: Family,
  join: boolean,
  group: string,
  iface: string | undefined,
): void {
  const action = join ? "join" : "leave";
  const ip = parseGroup(libc, family, action, group);
  const where = `${action} group ${group} on ${interfaceText(iface)}`;
  const choice = resolveInterface(libc, family, where, iface);
  const failed = join
    ? { operation: "join", family, address: group, iface } as const
    : undefined;
  osCall(`Cannot ${where}`, () => {
    if (family === "IPv4") {
      const name = join ? LINUX.IP_ADD_MEMBERSHIP : LINUX.IP_DROP_MEMBERSHIP;
      libc.setIpMreqn(fd, name, ip, choice.ip, choice.index);
    } else {
      const name = join ? LINUX.IPV6_JOIN_GROUP : LINUX.IPV6_LEAVE_GROUP;
      libc.setIpv6Mreq(fd, name, ip, choice.index);
    }
  }, failed);
}

/**
 * Joins (`join` true) or leaves `group` for datagrams from `source` only,
 * on `iface` (absent: the kernel chooses). Throws `SocketError` for a bad
 * address or interface or when the kernel refuses.
 *
 * @example
 * ```ts ignore
 * import { Libc } from "./libc.ts";
 * import { changeSourceMembership } from "./membership.ts";
 * const libc = Libc.acquire();
 * const fd = libc.socket("IPv4");
 * changeSourceMembership(libc, fd, "IPv4", true, "127.0.0.1", "232.31.0.1", "127.0.0.1");
 * libc.close(fd);
 * libc.release();
 * ```
 */
export function changeSourceMembership(
  libc: Libc,
  fd: number,
  family: Family,
  join: boolean,
  source: string,
  group: string,
  iface: string | undefined,
): void {
  const action = join ? "join" : "leave";
  const groupIp = parseGroup(libc, family, action, group);
  const where = `${action} group ${group} from source ${source} on ${
    interfaceText(iface)
  }`;
  const sourceIp = libc.parseAddress(family, source);
  if (sourceIp === null) {
    throw new SocketError(
      `Cannot ${where}: source "${source}" is not an ${family} address`,
    );
  }
  const choice = resolveInterface(libc, family, where, iface);
  osCall(`Cannot ${where}`, () => {
    if (family === "IPv4" && choice.index === 0) {
      const name = join
        ? LINUX.IP_ADD_SOURCE_MEMBERSHIP
        : LINUX.IP_DROP_SOURCE_MEMBERSHIP;
      libc.setIpMreqSource(fd, name, groupIp, choice.ip, sourceIp);
    } else {
      const level = family === "IPv4" ? LINUX.IPPROTO_IP : LINUX.IPPROTO_IPV6;
      const name = join
        ? LINUX.MCAST_JOIN_SOURCE_GROUP
        : LINUX.MCAST_LEAVE_SOURCE_GROUP;
      libc.setGroupSourceReq(
        fd,
        level,
        name,
        family,
        choice.index,
        groupIp,
        sourceIp,
      );
    }
  });
}

/** The raw bytes of `group`; throws `SocketError` when it is not of `family`. */
function parseGroup(
  libc: Libc,
  family: Family,
  action: string,
  group: string,
): Uint8Array {
  const ip = libc.parseAddress(family, group);
  if (ip === null) {
    throw new SocketError(
      `Cannot ${action} group "${group}": not an ${family} address`,
    );
  }
  return ip;
}

/** `interface eth0`, or `the default interface`: for error messages. */
function interfaceText(iface: string | undefined): string {
  return iface ? `interface ${iface}` : "the default interface";
}
