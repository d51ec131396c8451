/**
 * The kernel's count of the datagrams it dropped for one UDP socket (its
 * receive buffer was full, so the program never saw them), read from
 * Linux's `/proc/net/udp` and `/proc/net/udp6` (the `drops` column): the
 * way for transports that have no descriptor to ask (`node:dgram`,
 * `Deno.listenDatagram`). The FFI transport asks its socket directly
 * (`SO_MEMINFO`).
 *
 * A socket is found by its local address and port; when several sockets
 * share them (listeners with `SO_REUSEADDR` on one group and port), by the
 * inode that appeared in the table when it was bound.
 *
 * Deno 2.9.6 reads `/proc` only with `--allow-all` (`--allow-read`, even
 * of exactly these files, is refused with "Requires all access"): without
 * it nothing is read, once tried, and the count is unknown (`undefined`).
 *
 * @module
 */

import { parseIPv4, parseIPv6 } from "../address.ts";
import type { Family } from "./transport.ts";

/** One socket's row of `/proc/net/udp(6)`: what mcast reads of it. */
export interface UdpSocketRow {
  /** Local address, as mcast writes it (IPv6 as eight full hex groups). */
  address: string;
  /** Local port. */
  port: number;
  /** The socket's inode number. */
  inode: number;
  /** Datagrams the kernel dropped for it. */
  drops: number;
}

/** The kernel prints each 32-bit word of an address in this host's byte order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a `/proc/net/udp` address in network order. */
function addressBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const four = [0, 2, 4, 6].map((at) =>
      parseInt(hex.slice(word + at, word + at + 2), 16)
    );
    bytes.push(...(LITTLE_ENDIAN ? four.reverse() : four));
  }
  return bytes;
}

/** An address as {@linkcode UdpSocketRow} writes it, from its bytes. */
function addressText(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  }
  return groups.join(":");
}

/**
 * An address in the form {@linkcode UdpSocketRow} uses: IPv4 as is, IPv6
 * as eight full hex groups (no `::`, no zone), so the two compare as text.
 *
 * @param address An IPv4 or IPv6 address, with or without a `%zone`.
 * @returns The canonical text, or `undefined` for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalAddress } from "./kernel_drops.ts";
 * assert.equal(canonicalAddress("ff02::1%eth0"), "ff02:0:0:0:0:0:0:1");
 * assert.equal(canonicalAddress("10.0.0.1"), "10.0.0.1");
 * ```
 */
export function canonicalAddress(address: string): string | undefined {
  if (parseIPv4(address) !== undefined) return address;
  return parseIPv6(address)?.map((group) => group.toString(16)).join(":");
}

/**
 * Parses the text of `/proc/net/udp` or `/proc/net/udp6`.
 *
 * @param text The file's text.
 * @returns One row per socket; lines that do not parse are skipped.
 *
 * @example Two sockets, as the kernel prints them on a little-endian host
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUdpTable } from "./kernel_drops.ts";
 * const text = [
 *   "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
 *   " 5643: 0100007F:13D5 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 204285 2 000000005b9c06dc 0",
 *   " 5645: 030201EF:13D7 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 204287 2 00000000b7b26db0 12",
 * ].join("\n");
 * assert.deepEqual(parseUdpTable(text), [
 *   { address: "127.0.0.1", port: 5077, inode: 204285, drops: 0 },
 *   { address: "239.1.2.3", port: 5079, inode: 204287, drops: 12 },
 * ]);
 * ```
 */
export function parseUdpTable(text: string): UdpSocketRow[] {
  const rows: UdpSocketRow[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    // sl local remote st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (fields.length < 13 || !fields[0].endsWith(":")) continue;
    const [hex, port] = fields[1].split(":");
    if (!/^([0-9A-F]{8}|[0-9A-F]{32})$/i.test(hex) || port === undefined) {
      continue;
    }
    const inode = Number(fields[9]);
    const drops = Number(fields[12]);
    if (!Number.isInteger(inode) || !Number.isInteger(drops)) continue;
    rows.push({
      address: addressText(addressBytes(hex)),
      port: parseInt(port, 16),
      inode,
      drops,
    });
  }
  return rows;
}

/** False once a read was refused (or this is not Linux): never tried again. */
let readable = Deno.build.os === "linux";

/**
 * This network namespace's UDP sockets of `family`, or `undefined` when
 * the table cannot be read here (not Linux; Deno without `--allow-all`).
 *
 * @param family Which table: `/proc/net/udp` or `/proc/net/udp6`.
 * @returns The rows, or `undefined`.
 *
 * @example
 * ```ts ignore
 * import { readUdpTable } from "./kernel_drops.ts";
 * console.log(readUdpTable("IPv4")?.length);
 * ```
 */
export function readUdpTable(family: Family): UdpSocketRow[] | undefined {
  if (!readable) return undefined;
  try {
    return parseUdpTable(
      Deno.readTextFileSync(
        family === "IPv4" ? "/proc/net/udp" : "/proc/net/udp6",
      ),
    );
  } catch {
    readable = false;
    return undefined;
  }
}

/**
 * One socket's kernel drop count, read from `/proc/net/udp(6)`. Make it
 * in two steps around `bind`: {@linkcode KernelDrops.beforeBind}, then
 * the constructor with the bound address.
 *
 * Each {@linkcode KernelDrops.read} reads the whole table (tens of
 * microseconds; more on a host with thousands of sockets): call it about
 * once a second, never per datagram.
 *
 * @example Around a bind
 * ```ts ignore
 * import { KernelDrops } from "./kernel_drops.ts";
 * const before = KernelDrops.beforeBind("IPv4", true);
 * // ... bind the socket to 239.1.2.3:5000 ...
 * const drops = new KernelDrops("IPv4", { address: "239.1.2.3", port: 5000 }, before);
 * console.log(drops.read());
 * ```
 */
export class KernelDrops {
  readonly #family: Family;
  readonly #address: string | undefined;
  readonly #port: number;
  readonly #before: Set<number> | undefined;
  #inode: number | undefined;
  #unknown = false;

  /**
   * The inodes of the sockets already bound, taken just before a socket
   * that shares its port (`SO_REUSEADDR`) binds: the new inode with its
   * address and port is then this socket's. Without sharing, the address
   * and port are this socket's alone: nothing to take.
   *
   * @param family The socket's family.
   * @param sharesPort Whether the socket binds with `SO_REUSEADDR`.
   * @returns The inodes, or `undefined` when not needed or not readable.
   */
  static beforeBind(
    family: Family,
    sharesPort: boolean,
  ): Set<number> | undefined {
    if (!sharesPort) return undefined;
    const rows = readUdpTable(family);
    return rows === undefined ? undefined : new Set(rows.map((r) => r.inode));
  }

  /**
   * Finds the socket just bound, at once when it shares its port (one read
   * of the table, where it can be read).
   *
   * @param family The socket's family.
   * @param local Where it is bound.
   * @param before What {@linkcode KernelDrops.beforeBind} returned.
   */
  constructor(
    family: Family,
    local: { address: string; port: number },
    before?: Set<number>,
  ) {
    this.#family = family;
    this.#address = canonicalAddress(local.address);
    this.#port = local.port;
    this.#before = before;
    // A shared port: now, before another socket binds to it too. Alone on
    // its address and port, the socket is found at its first read.
    if (before !== undefined) this.read();
  }

  /**
   * The socket's drop count now, or `undefined` when it cannot be read
   * (no permission, not Linux, or the socket cannot be told apart from
   * another one bound to the same address and port).
   */
  read(): number | undefined {
    if (this.#unknown) return undefined;
    const rows = readUdpTable(this.#family);
    if (rows === undefined) {
      this.#unknown = true;
      return undefined;
    }
    if (this.#inode === undefined) {
      const mine = rows.filter((row) =>
        row.port === this.#port && row.address === this.#address &&
        !this.#before?.has(row.inode)
      );
      if (mine.length !== 1) {
        // Gone already, or one of several that cannot be told apart.
        this.#unknown = mine.length > 1;
        return undefined;
      }
      this.#inode = mine[0].inode;
      return mine[0].drops;
    }
    return rows.find((row) => row.inode === this.#inode)?.drops;
  }
}
