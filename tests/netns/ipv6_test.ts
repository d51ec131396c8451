// Issue 4: the mcast CLI over IPv6 on a real (namespaced) segment: a
// link-scope group joined by interface name, site- and organisation-scope
// groups, and the hop limit on the wire. Every test builds its own lab;
// nothing leaves the namespaces. See lab.ts and mcast_cli.ts.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, linkLocal, waitForDad } from "../../lab/lab.ts";
import {
  assertHeard,
  describe,
  groupFlags,
  send,
  startListener,
  unzoned,
} from "../../lab/mcast_cli.ts";
import { senderAndListener } from "../../lab/topologies.ts";

const WAIT = ["-w", "600ms"];

/** Two IPv6 hosts on one segment: `snd` fd77:1::10 and `lst` fd77:1::11. */
const IPV6 = { ipv6: true };

netnsTest(
  "ipv6: ff02::1:3a71 joined by name (-i eth0), reply from the listener's link-local address",
  async () => {
    await using lab = await createLab();
    const { sender, listener } = await senderAndListener(lab, IPV6);
    // A link-scope destination makes the kernel pick link-local sources;
    // wait until they are usable so that the addresses below are certain.
    await Promise.all([waitForDad(sender), waitForDad(listener)]);
    const [senderLL, listenerLL] = await Promise.all([
      linkLocal(sender),
      linkLocal(listener),
    ]);
    const group = "ff02::1:3a71";
    const target = groupFlags(group, 10201, "eth0");
    const l = await startListener(listener, target);
    assert.equal(l.ready.interface, "::%eth0", JSON.stringify(l.ready));

    const run = await send(sender, [...target, ...WAIT]);
    assert.equal(run.code, 0, describe(run));
    assert.deepEqual(
      run.replies.map((r) => [unzoned(r.from), r.port]),
      [[listenerLL, 10201]],
      describe(run),
    );
    await assertHeard(l, [senderLL], { view: (m) => unzoned(m.from) });
  },
);

netnsTest(
  "ipv6: site- and organisation-scope groups (ff05::1:3a71, ff15::77), reply from the listener's fd77 address",
  async () => {
    await using lab = await createLab();
    const { sender, listener } = await senderAndListener(lab, IPV6);
    const groups = ["ff05::1:3a71", "ff15::77"];
    // Both on one port: each listener is bound to its group, so each send
    // gets exactly one reply.
    const listeners = await Promise.all(
      groups.map((g) =>
        startListener(listener, [
          ...groupFlags(g, 10202, "eth0"),
          "--plugin",
          "echo",
        ])
      ),
    );
    const runs = await Promise.all(
      groups.map((g) =>
        send(sender, [...groupFlags(g, 10202, "eth0"), ...WAIT, `to ${g}`])
      ),
    );
    runs.forEach((run, i) => {
      assert.equal(run.code, 0, describe(run));
      // Beyond link scope the kernel picks the fd77 (global scope) address
      // on both ends.
      assert.deepEqual(
        run.replies.map((r) => [r.from, r.port, r.payload]),
        [[listener.ipv6, 10202, `to ${groups[i]}`]],
        describe(run),
      );
    });
    for (const [i, l] of listeners.entries()) {
      await assertHeard(l, [[sender.ipv6, `to ${groups[i]}`]], {
        view: (m) => [m.from, m.payload],
      });
    }
  },
);

netnsTest(
  "ipv6: the hop limit on the wire equals --ttl (1 and 7)",
  async () => {
    await using lab = await createLab();
    const { sender, listener } = await senderAndListener(lab, IPV6);
    const group = "ff05::1:3a71";
    // node:dgram in Deno cannot set the IPv6 hop limit: the ffi transport can.
    const target = groupFlags(group, 10203, "eth0");
    await startListener(listener, [...target, "--transport", "ffi"]);
    await using cap = await lab.capture(
      listener,
      `udp and dst host ${group} and dst port 10203`,
    );
    const ttls = [1, 7];
    for (const [i, ttl] of ttls.entries()) {
      const run = await send(sender, [
        ...target,
        "--ttl",
        String(ttl),
        "--transport",
        "ffi",
        ...WAIT,
      ]);
      assert.equal(run.code, 0, describe(run));
      assert.equal(run.replies.length, 1, describe(run));
      // The reply came, so the datagram was on the wire: tcpdump just has
      // to print it.
      await cap.waitForCount(i + 1);
    }
    const packets = await cap.stop();
    assert.deepEqual(
      packets.map((p) => [p.family, p.src, p.ttl]),
      ttls.map((ttl) => ["IP6", sender.ipv6, ttl]),
      `hop limits on the wire (hlim) differ from --ttl ${ttls.join(", ")}:\n${
        packets.map((p) => p.lines.join("\n")).join("\n")
      }`,
    );
  },
  { needs: ["tcpdump"] },
);
