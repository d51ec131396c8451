/**
 * `mcast mesh`'s flags: their declaration, and the checked values the
 * command runs with. Every number and duration is checked here, before
 * any socket opens, with a message naming the flag and the value (exit
 * status 2); addresses (group, interface, peers, CIDRs) are checked by
 * `mesh()` itself, before any socket opens too.
 *
 * @module
 */

import { DEFAULT_GROUP, DEFAULT_PORT } from "../lib/defaults.ts";
import { parseDuration } from "../lib/duration.ts";
import { validatePort, validateTtl } from "../lib/numbers.ts";
import { type Flags, numberFlag, type Parsed } from "./args.ts";
import { type MetricsAddress, parseMetricsAddress } from "./metrics/address.ts";
import { UsageError } from "./usage_error.ts";

/** The flags of `mesh`. */
export const MESH_FLAGS: Flags = {
  group: { type: "string", short: "g" },
  port: { type: "string", short: "p" },
  interface: { type: "string", short: "i" },
  ttl: { type: "string", short: "t" },
  interval: { type: "string" },
  count: { type: "string", short: "c" },
  duration: { type: "string" },
  peer: { type: "string", multiple: true },
  expect: { type: "string" },
  "max-loss": { type: "string" },
  watch: { type: "boolean" },
  "allow-from": { type: "string", multiple: true },
  "key-file": { type: "string" },
  json: { type: "boolean" },
  report: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  transport: { type: "string" },
  metrics: { type: "string" },
  help: { type: "boolean", short: "h" },
};

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

/** A duration flag at least `leastMs` long, or undefined when absent. */
function durationFlag(
  flag: string,
  value: string | undefined,
  leastMs: number,
): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value, `--${flag}`);
  if (ms < leastMs) {
    throw new UsageError(
      `Invalid --${flag} "${value}": must be at least ${leastMs} ms`,
    );
  }
  return ms;
}

/** A whole-number flag at least `least`, or undefined when absent. */
function countFlag(
  flag: string,
  value: string | undefined,
  least: number,
  what: string,
): number | undefined {
  const number = numberFlag(flag, value, true);
  if (number !== undefined && number < least) {
    throw new UsageError(
      `Invalid --${flag} "${value}": must be at least ${what}`,
    );
  }
  return number;
}

/**
 * The flags' values, checked.
 *
 * @param values What {@linkcode MESH_FLAGS} parsed to.
 * @throws {UsageError} naming the flag and the value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parse } from "./args.ts";
 * import { MESH_FLAGS, meshFlags } from "./mesh_flags.ts";
 * const flags = meshFlags(parse(["-c", "5", "--interval", "200ms"], MESH_FLAGS).values);
 * assert.equal(flags.count, 5);
 * assert.equal(flags.intervalMs, 200);
 * assert.throws(() => meshFlags(parse(["-c", "0"], MESH_FLAGS).values), /Invalid --count "0"/);
 * ```
 */
export function meshFlags(values: Parsed["values"]): MeshFlags {
  const text = (name: string) => values[name] as string | undefined;
  const list = (name: string) => values[name] as string[] | undefined;
  return {
    group: text("group") ?? DEFAULT_GROUP,
    port: validatePort(text("port") ?? DEFAULT_PORT),
    interface: text("interface"),
    ttl: text("ttl") === undefined ? undefined : validateTtl(text("ttl")),
    intervalMs: durationFlag("interval", text("interval"), MIN_INTERVAL_MS) ??
      DEFAULT_MESH_INTERVAL_MS,
    count: countFlag("count", text("count"), 1, "1 probe"),
    durationMs: durationFlag("duration", text("duration"), 1),
    peers: list("peer"),
    expect: countFlag("expect", text("expect"), 1, "1 node (this one)"),
    maxLossPercent: maxLossFlag(text("max-loss")),
    watch: values.watch === true,
    allowFrom: list("allow-from"),
    keyFile: text("key-file"),
    json: values.json === true,
    report: text("report"),
    quiet: values.quiet === true,
    transport: text("transport"),
    metrics: text("metrics") === undefined
      ? undefined
      : parseMetricsAddress(text("metrics")!),
  };
}
