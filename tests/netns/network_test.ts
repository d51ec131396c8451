// Issue 4: the mcast CLI on a real (namespaced) network. Every test builds
// its own lab; nothing leaves the namespaces. See lab.ts and mcast_cli.ts.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host, type Lab } from "../../lab/lab.ts";
import {
  assertHeard,
  assertUnanswered,
  describe,
  groupFlags,
  parseJsonLines,
  send,
  startListener,
  stopListener,
} from "../../lab/mcast_cli.ts";
import { routedSegments, senderAndListener } from "../../lab/topologies.ts";

/** Every send waits 1 s for replies. */
const WAIT = ["-w", "1s"];

/**
 * `snd` 10.77.1.10 on `left` and `far` 10.77.2.11 on `right`, behind the
 * router (see topologies.ts).
 */
async function acrossRouter(lab: Lab) {
  const { left, right } = await routedSegments(lab);
  const sender = await lab.host("snd", {
    segment: left,
    address: "10.77.1.10/24",
    gateway: "10.77.1.1",
  });
  const far = await lab.host("far", {
    segment: right,
    address: "10.77.2.11/24",
    gateway: "10.77.2.1",
  });
  return { left, sender, far };
}

const NEEDS = { needs: ["tcpdump"] };

netnsTest(
  "network: one send, exactly one reply from each of 6 hosts",
  async () => {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const sender = await lab.host("snd", {
      segment: lan,
      address: "10.77.1.10/24",
    });
    const listeners: Host[] = [];
    for (let i = 1; i <= 6; i++) {
      listeners.push(
        await lab.host(`l${i}`, {
          segment: lan,
          address: `10.77.1.${10 + i}/24`,
        }),
      );
    }
    const target = groupFlags("239.77.0.1", 10001);
    const running = await Promise.all(
      listeners.map((h) => startListener(h, target)),
    );
    const run = await send(sender, [...target, ...WAIT]);
    assert.equal(run.code, 0, describe(run));
    const from = run.replies.map((r) => r.from as string).sort();
    assert.deepEqual(
      from,
      listeners.map((h) => h.address).sort(),
      describe(run),
    );
    for (const r of run.replies) assert.equal(r.port, 10001, describe(run));
    const { perResponder, time, clock, durationMs, ...counts } = run.summary ??
      {};
    assert.ok(Number.isFinite(Date.parse(String(time))), describe(run));
    assert.ok(clock === "kernel" || clock === "user", describe(run));
    assert.equal(typeof durationMs, "number", describe(run));
    assert.deepEqual(
      counts,
      { event: "summary", sent: 1, replies: 6, responders: 6 },
      describe(run),
    );
    // The responder table: one row per host, each answered its request.
    assert.deepEqual(
      (perResponder as { from: string; replies: number; lossPercent: number }[])
        .map((row) => [row.from, row.replies, row.lossPercent]).sort(),
      listeners.map((h) => [h.address, 1, 0]).sort(),
      describe(run),
    );
    // Fan-out: every listener got the one datagram and answered it once.
    for (const listener of running) {
      const result = await assertHeard(listener, [sender.address]);
      assert.equal(result.replies.length, 1, result.output);
    }
  },
);

netnsTest("network: the TTL on the wire equals --ttl (1 and 7)", async () => {
  await using lab = await createLab();
  const { sender, listener } = await senderAndListener(lab);
  const target = groupFlags("239.77.0.2", 10002);
  await startListener(listener, target);
  await using cap = await lab.capture(
    listener,
    "udp and dst host 239.77.0.2 and dst port 10002",
  );
  for (const ttl of [1, 7]) {
    const run = await send(sender, [...target, ...WAIT, "--ttl", String(ttl)]);
    assert.equal(run.code, 0, describe(run));
    assert.equal(run.replies.length, 1, describe(run));
    await cap.waitFor((p) => p.ttl === ttl, 5_000);
  }
  const packets = await cap.stop();
  assert.deepEqual(
    packets.map((p) => [p.src, p.ttl]),
    [[sender.address, 1], [sender.address, 7]],
  );
}, NEEDS);

netnsTest(
  "network: --ttl 1 stays on the segment, --ttl 2 crosses the router",
  async () => {
    await using lab = await createLab();
    const { left, sender, far } = await acrossRouter(lab);
    const near = await lab.host("near", {
      segment: left,
      address: "10.77.1.11/24",
      gateway: "10.77.1.1",
    });
    const target = groupFlags("239.77.0.3", 10003);
    await Promise.all([
      startListener(near, target),
      // Behind a router the sender is no neighbour: allow the lab's range.
      startListener(far, [...target, "--allow-from", "10.77.0.0/16"]),
    ]);
    await using cap = await lab.capture(far, "udp and dst host 239.77.0.3");

    const one = await send(sender, [...target, ...WAIT, "--ttl", "1"]);
    assert.equal(one.code, 0, describe(one));
    assert.deepEqual(
      one.replies.map((r) => r.from),
      [near.address],
      describe(one),
    );

    const two = await send(sender, [...target, ...WAIT, "--ttl", "2"]);
    assert.equal(two.code, 0, describe(two));
    assert.deepEqual(
      two.replies.map((r) => r.from as string).sort(),
      [near.address, far.address].sort(),
      describe(two),
    );
    // Behind the router only the TTL 2 datagram arrived, with TTL 1 left.
    await cap.waitFor((p) => p.src === sender.address, 5_000);
    const packets = await cap.stop();
    assert.deepEqual(packets.map((p) => [p.src, p.ttl]), [[sender.address, 1]]);
  },
  {
    needs: ["tcpdump", "smcrouted", "smcroutectl"],
    kernel: ["multicastRouting"],
  },
);

netnsTest("network: --ttl 1 gets no reply from behind the router", async () => {
  await using lab = await createLab();
  const { sender, far } = await acrossRouter(lab);
  const target = groupFlags("239.77.0.4", 10004);
  // Allowed, so only the TTL can keep the reply away.
  await startListener(far, [...target, "--allow-from", "10.77.0.0/16"]);
  assertUnanswered(await send(sender, [...target, ...WAIT, "--ttl", "1"]));
  // Without multicast routing nothing crosses the router whatever the TTL,
  // so this could not fail: it runs only where the router can forward.
}, { needs: ["smcrouted", "smcroutectl"], kernel: ["multicastRouting"] });

netnsTest(
  "network: listen sends an IGMP report on join and a leave on SIGINT",
  async () => {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const host = await lab.host("lst", {
      segment: lan,
      address: "10.77.1.11/24",
    });
    await using cap = await lab.capture(host, "igmp");
    const listener = await startListener(host, groupFlags("239.77.0.5", 10005));
    const join = await cap.waitFor(
      (p) => p.src === host.address && /239\.77\.0\.5/.test(p.info),
      5_000,
    );
    assert.equal(join.ttl, 1);
    assert.match(
      join.info,
      /igmp v3 report.*gaddr 239\.77\.0\.5 to_ex|igmp v2 report 239\.77\.0\.5/,
    );

    const stopped = Date.now();
    const result = await stopListener(listener);
    const tookMs = Date.now() - stopped;
    assert.equal(result.signal, null, `killed: ${result.output}`);
    assert.equal(result.code, 0, result.output);
    assert.ok(result.summary !== undefined, result.output);
    assert.ok(tookMs < 2_000, `SIGINT took ${tookMs} ms`);
    const leave = await cap.waitFor(
      (p) =>
        p.src === host.address &&
        /gaddr 239\.77\.0\.5 to_in|igmp leave 239\.77\.0\.5/.test(p.info),
      5_000,
    );
    assert.equal(leave.ttl, 1);
  },
  NEEDS,
);

netnsTest(
  "network: a sender on another subnet of the same link is refused by default (counted, a drop line naming --allow-from) and answered with --allow-from",
  async () => {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    // Two subnets on one link, no router: the sender is on no subnet of the
    // listener's host, as a routed sender would be.
    const sender = await lab.host("snd", {
      segment: lan,
      address: "10.77.2.10/24",
    });
    const host = await lab.host("lst", {
      segment: lan,
      address: "10.77.1.11/24",
    });
    // Unicast both ways straight over the link, for the replies.
    for (
      const [node, subnet] of [[host, "10.77.2.0/24"], [
        sender,
        "10.77.1.0/24",
      ]] as const
    ) {
      const added = await node.run([
        "ip",
        "route",
        "add",
        subnet,
        "dev",
        "eth0",
      ]);
      assert.equal(added.code, 0, added.stderr);
    }
    const target = groupFlags("239.77.0.6", 10006);
    // Both get every datagram (same group and port).
    const strict = await startListener(host, target);
    const open = await startListener(host, [
      ...target,
      "--allow-from",
      `${sender.address}/32`,
    ]);
    const run = await send(sender, [
      ...groupFlags("239.77.0.6", 10006, "eth0"),
      "-c",
      "5",
      "--interval",
      "100ms",
      ...WAIT,
    ]);
    const opened = await stopListener(open);
    const refused = await stopListener(strict);
    assert.equal(run.code, 0, describe(run));
    // Only the allowed listener answered: one reply to each request.
    assert.deepEqual(
      run.replies.map((r) => r.from),
      Array(5).fill(host.address),
      describe(run),
    );
    assert.equal(opened.summary?.received, 5, opened.output);
    assert.equal(opened.summary?.replied, 5, opened.output);
    assert.equal(opened.summary?.refused, 0, opened.output);
    // The default listener got the same datagrams and refused each one,
    // before decoding it: no message, no reply.
    assert.deepEqual(refused.messages, [], refused.output);
    assert.deepEqual(refused.replies, [], refused.output);
    assert.equal(refused.summary?.received, 5, refused.output);
    assert.equal(refused.summary?.refused, 5, refused.output);
    assert.equal(refused.summary?.replied, 0, refused.output);
    // ... and said so as it happened, naming the sender and the fix.
    const drops = parseJsonLines(refused.output).filter((e) =>
      e.event === "drop"
    );
    assert.ok(drops.length >= 1, `no drop line:\n${refused.output}`);
    for (const drop of drops) {
      assert.equal(drop.reason, "refused", refused.output);
      assert.equal(drop.from, sender.address, refused.output);
      assert.equal(drop.hint, "--allow-from 10.77.2.0/24", refused.output);
      assert.match(String(drop.message), /from 10\.77\.2\.10:/);
    }
    assert.equal(
      drops.reduce((sum, drop) => sum + Number(drop.count), 0),
      5,
      refused.output,
    );
    const quiet = parseJsonLines(opened.output).filter((e) =>
      e.event === "drop"
    );
    assert.deepEqual(quiet, [], opened.output);
  },
);
