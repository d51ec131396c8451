/**
 * Socket addresses of the FFI transport: ports checked, text addresses
 * (IPv6 with an optional `%zone`) turned into the raw form libc takes
 * ({@link RawSocketAddress}) and back.
 *
 * @module
 */

import { formatEndpoint } from "../../address.ts";
import { McastRangeError, SocketError } from "../../errors.ts";
import type { Libc, RawSocketAddress } from "./libc.ts";
import type { Family } from "../transport.ts";

/**
 * Throws `McastRangeError` (`ERR_INVALID_PORT`) unless `port` is an
 * integer from 0 to 65535.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPort } from "./address.ts";
 * checkPort(5000);
 * assert.throws(() => checkPort(70000), /out of range 0-65535/);
 * ```
 */
export function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new McastRangeError(
      "ERR_INVALID_PORT",
      `Port ${port} is out of range 0-65535`,
    );
  }
}

/**
 * Parses `address` (IPv6 with an optional `%zone`, a name or an index,
 * and optional brackets) into libc form; null when it is not an address
 * of `family` or names no interface.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { Libc } from "./libc.ts";
 * import { parseHost } from "./address.ts";
 * const libc = Libc.acquire();
 * assert.equal(parseHost(libc, "IPv6", "fe80::1%lo", 5000)?.scopeId, 1);
 * libc.release();
 * ```
 */
export function parseHost(
  libc: Libc,
  family: Family,
  address: string,
  port: number,
): RawSocketAddress | null {
  let host = address;
  let scopeId = 0;
  if (family === "IPv6") {
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    const percent = host.indexOf("%");
    if (percent >= 0) {
      const zone = host.slice(percent + 1);
      host = host.slice(0, percent);
      scopeId = /^\d+$/.test(zone) ? Number(zone) : libc.interfaceIndex(zone);
      if (scopeId === 0) return null;
    }
  }
  const ip = libc.parseAddress(family, host);
  return ip === null ? null : { family, ip, port, scopeId };
}

/**
 * Parses where a datagram goes: like {@link parseHost}, and on an IPv6
 * socket an IPv4 address as IPv4-mapped (`::ffff:a.b.c.d`). Throws
 * `SocketError` when `address` is neither.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { Libc } from "./libc.ts";
 * import { parseDestination } from "./address.ts";
 * const libc = Libc.acquire();
 * assert.equal(parseDestination(libc, "IPv6", "239.1.2.3", 5000).ip[10], 0xff);
 * libc.release();
 * ```
 */
export function parseDestination(
  libc: Libc,
  family: Family,
  address: string,
  port: number,
): RawSocketAddress {
  let raw = parseHost(libc, family, address, port);
  if (raw === null && family === "IPv6") {
    const v4 = libc.parseAddress("IPv4", address);
    if (v4 !== null) {
      const ip = new Uint8Array(16);
      ip[10] = ip[11] = 0xff;
      ip.set(v4, 12);
      raw = { family: "IPv6", ip, port, scopeId: 0 };
    }
  }
  if (raw === null) {
    throw new SocketError(
      `Cannot send to ${
        formatEndpoint(address, port)
      }: "${address}" is not an ${family} address`,
    );
  }
  return raw;
}

/**
 * Formats the IP of a raw address, with its zone (interface name, else
 * index) when it has a scope: `fe80::1%eth0`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { Libc } from "./libc.ts";
 * import { formatHost } from "./address.ts";
 * const libc = Libc.acquire();
 * const ip = new Uint8Array([127, 0, 0, 1]);
 * assert.equal(formatHost(libc, { family: "IPv4", ip, port: 0, scopeId: 0 }), "127.0.0.1");
 * libc.release();
 * ```
 */
export function formatHost(libc: Libc, address: RawSocketAddress): string {
  const text = libc.formatAddress(address.ip);
  if (address.scopeId === 0) return text;
  return `${text}%${libc.interfaceName(address.scopeId) ?? address.scopeId}`;
}
