/**
 * Whether network namespaces can be used here, and {@linkcode netnsTest},
 * which registers a test that needs them: ignored with a reason where they
 * cannot be used or the kernel lacks a feature it needs (kernel_features.ts),
 * failing where CI must run it and a program is missing.
 *
 * @module
 */

import {
  type KernelFeature,
  missingKernelFeatures,
  noteIgnored,
} from "./kernel_features.ts";
import { ownNamespaceName } from "./namespaces.ts";
import { runSync } from "./process.ts";

/** Whether network namespaces can be used here, and if not why. */
export type NetnsAvailability = { ok: true } | { ok: false; reason: string };

let cachedAvailability: NetnsAvailability | undefined;

/**
 * Checks that this process is root and that a namespace can be created and
 * deleted (with a throw-away probe namespace). The result is cached.
 */
export function netnsAvailableSync(): NetnsAvailability {
  if (cachedAvailability) return cachedAvailability;
  cachedAvailability = probe();
  return cachedAvailability;
}

/** Async form of {@linkcode netnsAvailableSync}. */
export function netnsAvailable(): Promise<NetnsAvailability> {
  return Promise.resolve(netnsAvailableSync());
}

function probe(): NetnsAvailability {
  if (Deno.build.os !== "linux") {
    return {
      ok: false,
      reason: `network namespaces need Linux, this is ${Deno.build.os}`,
    };
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch (e) {
    return { ok: false, reason: `cannot read the user id: ${String(e)}` };
  }
  if (uid !== 0) return { ok: false, reason: `not root (uid ${uid})` };
  const name = ownNamespaceName("-probe");
  const add = runSync(["ip", "netns", "add", name]);
  if (!add.ok) {
    return { ok: false, reason: `"ip netns add" failed: ${add.out}` };
  }
  const veth = runSync([
    "ip",
    "-n",
    name,
    "link",
    "add",
    "p0",
    "type",
    "veth",
    "peer",
    "name",
    "p1",
  ]);
  const del = runSync(["ip", "netns", "del", name]);
  if (!veth.ok) {
    return { ok: false, reason: `cannot create a veth pair: ${veth.out}` };
  }
  if (!del.ok) {
    return { ok: false, reason: `"ip netns del" failed: ${del.out}` };
  }
  return { ok: true };
}

/** Options of {@linkcode netnsTest}. */
export interface NetnsTestOptions {
  /** Extra programs the test needs (checked with `command -v`). */
  needs?: string[];
  /**
   * What the test needs from the kernel (probed once per run in a
   * throw-away namespace). Where the kernel lacks one, the test is ignored
   * with the reason, in CI too: CI can install programs, not kernels.
   */
  kernel?: KernelFeature[];
}

/** The programs a kernel feature's probe and tests drive it with. */
const FEATURE_PROGRAMS: Partial<Record<KernelFeature, string>> = {
  nftables: "nft",
  nftDup: "nft",
  netem: "tc",
};

const warned = new Set<string>();

/**
 * Registers a `Deno.test` that needs network namespaces.
 *
 * When they are not available (or a program in `needs` is missing) the test
 * is registered with `ignore: true` and the reason is printed once, except
 * when the environment variable `CI` is `true`: then the test is registered
 * and fails with the reason, because CI must run it. When the kernel lacks a
 * feature in `kernel`, the test is ignored everywhere and noted, so that the
 * run names it (kernel_features.ts).
 *
 * @param name Test name.
 * @param fn Test body.
 * @param options Programs and kernel features the test needs.
 */
export function netnsTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  options: NetnsTestOptions = {},
): void {
  const features = options.kernel ?? [];
  const programs = [
    ...options.needs ?? [],
    ...features.flatMap((f) => FEATURE_PROGRAMS[f] ?? []),
  ];
  const reason = unavailableReason(programs);
  if (reason === null) {
    const lacking = missingKernelFeatures(features);
    if (lacking.length > 0) noteIgnored(name, lacking);
    Deno.test({ name, ignore: lacking.length > 0, fn });
    return;
  }
  if (Deno.env.get("CI") === "true") {
    Deno.test({
      name,
      fn() {
        throw new Error(`CI must run the namespace tests, but ${reason}`);
      },
    });
    return;
  }
  if (!warned.has(reason)) {
    warned.add(reason);
    console.warn(`netns tests skipped: ${reason}`);
  }
  Deno.test({ name, ignore: true, fn });
}

function unavailableReason(needs: string[]): string | null {
  const a = netnsAvailableSync();
  if (!a.ok) return a.reason;
  const missing = [...new Set(needs)].filter((p) => !hasProgram(p));
  if (missing.length > 0) return `missing program(s): ${missing.join(", ")}`;
  return null;
}

const programCache = new Map<string, boolean>();

/** True when `program` is found on PATH (or in /usr/sbin, /sbin). */
export function hasProgram(program: string): boolean {
  let found = programCache.get(program);
  if (found === undefined) {
    found = runSync([
      "sh",
      "-c",
      'PATH="$PATH:/usr/sbin:/sbin" command -v "$1"',
      "sh",
      program,
    ]).ok;
    programCache.set(program, found);
  }
  return found;
}
