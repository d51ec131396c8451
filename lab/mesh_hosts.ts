/**
 * Many hosts on one bridge for `mcast mesh`: the namespace test
 * (`mesh_test.ts`) and the bench row `mesh` (`bench/rows/mesh.ts`). Host
 * `n<i>` has 10.77.1.<i>/24 on its `eth0` (and fd77:1::<i>/64 with IPv6),
 * so "node 3" is 10.77.1.3 in every figure and message. The bridge floods
 * like a hub (snooping off, see lab.ts).
 *
 * Also what the kernel saw, to check mesh's figures against: an nftables
 * table in a host's input path that counts the multicast probes arriving
 * from each other host (and drops those from the hosts named), read back
 * as numbers. A probe is a datagram to the group and port whose payload
 * starts with mesh's probe frame (`00 4d 53 04`, lib/wire/frame.ts);
 * rows, answers and unicast probes are not counted.
 *
 * Everything lives in namespaces the lab makes (lab.ts) and goes when it
 * is disposed of.
 *
 * @module
 */

import { FRAME_BYTES, FrameKind, writeFrame } from "../lib/wire/frame.ts";
import type { Host, Lab, Segment } from "./lab.ts";

/** The most hosts one /24 of the lab's range holds here. */
export const MAX_MESH_HOSTS = 250;
/** Hosts built at once (each is a few `ip` commands). */
const BUILD_PARALLEL = 8;
/** The nftables table this module adds to a host. */
const TABLE = "meshcount";

/** Options of {@linkcode meshHosts}. */
export interface MeshHostsOptions {
  /** Also give each host fd77:1::<i>/64 (IPv6 on; otherwise off). */
  ipv6?: boolean;
  /** The first host's number. @default {1} */
  first?: number;
}

/** The IPv4 address of host number `index` (1-250). */
export function meshAddress(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > MAX_MESH_HOSTS) {
    throw new RangeError(
      `Cannot number a mesh host ${index}: 1 to ${MAX_MESH_HOSTS}`,
    );
  }
  return `10.77.1.${index}`;
}

/** The IPv6 address of host number `index` (1-250). */
export function meshAddress6(index: number): string {
  meshAddress(index);
  return `fd77:1::${index.toString(16)}`;
}

/**
 * `count` hosts `n<first>`... on `lan`, built a few at a time, in order of
 * their numbers.
 *
 * @param lab The lab that owns them.
 * @param lan The segment they plug into.
 * @param count How many.
 * @param options IPv6, and the first host's number.
 * @returns The hosts, `hosts[0]` being number `first`.
 */
export async function meshHosts(
  lab: Lab,
  lan: Segment,
  count: number,
  options: MeshHostsOptions = {},
): Promise<Host[]> {
  const first = options.first ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`Cannot build ${count} mesh hosts: at least 1`);
  }
  meshAddress(first + count - 1);
  const hosts: Host[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const number = first + index;
      hosts[index] = await lab.host(`n${number}`, {
        segment: lan,
        address: `${meshAddress(number)}/24`,
        ipv6: options.ipv6 ? `${meshAddress6(number)}/64` : undefined,
      });
    }
  };
  await Promise.all(Array.from({ length: BUILD_PARALLEL }, worker));
  return hosts;
}

/**
 * Gives every host a permanent neighbour entry (ARP, and NDP for the
 * IPv6 addresses given) for every other host, as separate machines would
 * each have in their own table. The kernel keeps one neighbour table for
 * all namespaces with a limit for the whole machine
 * (`net.ipv4.neigh.default.gc_thresh3`, 1,024 entries): 100 hosts each
 * resolving 99 peers overflow it ("neighbor table overflow") and their
 * sends fail with ENOBUFS, as would those of any lab on the machine then.
 * Permanent entries are not counted against that limit (Linux 5.0 on).
 *
 * @param hosts The hosts, each with `eth0`.
 * @param ipv6 Each host's IPv6 address to resolve too (same order), if any.
 */
export async function staticNeighbours(
  hosts: readonly Host[],
  ipv6?: readonly string[],
): Promise<void> {
  const macs = await Promise.all(hosts.map(async (host) => {
    const r = await host.run(["cat", "/sys/class/net/eth0/address"]);
    if (r.code !== 0) {
      throw new Error(`${host.name}: cannot read eth0's address: ${r.stderr}`);
    }
    return r.stdout.trim();
  }));
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const i = next++;
      const lines = hosts.flatMap((peer, j) =>
        j === i ? [] : [
          `neigh replace ${peer.address} lladdr ${
            macs[j]
          } dev eth0 nud permanent`,
          ...(ipv6 === undefined ? [] : [
            `neigh replace ${ipv6[j]} lladdr ${macs[j]} dev eth0 nud permanent`,
          ]),
        ]
      );
      const r = await hosts[i].run(["ip", "-batch", "-"], {
        stdin: lines.join("\n") + "\n",
      });
      if (r.code !== 0) {
        throw new Error(`${hosts[i].name}: ip neigh refused: ${r.stderr}`);
      }
    }
  };
  await Promise.all(Array.from({ length: BUILD_PARALLEL }, worker));
}

/** What {@linkcode countProbes} counts in one host. */
export interface ProbeCountOptions {
  /** The mesh's group (IPv4 or IPv6). */
  group: string;
  /** The mesh's port. */
  port: number;
  /** The senders to count probes from (addresses, one family). */
  from: readonly string[];
  /** Of those, the ones whose probes the host drops (multicast only). */
  drop?: readonly string[];
  /**
   * Of those, the ones of which the host drops one probe in N (the first
   * that arrives, then every Nth), by address: a known partial loss.
   */
  thin?: Readonly<Record<string, number>>;
}

/** The payload's first four bytes of a mesh probe, as nftables reads them. */
function probeMagic(): string {
  const frame = new Uint8Array(FRAME_BYTES);
  writeFrame(frame, FrameKind.meshProbe, 0);
  return `0x${
    Array.from(frame.subarray(0, 4), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }`;
}

/**
 * Adds a table to `host`'s input path with one counting rule per sender
 * in `options.from`: multicast probes from it to the group and port
 * (dropped for the senders in `options.drop`). Unicast is not touched.
 * Replaces the table if it was there.
 */
export async function countProbes(
  host: Host,
  options: ProbeCountOptions,
): Promise<void> {
  const six = options.group.includes(":");
  const ip = six ? "ip6" : "ip";
  const drops = new Set(options.drop ?? []);
  const rules = options.from.flatMap((source) => {
    const match =
      `add rule inet ${TABLE} input ${ip} saddr ${source} ${ip} daddr ${options.group} udp dport ${options.port} @th,64,32 ${probeMagic()}`;
    const every = options.thin?.[source];
    if (every !== undefined && !(Number.isInteger(every) && every >= 2)) {
      throw new RangeError(`Cannot thin ${source} by ${every}: 2 or more`);
    }
    return [
      ...(every === undefined ? [] : [
        `${match} numgen inc mod ${every} 0 counter drop comment "${source}"`,
      ]),
      `${match} counter${drops.has(source) ? " drop" : ""} comment "${source}"`,
    ];
  });
  const script = [
    `table inet ${TABLE}`,
    `delete table inet ${TABLE}`,
    `add table inet ${TABLE}`,
    `add chain inet ${TABLE} input { type filter hook input priority -10; }`,
    ...rules,
  ].join("\n");
  const r = await host.run(["nft", "-f", "-"], { stdin: script + "\n" });
  if (r.code !== 0) {
    throw new Error(
      `${host.name}: nft refused the counting table: ${r.stderr}`,
    );
  }
}

/** Probes the kernel saw in one host, by sender. */
export interface ProbeCounts {
  /** Probes let through to the host's sockets, by sender address. */
  accepted: Map<string, number>;
  /** Probes dropped by the table, by sender address. */
  dropped: Map<string, number>;
}

/** Reads the counters {@linkcode countProbes} set up in `host`. */
export async function readProbeCounts(host: Host): Promise<ProbeCounts> {
  const r = await host.run(["nft", "-j", "list", "table", "inet", TABLE]);
  if (r.code !== 0) {
    throw new Error(
      `${host.name}: cannot list the counting table: ${r.stderr}`,
    );
  }
  const accepted = new Map<string, number>();
  const dropped = new Map<string, number>();
  const listed = JSON.parse(r.stdout) as {
    nftables: {
      rule?: { comment?: string; expr: Record<string, unknown>[] };
    }[];
  };
  for (const { rule } of listed.nftables) {
    if (rule?.comment === undefined) continue;
    const counter = rule.expr.find((e) => "counter" in e)?.counter as
      | { packets: number }
      | undefined;
    const drop = rule.expr.some((e) => "drop" in e);
    (drop ? dropped : accepted).set(rule.comment, counter?.packets ?? 0);
  }
  return { accepted, dropped };
}
