// The kernel probe behind netnsTest's `kernel` option (kernel_features.ts):
// it must agree with the kernel asked another way, and the run's report
// must name each ignored test under the feature it lacks.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import {
  describeMissing,
  ignoredReport,
  kernelFeatures,
} from "../../lab/kernel_features.ts";
import { createLab } from "../../lab/lab.ts";

/** MRT_INIT / MRT6_INIT (200) on a raw IGMP / ICMPv6 socket: what routers do. */
const MRT_INIT = `
import socket, struct, sys
family, proto, level = {
    "4": (socket.AF_INET, socket.IPPROTO_IGMP, socket.IPPROTO_IP),
    "6": (socket.AF_INET6, socket.IPPROTO_ICMPV6, socket.IPPROTO_IPV6),
}[sys.argv[1]]
s = socket.socket(family, socket.SOCK_RAW, proto)
try:
    s.setsockopt(level, 200, struct.pack("i", 1))
    print("yes")
except OSError as e:
    print("no", e.errno)
`;

netnsTest(
  "kernel probe: multicast routing as found agrees with MRT_INIT on a raw socket, for IPv4 and IPv6",
  async () => {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const host = await lab.host("h", { segment: lan, address: "10.77.1.2/24" });
    const found = kernelFeatures();
    for (
      const [version, feature] of [
        ["4", found.multicastRouting],
        ["6", found.multicastRouting6],
      ] as const
    ) {
      const r = await host.run(["python3", "-c", MRT_INIT, version]);
      assert.equal(r.code, 0, r.stderr);
      // ENOPROTOOPT (92) is the kernel's no; anything else is a broken probe.
      assert.match(r.stdout.trim(), /^(yes|no 92)$/, r.stdout);
      assert.equal(r.stdout.trim() === "yes", feature, `IPv${version}`);
    }
  },
  { needs: ["python3"] },
);

Deno.test("kernel probe: the run's report names each ignored test once under each feature it lacks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcast-report-test-" });
  try {
    assert.deepEqual(ignoredReport(dir), []);
    const note = (test: string, features: string[]) =>
      Deno.writeTextFile(
        `${dir}/kernel-ignored.jsonl`,
        JSON.stringify({ test, features }) + "\n",
        { append: true },
      );
    await note("a", ["multicastRouting"]);
    await note("b", ["multicastRouting", "netem"]);
    await note("a", ["multicastRouting"]);
    assert.deepEqual(ignoredReport(dir), [
      `${describeMissing("multicastRouting")}: 2 tests ignored: a; b`,
      `${describeMissing("netem")}: 1 test ignored: b`,
    ]);
    assert.equal(
      describeMissing("multicastRouting"),
      "kernel has no IPv4 multicast routing (CONFIG_IP_MROUTE)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
