/**
 * What the running kernel can do for a namespace test, asked of the kernel
 * itself in a throw-away namespace: multicast routing (IPv4 and IPv6 apart),
 * netem, bridges with IGMP snooping, nftables and its `dup` statement.
 *
 * A missing program can be installed (CI installs them), a missing kernel
 * feature cannot: `netnsTest` (availability.ts) ignores a test that needs a
 * feature this kernel lacks, with the reason, in CI too. Nothing but the
 * probe decides: no environment variable switches a feature off.
 *
 * The probe runs once per test run: the first test module that asks writes
 * what it found to the run's report folder (`MCAST_TEST_REPORT_DIR`, made by
 * tests/run_isolated.ts), and the others read it; a module run on its own
 * probes for itself. Each ignored test is noted in the same folder, and the
 * runner prints one line per missing feature naming those tests.
 *
 * @module
 */

import { ownNamespaceName } from "./namespaces.ts";
import { runSync } from "./process.ts";

/** A kernel capability some namespace test relies on. */
export type KernelFeature =
  | "multicastRouting"
  | "multicastRouting6"
  | "netem"
  | "bridgeIgmpSnooping"
  | "nftables"
  | "nftDup";

/** How each feature is named to a reader: what it is and the kernel option behind it. */
export const KERNEL_FEATURES: Readonly<
  Record<KernelFeature, { what: string; config: string }>
> = {
  multicastRouting: {
    what: "IPv4 multicast routing",
    config: "CONFIG_IP_MROUTE",
  },
  multicastRouting6: {
    what: "IPv6 multicast routing",
    config: "CONFIG_IPV6_MROUTE",
  },
  netem: { what: "netem qdisc", config: "CONFIG_NET_SCH_NETEM" },
  bridgeIgmpSnooping: {
    what: "IGMP/MLD snooping on bridges",
    config: "CONFIG_BRIDGE_IGMP_SNOOPING",
  },
  nftables: { what: "nftables", config: "CONFIG_NF_TABLES" },
  nftDup: { what: "nftables dup statement", config: "CONFIG_NFT_DUP_IPV4" },
};

/** What the probe found: each feature present or not. */
export type KernelFeatures = Record<KernelFeature, boolean>;

/** The environment variable naming the run's report folder (set by run_isolated.ts). */
export const REPORT_DIR_VARIABLE = "MCAST_TEST_REPORT_DIR";

const PROBE_FILE = "kernel-features.json";
const IGNORED_FILE = "kernel-ignored.jsonl";

let cached: KernelFeatures | undefined;

/**
 * The features of this kernel, probed once (see the module comment).
 * Needs root and `ip`; call it only where namespaces are available.
 */
export function kernelFeatures(): KernelFeatures {
  cached ??= readShared() ?? writeShared(probe());
  return cached;
}

/** The features among `needs` that this kernel lacks, in the order given. */
export function missingKernelFeatures(
  needs: readonly KernelFeature[],
): KernelFeature[] {
  if (needs.length === 0) return [];
  const found = kernelFeatures();
  return needs.filter((feature) => !found[feature]);
}

/** `kernel has no IPv4 multicast routing (CONFIG_IP_MROUTE)`. */
export function describeMissing(feature: KernelFeature): string {
  const { what, config } = KERNEL_FEATURES[feature];
  return `kernel has no ${what} (${config})`;
}

/**
 * Notes that `test` is ignored for lacking `features`: in the run's report
 * folder when there is one (the runner prints them at the end), else on
 * stderr at once.
 */
export function noteIgnored(
  test: string,
  features: readonly KernelFeature[],
): void {
  const dir = Deno.env.get(REPORT_DIR_VARIABLE);
  if (dir === undefined) {
    console.warn(
      `ignored "${test}": ${features.map(describeMissing).join(", ")}`,
    );
    return;
  }
  const line = JSON.stringify({ test, features }) + "\n";
  Deno.writeTextFileSync(`${dir}/${IGNORED_FILE}`, line, { append: true });
}

/**
 * The run's ignored tests, one line per missing feature:
 * `kernel has no IPv4 multicast routing (CONFIG_IP_MROUTE): 6 tests ignored: a; b; ...`.
 * Empty when nothing was ignored.
 *
 * @param dir The run's report folder.
 */
export function ignoredReport(dir: string): string[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(`${dir}/${IGNORED_FILE}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const byFeature = new Map<KernelFeature, Set<string>>();
  for (const line of text.split("\n").filter((l) => l !== "")) {
    const { test, features } = JSON.parse(line) as {
      test: string;
      features: KernelFeature[];
    };
    for (const feature of features) {
      const tests = byFeature.get(feature) ?? new Set<string>();
      tests.add(test);
      byFeature.set(feature, tests);
    }
  }
  return [...byFeature].map(([feature, tests]) =>
    `${describeMissing(feature)}: ${tests.size} test${
      tests.size === 1 ? "" : "s"
    } ignored: ${[...tests].join("; ")}`
  );
}

function readShared(): KernelFeatures | undefined {
  const dir = Deno.env.get(REPORT_DIR_VARIABLE);
  if (dir === undefined) return undefined;
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/${PROBE_FILE}`));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function writeShared(found: KernelFeatures): KernelFeatures {
  const dir = Deno.env.get(REPORT_DIR_VARIABLE);
  if (dir !== undefined) {
    // Written whole then renamed: a module reading at the same time sees
    // the whole file or none.
    const temp = `${dir}/${PROBE_FILE}.${crypto.randomUUID()}`;
    Deno.writeTextFileSync(temp, JSON.stringify(found));
    Deno.renameSync(temp, `${dir}/${PROBE_FILE}`);
  }
  return found;
}

/** Asks the kernel, in a namespace made for it and deleted after. */
function probe(): KernelFeatures {
  const ns = ownNamespaceName("-kprobe");
  const add = runSync(["ip", "netns", "add", ns]);
  if (!add.ok) throw new Error(`cannot probe the kernel: ${add.out}`);
  const inside = (script: string) =>
    runSync(["ip", "netns", "exec", ns, "sh", "-c", script]).ok;
  try {
    return {
      // The routing tables' files exist in a namespace only when the kernel
      // can route multicast (MRT_INIT fails with ENOPROTOOPT otherwise).
      multicastRouting: inside("test -e /proc/net/ip_mr_vif"),
      multicastRouting6: inside("test -e /proc/net/ip6_mr_vif"),
      netem: inside("tc qdisc add dev lo root netem delay 1ms"),
      bridgeIgmpSnooping: inside(
        "ip link add kp0 type bridge mcast_snooping 1 && " +
          "test -e /sys/class/net/kp0/bridge/multicast_snooping",
      ),
      nftables: inside("nft add table inet kprobe"),
      nftDup: inside(
        "nft add table ip kdup && " +
          'nft add chain ip kdup out "{ type filter hook output priority 0; }" && ' +
          "nft add rule ip kdup out udp dport 9 dup to 127.0.0.1 device lo",
      ),
    };
  } finally {
    runSync(["ip", "netns", "del", ns]);
  }
}
