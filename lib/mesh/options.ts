/**
 * The options of `mesh()`, checked before any socket opens, and the plan
 * the running mesh follows: the group and interface resolved, the peers
 * in canonical form, the safety steps built (source filter, rate limits
 * scaled to the mesh's own traffic, authenticator).
 *
 * @module
 */

import { addressFamily, isMulticast } from "../address.ts";
import { DEFAULT_GROUP, DEFAULT_PORT, DEFAULT_TTL } from "../defaults.ts";
import { McastRangeError, McastTypeError } from "../errors.ts";
import { resolveInterface } from "../interface.ts";
import { validatePort, validateTtl } from "../numbers.ts";
import { Authenticator } from "../safety/auth.ts";
import { RateLimiter, type RateLimitOptions } from "../safety/rate_limiter.ts";
import { SourceFilter } from "../safety/source_filter.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../transports/ffi/ffi_transport.ts";
import { openDgramTransport } from "../transports/node_dgram.ts";
import type { Family } from "../address.ts";
import { type MulticastGroup, parseGroup } from "../group.ts";
import type { TransportFactory } from "../transports/transport.ts";
import { canonicalHost } from "./hosts.ts";

/** Options for `mesh()`. */
export interface MeshOptions {
  /**
   * The multicast group, IPv4 or IPv6 (ff02:: needs `interface`); not a
   * source-specific one (a mesh has as many sources as nodes). @default {"224.3.29.71"}
   */
  group?: string | MulticastGroup;
  /** The UDP port every node uses; 0 picks a free one (a mesh of one, for tests). @default {10000} */
  port?: number;
  /** The interface to join and send on, by name or address (needed for ff02::). @default the OS's choice */
  interface?: string;
  /** Multicast TTL (IPv6: hop limit), 0-255. @default {1} */
  ttl?: number;
  /** Time between two rounds of probes, in milliseconds (10 or more). @default {1000} */
  intervalMs?: number;
  /**
   * Multicast probes to send (one a round); then the node waits two
   * rounds, still answering and sharing its row, says goodbye and ends
   * with the matrix. @default until `signal` or `durationMs`
   */
  count?: number;
  /** End (goodbye, then the matrix) after this many milliseconds. */
  durationMs?: number;
  /** Peers to probe by unicast from the start; they and this node are then the nodes expected. */
  peers?: readonly string[];
  /** The number of nodes expected, counting this one. */
  expect?: number;
  /** Multicast loss per pair that still passes, in percent (0-100). @default {0} */
  maxLossPercent?: number;
  /** Only listen: join, hear the rows and show the matrix; send nothing at all. @default {false} */
  watch?: boolean;
  /**
   * Nodes whose datagrams are counted and answered, as CIDR blocks or
   * addresses; others are refused and counted. @default this host's directly connected subnets
   */
  allowFrom?: readonly string[];
  /** Shared key (16 bytes or more): every datagram is signed; unsigned or badly signed ones are refused. */
  key?: Uint8Array;
  /**
   * Limits on answers, per prober and in total, per second (as a
   * listener's). @default 4 answers a round per prober (burst 8), 1,024 a
   * round in total (burst 2,048): a mesh of 512 nodes (the most a node
   * keeps), each sending two probes a round, is never limited; a flood is
   */
  rateLimit?: RateLimitOptions;
  /** A peer silent for this many of its rounds is gone. @default {5} */
  goneAfterIntervals?: number;
  /** Opens the socket. @default the FFI transport where it is available, else `node:dgram` */
  transport?: TransportFactory;
  /** Aborting it stops the mesh cleanly: goodbye, then the matrix. */
  signal?: AbortSignal;
}

/** The checked options: what the running mesh works from. */
export interface MeshPlan {
  group: string;
  family: Family;
  port: number;
  /** The interface as the socket calls take it (an address, or `::%name`). */
  iface: string | undefined;
  /** The interface's name, for IPv6 zones. */
  zone: string | undefined;
  ttl: number;
  intervalMs: number;
  count: number | undefined;
  durationMs: number | undefined;
  /** Listed peers: canonical address to where unicast goes. */
  peers: Map<string, string>;
  expect: number | undefined;
  maxLossPercent: number;
  watch: boolean;
  filter: SourceFilter;
  limiter: RateLimiter;
  auth: Authenticator | undefined;
  goneAfterIntervals: number;
  open: TransportFactory;
  signal: AbortSignal | undefined;
}

/** The default answers a round per prober (two probes, twice over), and in total (512 nodes, two probes each). */
const ANSWERS_PER_ROUND = { perSource: 4, global: 1024 } as const;

function checkGroup(given: string | MulticastGroup): MulticastGroup {
  const group = parseGroup(given);
  if (group.ssm || group.source !== undefined) {
    throw new McastRangeError(
      "ERR_INVALID_GROUP",
      `Invalid group "${group.address}": a source-specific group${
        group.ssm ? " (IPv4 232.0.0.0/8, IPv6 ff3x::)" : ""
      } takes one sender, and every node of a mesh sends; use an any-source group such as 239.x.y.z or ff05::x`,
    );
  }
  return group;
}

function checkNumber(
  value: unknown,
  what: string,
  rule: { min: number; max: number; integer?: boolean },
): number {
  const ok = typeof value === "number" && Number.isFinite(value) &&
    value >= rule.min && value <= rule.max &&
    (!rule.integer || Number.isInteger(value));
  if (!ok) {
    throw new McastRangeError(
      what === "count" ? "ERR_INVALID_COUNT" : "ERR_INVALID_OPTION",
      `Invalid ${what} ${String(value)}: must be ${
        rule.integer ? "an integer" : "a number"
      } from ${rule.min} to ${rule.max}`,
    );
  }
  return value as number;
}

function optional<T>(value: T | undefined, check: (value: T) => number) {
  return value === undefined ? undefined : check(value);
}

/** Link- and interface-local IPv6 groups (ffx1::, ffx2::) need an interface. */
function checkScope(group: string, family: Family, spec: string | undefined) {
  if (family === "IPv6" && /^ff[0-9a-f][12]:/i.test(group) && !spec) {
    throw new McastTypeError(
      "ERR_INVALID_INTERFACE",
      `Group "${group}" is link-local: give the interface to join it on (-i eth0)`,
    );
  }
}

/** The interface's name, where `iface` carries one (`::%eth0`) or `spec` is one. */
function zoneOf(iface: string | undefined, spec: string | undefined) {
  const zone = iface?.match(/%([^%]+)$/)?.[1];
  if (zone !== undefined) return zone;
  return spec !== undefined && addressFamily(spec) === undefined
    ? spec
    : undefined;
}

function checkPeers(
  peers: readonly string[] | undefined,
  family: Family,
  zone: string | undefined,
): Map<string, string> {
  const out = new Map<string, string>();
  if (peers === undefined) return out;
  if (!Array.isArray(peers)) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      `Invalid peers ${String(peers)}: expected a list of addresses`,
    );
  }
  for (const peer of peers) {
    const given = typeof peer === "string" ? addressFamily(peer) : undefined;
    if (given === undefined || isMulticast(peer)) {
      throw new McastTypeError(
        "ERR_INVALID_OPTION",
        `Invalid peer "${String(peer)}": ${
          given === undefined ? "not an IP address" : "a multicast address"
        }; a peer is a node's unicast address`,
      );
    }
    if (given !== family) {
      throw new McastTypeError(
        "ERR_INVALID_OPTION",
        `Invalid peer "${peer}": an ${given} address, and the group is ${family}`,
      );
    }
    let sendTo = String(peer);
    if (/^fe[89ab][0-9a-f]:/i.test(sendTo) && !sendTo.includes("%")) {
      if (zone === undefined) {
        throw new McastTypeError(
          "ERR_INVALID_OPTION",
          `Invalid peer "${peer}": a link-local address needs its interface (${peer}%eth0, or -i eth0)`,
        );
      }
      sendTo = `${sendTo}%${zone}`;
    }
    out.set(canonicalHost(sendTo), sendTo);
  }
  return out;
}

/** Answers a round, turned into the rate limiter's per-second figures, under the caller's own. */
function limiter(intervalMs: number, given: RateLimitOptions | undefined) {
  if (given !== undefined && (typeof given !== "object" || given === null)) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      `Invalid rate limit ${String(given)}: expected an object`,
    );
  }
  const perSecond = 1000 / intervalMs;
  const perSource = ANSWERS_PER_ROUND.perSource * perSecond;
  const global = ANSWERS_PER_ROUND.global * perSecond;
  return new RateLimiter({
    perSource,
    perSourceBurst: Math.max(1, 2 * perSource),
    global,
    globalBurst: Math.max(1, 2 * global),
    ...given,
  });
}

function checkKey(key: unknown): Authenticator | undefined {
  if (key === undefined) return undefined;
  if (!(key instanceof Uint8Array)) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      `Invalid key ${
        Object.prototype.toString.call(key)
      }: expected the key's bytes (a Uint8Array, as readKeyFile returns)`,
    );
  }
  return new Authenticator(key);
}

/**
 * Checks every option of `mesh()` and resolves the defaults, before any
 * socket opens.
 *
 * @param options The caller's options.
 * @returns The plan.
 * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planMesh } from "./options.ts";
 * const plan = planMesh({ group: "239.77.21.1", peers: ["10.77.1.7"], allowFrom: ["10.77.0.0/16"] });
 * assert.equal(plan.intervalMs, 1000);
 * assert.deepEqual([...plan.peers.keys()], ["10.77.1.7"]);
 * assert.throws(() => planMesh({ intervalMs: 0 }), /Invalid interval 0/);
 * ```
 */
export function planMesh(options: MeshOptions = {}): MeshPlan {
  const { address: group, family } = checkGroup(
    options.group ?? DEFAULT_GROUP,
  );
  const spec = options.interface;
  checkScope(group, family, spec);
  const iface = spec === undefined ? undefined : resolveInterface(spec, family);
  const zone = zoneOf(iface, spec);
  const intervalMs = checkNumber(options.intervalMs ?? 1000, "interval", {
    min: 10,
    max: 3_600_000,
  });
  return {
    group,
    family,
    port: validatePort(options.port ?? DEFAULT_PORT, { allowZero: true }),
    iface,
    zone,
    ttl: validateTtl(options.ttl ?? DEFAULT_TTL),
    intervalMs,
    count: optional(
      options.count,
      (n) =>
        checkNumber(n, "count", { min: 1, max: 0xffff_fffe, integer: true }),
    ),
    durationMs: optional(
      options.durationMs,
      (n) => checkNumber(n, "duration", { min: 1, max: 2 ** 31 - 1 }),
    ),
    peers: checkPeers(options.peers, family, zone),
    expect: optional(
      options.expect,
      (n) =>
        checkNumber(n, "expected node count", {
          min: 1,
          max: 100_000,
          integer: true,
        }),
    ),
    maxLossPercent: checkNumber(options.maxLossPercent ?? 0, "max loss", {
      min: 0,
      max: 100,
    }),
    watch: options.watch === true,
    filter: new SourceFilter(options.allowFrom),
    limiter: limiter(intervalMs, options.rateLimit),
    auth: checkKey(options.key),
    goneAfterIntervals: checkNumber(
      options.goneAfterIntervals ?? 5,
      "gone-after intervals",
      { min: 1, max: 1_000_000, integer: true },
    ),
    open: options.transport ??
      (ffiTransportAvailable() ? openFfiTransport : openDgramTransport),
    signal: options.signal,
  };
}
