/**
 * `mcast mesh`'s flag table, what its parser, its `--help` and the
 * launcher's permissions read (see `flag_table.ts`), and the checked
 * values the command runs with. Every number and duration is checked at
 * the parse, before any socket opens, with a message naming the flag and
 * the value (exit status 2); addresses (group, interface, peers, CIDRs)
 * are checked by `mesh()` itself, before any socket opens too.
 *
 * @module
 */

import { DEFAULT_GROUP } from "../lib/defaults.ts";
import { parseDuration } from "../lib/duration.ts";
import { numberFlag } from "./args.ts";
import {
  GROUP_FLAG,
  HELP_FLAG,
  INTERFACE_FLAG,
  JSON_FLAG,
  KEY_FILE_FLAG,
  METRICS_FLAG,
  PORT_FLAG,
  QUIET_FLAG,
  SEND_TRANSPORT_FLAG,
  TTL_FLAG,
} from "./common_flags.ts";
import type { CommandTable, ParsedFlags } from "./flag_table.ts";
import { MATRIX_MAX_HOSTS } from "./mesh_matrix_text.ts";
import {
  METRICS_EXAMPLE_ADDRESS,
  type MetricsAddress,
} from "./metrics/address.ts";
import { UsageError } from "./usage_error.ts";

/** The shortest probe interval taken, ms. */
export const MIN_INTERVAL_MS = 10;
/** The probe interval without `--interval`, ms. */
export const DEFAULT_MESH_INTERVAL_MS = 1000;

/** What the command runs with, checked. */
export interface MeshFlags {
  /** `-g`. */
  group: string;
  /** `-p`. */
  port: number;
  /** `-i`. */
  interface?: string;
  /** `-t`. */
  ttl?: number;
  /** `--interval`, ms. */
  intervalMs: number;
  /** `-c`. */
  count?: number;
  /** `--duration`, ms. */
  durationMs?: number;
  /** `--peer`, in order. */
  peers?: string[];
  /** `--expect`. */
  expect?: number;
  /** `--max-loss`, percent. */
  maxLossPercent: number;
  /** `--watch`. */
  watch: boolean;
  /** `--allow-from`. */
  allowFrom?: string[];
  /** `--key-file`, as given. */
  keyFile?: string;
  /** `--json`. */
  json: boolean;
  /** `--report`, as given. */
  report?: string;
  /** `-q`. */
  quiet: boolean;
  /** `--transport`, as given. */
  transport?: string;
  /** `--metrics`, checked. */
  metrics?: MetricsAddress;
}

/**
 * `--max-loss P`: a percentage 0-100, with or without `%`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxLossFlag } from "./mesh_flags.ts";
 * assert.equal(maxLossFlag("5%"), 5);
 * assert.equal(maxLossFlag(undefined), 0);
 * assert.throws(() => maxLossFlag("101"), /Invalid --max-loss "101"/);
 * ```
 */
export function maxLossFlag(value: string | undefined): number {
  if (value === undefined) return 0;
  const text = value.trim().replace(/%$/, "");
  const number = Number(text);
  if (text === "" || !Number.isFinite(number) || number < 0 || number > 100) {
    throw new UsageError(
      `Invalid --max-loss "${value}": expected a percentage 0-100, such as 0, 2.5 or 5%`,
    );
  }
  return number;
}

/** A duration of at least `leastMs`, naming the flag. */
function durationAtLeast(leastMs: number) {
  return (value: string, flag: string): number => {
    const ms = parseDuration(value, `--${flag}`);
    if (ms < leastMs) {
      throw new UsageError(
        `Invalid --${flag} "${value}": must be at least ${leastMs} ms`,
      );
    }
    return ms;
  };
}

/** A whole number of at least `least` (`what` says it in the message). */
function countAtLeast(least: number, what: string) {
  return (value: string, flag: string): number => {
    const number = numberFlag(flag, value, true)!;
    if (number < least) {
      throw new UsageError(
        `Invalid --${flag} "${value}": must be at least ${what}`,
      );
    }
    return number;
  };
}

/** The flags of `mcast mesh`, its help and what the launcher grants it. */
export const MESH_TABLE: CommandTable = {
  name: "mesh",
  usage: "[options]",
  about:
    "Run the same command on every node: each joins the group, sends a numbered probe to it every interval and by unicast to every peer it knows, answers the probes of the others, and shares what it hears, so that every node prints the whole matrix of who hears whom, multicast beside unicast. Exit status: 0 when every pair among the expected nodes lost at most --max-loss of its multicast probes (after the join window), 1 otherwise, naming every failing pair and whether unicast works for it; 2 for bad usage. Ctrl-C, SIGTERM or SIGHUP ends the run with the matrix.",
  positionals: false,
  positionalHint: "a peer is --peer ADDR",
  sections: [
    { id: "options", heading: "Options:" },
    {
      id: "safety",
      heading:
        `Output: a line per interval while the mesh has at most ${MATRIX_MAX_HOSTS} hosts (naming the pairs that are not ok), then a line a second with counts; at the end the matrix (rows: sender, columns: receiver, each cell multicast loss % / unicast loss %) and every failing pair in words.\n\nSafety (as listen's): probes are answered only for senders on a directly connected subnet unless --allow-from widens it, an answer is never larger than its probe, and each source and the whole are rate-limited.`,
    },
  ],
  flags: {
    group: {
      ...GROUP_FLAG,
      help:
        `multicast group (default ${DEFAULT_GROUP}); IPv4, or IPv6 (ff02::... with -i, ff05::...)`,
    },
    port: PORT_FLAG,
    interface: {
      ...INTERFACE_FLAG,
      help:
        "interface, address or name (default: OS choice; needed for ff02::)",
    },
    ttl: {
      ...TTL_FLAG,
      help:
        "multicast TTL / hop limit 0-255 (default {default}: this segment; more to cross multicast routers)",
    },
    interval: {
      type: "string",
      value: "D",
      default: "1s",
      check: durationAtLeast(MIN_INTERVAL_MS),
      help: "time between probes (default {default})",
    },
    count: {
      type: "string",
      short: "c",
      value: "N",
      check: countAtLeast(1, "1 probe"),
      help:
        "send N probes, then end with the matrix (default: until Ctrl-C or --duration)",
    },
    duration: {
      type: "string",
      value: "D",
      check: durationAtLeast(1),
      help: "end after D (such as 30s or 5m) with the matrix",
    },
    peer: {
      type: "string",
      value: "ADDR",
      multiple: true,
      help:
        "probe this peer by unicast from the start (repeatable); the peers listed (and this host) are then the nodes expected",
    },
    expect: {
      type: "string",
      value: "N",
      check: countAtLeast(1, "1 node (this one)"),
      help:
        "expect N nodes, counting this one; a node expected and never heard is a failure",
    },
    "max-loss": {
      type: "string",
      value: "P",
      default: "0",
      check: (value) => maxLossFlag(value),
      help: "multicast loss allowed per pair, percent (default {default})",
    },
    watch: {
      type: "boolean",
      help:
        "only listen and show the matrix: send nothing (no probes, answers or rows); not a node of the mesh",
    },
    quiet: { ...QUIET_FLAG, help: "print only the ready line and the matrix" },
    json: {
      ...JSON_FLAG,
      help:
        'NDJSON: every event (ready, peer, interval, drop) and a final "matrix" line with hosts and pairs',
    },
    report: {
      type: "string",
      value: "FILE.html",
      implies: "write",
      help:
        "write one self-contained HTML page: a heatmap of both matrices and each pair's round-trip times over the run",
    },
    metrics: {
      ...METRICS_FLAG,
      help:
        `serve Prometheus metrics at http://HOST:PORT/metrics (such as ${METRICS_EXAMPLE_ADDRESS}): each pair's loss ratio and round trips as of the latest interval`,
    },
    transport: SEND_TRANSPORT_FLAG,
    help: HELP_FLAG,
    "allow-from": {
      type: "string",
      value: "CIDR",
      multiple: true,
      section: "safety",
      help: "answer and count senders in this range too (repeatable)",
    },
    "key-file": {
      ...KEY_FILE_FLAG,
      section: "safety",
      help:
        "sign every datagram with this key (HMAC-SHA256) and refuse unsigned or badly signed ones",
    },
  },
  footer: "Durations: 500ms, 2s, 1m, or a bare number of milliseconds.",
  // What send gets: the network, the interface list, FFI for the default
  // transport; and the key file to read, the report to write.
  launch: { net: "net", sys: ["networkInterfaces"], ffiByDefault: true },
};

/**
 * The flags' values, checked (at the parse, by {@linkcode MESH_TABLE}).
 *
 * @param flags What {@linkcode MESH_TABLE} parsed.
 * @returns What the command runs with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./flag_table.ts";
 * import { MESH_TABLE, meshFlags } from "./mesh_flags.ts";
 * const flags = meshFlags(parseFlags(MESH_TABLE, ["-c", "5", "--interval", "200ms"]));
 * assert.equal(flags.count, 5);
 * assert.equal(flags.intervalMs, 200);
 * assert.throws(() => parseFlags(MESH_TABLE, ["-c", "0"]), /Invalid --count "0"/);
 * ```
 */
export function meshFlags(flags: ParsedFlags): MeshFlags {
  const list = (name: string) =>
    flags.given(name) ? flags.list(name) : undefined;
  return {
    group: flags.text("group") ?? DEFAULT_GROUP,
    port: flags.value<number>("port")!,
    interface: flags.text("interface"),
    ttl: flags.value<number>("ttl"),
    intervalMs: flags.value<number>("interval") ?? DEFAULT_MESH_INTERVAL_MS,
    count: flags.value<number>("count"),
    durationMs: flags.value<number>("duration"),
    peers: list("peer"),
    expect: flags.value<number>("expect"),
    maxLossPercent: flags.value<number>("max-loss") ?? 0,
    watch: flags.on("watch"),
    allowFrom: list("allow-from"),
    keyFile: flags.text("key-file"),
    json: flags.on("json"),
    report: flags.text("report"),
    quiet: flags.on("quiet"),
    transport: flags.text("transport"),
    metrics: flags.value<MetricsAddress>("metrics"),
  };
}
