// Issue 4: two listeners on one host share a port but not a group. Each is
// bound to its group address (not 0.0.0.0), so each gets only its own
// group's datagrams although the host has joined both. Proven across a
// real (namespaced) segment with the mcast CLI. See lab.ts and mcast_cli.ts.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab } from "../../lab/lab.ts";
import {
  assertHeard,
  describe,
  groupFlags,
  send,
  startListener,
} from "../../lab/mcast_cli.ts";
import { senderAndListener } from "../../lab/topologies.ts";

netnsTest(
  "groups: two listeners on one port, groups 239.77.5.1 and 239.77.5.2, each sees only its own",
  async () => {
    await using lab = await createLab();
    const { sender, listener: host } = await senderAndListener(lab);
    const groups = ["239.77.5.1", "239.77.5.2"];
    const listeners = await Promise.all(
      groups.map((g) =>
        startListener(host, [...groupFlags(g, 10501), "--plugin", "echo"])
      ),
    );
    // Both datagrams reach the host at once; with wildcard-bound sockets
    // each would be delivered to both listeners and answered twice.
    const runs = await Promise.all(
      groups.map((g) =>
        send(sender, [...groupFlags(g, 10501), "-w", "600ms", `to ${g}`])
      ),
    );
    runs.forEach((run, i) => {
      assert.equal(run.code, 0, describe(run));
      assert.deepEqual(
        run.replies.map((r) => [r.from, r.port, r.payload]),
        [[host.address, 10501, `to ${groups[i]}`]],
        describe(run),
      );
    });
    for (const [i, l] of listeners.entries()) {
      await assertHeard(l, [[sender.address, `to ${groups[i]}`]], {
        view: (m) => [m.from, m.payload],
      });
    }
  },
);
