// Issue 14: listen -g A -g B across a real (namespaced) segment, IPv4 and
// IPv6 groups mixed: over ffi one socket per address family serves every
// group of that family (IP_PKTINFO / IPV6_PKTINFO tell each datagram's
// group), and each group's datagrams and replies are counted apart; over
// dgram each group has a socket of its own, with the same counts. Every
// test builds its own lab; nothing leaves the namespaces.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host } from "../../lab/lab.ts";
import {
  describe,
  groupFlags,
  send,
  startListener,
  stopListener,
} from "../../lab/mcast_cli.ts";
import { senderAndListener } from "../../lab/topologies.ts";

/** Sockets bound to `port` in `host`'s namespace: [IPv4, IPv6]. */
async function socketsOn(host: Host, port: number): Promise<number[]> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const counts: number[] = [];
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    const r = await host.run(["cat", file], { timeoutMs: 10_000 });
    counts.push(
      r.stdout.split("\n").filter((line) =>
        line.trim().split(/\s+/)[1]?.endsWith(hex)
      ).length,
    );
  }
  return counts;
}

for (
  const [index, [transport, sockets]] of ([
    ["ffi", [1, 1]],
    ["dgram", [2, 2]],
  ] as const).entries()
) {
  netnsTest(
    `listen groups: 2 IPv4 and 2 IPv6 groups over ${transport}, ${
      sockets.join(" + ")
    } sockets, counted per group`,
    async () => {
      await using lab = await createLab();
      const { sender, listener } = await senderAndListener(lab, {
        ipv6: true,
      });
      const port = 11420 + index;
      const groups = [
        `239.77.14.${20 + index * 2}`,
        `239.77.14.${21 + index * 2}`,
        `ff15::77:14${index}0`,
        `ff15::77:14${index}1`,
      ];
      const running = await startListener(listener, [
        ...groups.flatMap((g) => ["-g", g]),
        "-p",
        String(port),
        "-i",
        "eth0",
        "--transport",
        transport,
      ]);
      assert.deepEqual(running.ready.groups, groups);
      assert.deepEqual(await socketsOn(listener, port), sockets);
      // 1, 2, 3 and 4 requests to the four groups.
      for (const [i, group] of groups.entries()) {
        const run = await send(sender, [
          ...groupFlags(group, port, "eth0"),
          "-c",
          String(i + 1),
          "--interval",
          "20ms",
          "-w",
          "500ms",
        ]);
        assert.equal(run.code, 0, describe(run));
        assert.equal(run.summary?.replies, i + 1, describe(run));
      }
      const result = await stopListener(running);
      assert.deepEqual(
        result.summary?.perGroup,
        Object.fromEntries(
          groups.map((g, i) => [g, { received: i + 1, replied: i + 1 }]),
        ),
        result.output,
      );
      assert.equal(result.summary?.received, 10, result.output);
      assert.deepEqual(
        result.messages.map((m) => m.group).sort(),
        groups.flatMap((g, i) => new Array(i + 1).fill(g)).sort(),
        result.output,
      );
    },
  );
}
