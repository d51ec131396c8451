// Issue 15: the mcast CLI across a real multicast-routed network. Three
// FRRouting PIM routers in a line (topologies.ts, pimLine): sender - r1 -
// r2 (the RP) - r3 - listener, dynamic PIM-SM and PIM-SSM instead of the
// static smcroute routes of network_test.ts. Every test builds its own lab
// and waits for PIM neighbours and joins by polling vtysh (bounded), never
// by fixed sleeps; nothing leaves the namespaces. IPv6 is not tested: the
// frr package (8.4) is built without pim6d.
import assert from "node:assert/strict";
import { netnsTest, type NetnsTestOptions } from "../../lab/availability.ts";
import {
  FRR_PROGRAMS,
  pimJoins,
  removeFrrRuntime,
  startFrr,
  waitForPimJoin,
} from "../../lab/frr.ts";
import { createLab, type Node } from "../../lab/lab.ts";
import {
  assertHeard,
  describe,
  groupFlags,
  type Json,
  type ListenerResult,
  parseJsonLines,
  send,
  type SendRun,
  startListener,
  stopListener,
} from "../../lab/mcast_cli.ts";
import { listNamespaces, removeStaleLabs } from "../../lab/namespaces.ts";
import { Proc } from "../../lab/process.ts";
import type { Packet } from "../../lab/tcpdump.ts";
import { pimLine } from "../../lab/topologies.ts";

/** Traffic through the PIM routers: the kernel must route multicast. */
const NEEDS: NetnsTestOptions = {
  needs: ["tcpdump", ...FRR_PROGRAMS],
  kernel: ["multicastRouting"],
};
/** Every send waits 1 s for replies. */
const WAIT = ["-w", "1s"];
/** The sender's subnet: a routed listener must allow it. */
const SENDER_SUBNET = "10.77.1.0/24";
/** Sent with TTL 4 (19 bytes, the default message). */
const FOUR = "very important data";
/** Sent with TTL 3: a length of its own, to tell it apart on the wire. */
const THREE = "three routers need TTL 4";

/** The UDP payload length tcpdump printed (`UDP, length 19`). */
function udpLength(packet: Packet): number | null {
  const m = /\blength (\d+)/.exec(packet.info);
  return m ? Number(m[1]) : null;
}

/**
 * Sends with TTL 4 for a second (10 datagrams, 100 ms apart): the first
 * datagram of a new (source, group) is lost while the RP switches to the
 * shortest-path tree, later ones flow natively. Asserts that replies came,
 * all from the addresses `from`.
 */
async function warmUp(
  sender: Node,
  target: string[],
  from: string | string[],
): Promise<SendRun> {
  const expected = typeof from === "string" ? [from] : from;
  const run = await send(sender, [
    ...target,
    "-t",
    "4",
    "-c",
    "10",
    "--interval",
    "100ms",
    "-w",
    "1s",
  ]);
  assert.equal(run.code, 0, describe(run));
  assert.ok(run.replies.length >= 1, describe(run));
  for (const r of run.replies) {
    assert.ok(expected.includes(String(r.from)), describe(run));
  }
  return run;
}

/** Asserts that `run` sent one datagram and got no reply (exit 1). */
function assertNoReply(run: SendRun): void {
  assert.equal(run.code, 1, describe(run));
  assert.deepEqual(run.replies, [], describe(run));
  assert.equal(run.summary?.sent, 1, describe(run));
  assert.equal(run.summary?.replies, 0, describe(run));
}

/** The `drop` events a stopped listener printed. */
function dropEvents(result: ListenerResult): Json[] {
  return parseJsonLines(result.output).filter((e) => e.event === "drop");
}

/**
 * Asserts that a listener reported its refusals of the routed `sender` as
 * drop lines: reason `refused`, the sender named, `--allow-from` with the
 * sender's /24 as the fix, and `count` refusals in all.
 */
function assertRefusalReported(
  result: ListenerResult,
  sender: string,
  count: number,
): void {
  const drops = dropEvents(result);
  assert.ok(drops.length >= 1, `no drop line:\n${result.output}`);
  for (const drop of drops) {
    assert.equal(drop.reason, "refused", result.output);
    assert.equal(drop.from, sender, result.output);
    assert.equal(drop.hint, `--allow-from ${SENDER_SUBNET}`, result.output);
    assert.ok(
      String(drop.message).includes(`from ${sender}:`),
      String(drop.message),
    );
  }
  assert.equal(
    drops.reduce((sum, drop) => sum + Number(drop.count), 0),
    count,
    result.output,
  );
}

/** `count` copies of `value`. */
function times<T>(value: T, count: number): T[] {
  return Array.from({ length: count }, () => value);
}

netnsTest(
  "pim: ASM 239.77.15.1 through the RP: send -t 4 is answered three routers away (replies by unicast), -t 3 is not",
  async () => {
    await using lab = await createLab();
    const { sender, listener: host, r2, r3 } = await pimLine(lab);
    const group = "239.77.15.1";
    const target = groupFlags(group, 11501);
    const listener = await startListener(host, [
      ...target,
      "--allow-from",
      SENDER_SUBNET,
    ]);
    // The listener's IGMP join became a PIM (*, G) join at the RP.
    await waitForPimJoin(r2, "*", group);
    const filter = `udp and dst host ${group}`;
    await using lastLink = await lab.capture(host, filter);
    await using intoR3 = await lab.capture(r3, filter, { iface: "eth0" });
    await using back = await lab.capture(
      sender,
      `udp and src host ${host.address}`,
    );

    const warm = await warmUp(sender, target, host.address);
    const four = await send(sender, [...target, ...WAIT, "-t", "4", FOUR]);
    assert.equal(four.code, 0, describe(four));
    assert.deepEqual(
      four.replies.map((r) => [r.from, r.payload]),
      [[host.address, "ack"]],
      describe(four),
    );
    assertNoReply(await send(sender, [...target, ...WAIT, "-t", "3", THREE]));

    // The TTL 3 datagram crossed r1 and r2 and reached r3 with TTL 1, which
    // r3 does not forward: nothing of it on the last link.
    await intoR3.waitFor(
      (p) => udpLength(p) === THREE.length && p.ttl === 1,
      5_000,
    );
    const last = await lastLink.stop();
    assert.ok(last.length >= 2, JSON.stringify(last));
    assert.deepEqual(
      last.filter((p) => udpLength(p) === THREE.length),
      [],
      "the TTL 3 datagram reached the last link",
    );
    // Three routers took 3 off each TTL 4 datagram.
    for (const p of last) assert.deepEqual([p.src, p.ttl], [sender.address, 1]);
    // The listener saw every answered datagram and nothing else.
    const answered = warm.replies.length + 1;
    await assertHeard(listener, times(sender.address, answered));
    // Its replies came back by unicast routing, through the same three
    // routers, with the host's unicast TTL (not -t 4).
    const unicastTtl = Number(
      (await host.run(["cat", "/proc/sys/net/ipv4/ip_default_ttl"])).stdout,
    );
    await back.waitForCount(answered, 5_000);
    const replies = await back.stop();
    assert.deepEqual(
      replies.map((p) => [p.dst, p.ttl]),
      times([sender.address, unicastTtl - 3], answered),
    );
  },
  NEEDS,
);

netnsTest(
  "pim: SSM 232.77.15.2 --source 10.77.1.10: the first datagram with -t 4 is answered, -t 3 is not",
  async () => {
    await using lab = await createLab();
    const { sender, listener: host, r1, r2 } = await pimLine(lab);
    const group = "232.77.15.2";
    const target = groupFlags(group, 11502);
    const listener = await startListener(host, [
      ...target,
      "--source",
      sender.address,
      "--allow-from",
      SENDER_SUBNET,
    ]);
    assert.equal(listener.ready.source, sender.address);
    // The (S, G) join went hop by hop to the sender's router; no RP.
    await waitForPimJoin(r1, sender.address, group);
    assert.ok(
      !(await pimJoins(r2)).includes(`*,${group}`),
      "an SSM group got a shared-tree join",
    );
    await using lastLink = await lab.capture(host, `udp and dst host ${group}`);

    // No warm-up: SSM needs no switch from the RP's tree.
    const four = await send(sender, [...target, ...WAIT, "-t", "4", FOUR]);
    assert.equal(four.code, 0, describe(four));
    assert.deepEqual(
      four.replies.map((r) => r.from),
      [host.address],
      describe(four),
    );
    assertNoReply(await send(sender, [...target, ...WAIT, "-t", "3", THREE]));
    await lastLink.waitFor((p) => udpLength(p) === FOUR.length, 5_000);
    const last = await lastLink.stop();
    assert.deepEqual(
      last.map((p) => [p.src, p.ttl, udpLength(p)]),
      [[sender.address, 1, FOUR.length]],
    );
    await assertHeard(listener, [sender.address]);
  },
  NEEDS,
);

netnsTest(
  "pim: send --expect finds the listeners three routers away and --expect-from names the one that refuses",
  async () => {
    await using lab = await createLab();
    const { sender, listener: first, r2 } = await pimLine(lab);
    const more = (name: string, address: string) =>
      lab.host(name, {
        segment: first.segment,
        address: `${address}/24`,
        gateway: "10.77.4.3",
      });
    const second = await more("lst2", "10.77.4.12");
    const refusing = await more("lst3", "10.77.4.13");
    const group = "239.77.15.4";
    const target = groupFlags(group, 11504);
    const allow = ["--allow-from", SENDER_SUBNET];
    const listeners = await Promise.all([
      startListener(first, [...target, ...allow]),
      startListener(second, [...target, ...allow]),
      // Default: answers its own subnet only, so not the routed sender.
      startListener(refusing, target),
    ]);
    await waitForPimJoin(r2, "*", group);
    const answering = [first.address, second.address];
    await warmUp(sender, target, answering);

    // Stops as soon as both answered: well before its 10 s wait.
    const started = Date.now();
    const found = await send(sender, [
      ...target,
      "-t",
      "4",
      "-w",
      "10s",
      "--expect",
      "2",
    ]);
    const tookMs = Date.now() - started;
    assert.equal(found.code, 0, describe(found));
    assert.deepEqual(
      found.replies.map((r) => String(r.from)).sort(),
      answering,
      describe(found),
    );
    assert.deepEqual(found.summary?.expect, {
      responders: 2,
      answered: 2,
      missing: [],
      met: true,
      roundsMet: 1,
    }, describe(found));
    // Not a speed target: without --expect the run lasts over 10 s.
    assert.ok(tookMs < 8_000, `--expect 2 did not stop early (${tookMs} ms)`);

    // The refusing listener gets the datagram but never answers: named.
    const named = await send(sender, [
      ...target,
      "-t",
      "4",
      ...WAIT,
      ...[first, second, refusing].flatMap((h) => ["--expect-from", h.address]),
    ]);
    assert.equal(named.code, 1, describe(named));
    assert.deepEqual(named.summary?.expect, {
      responders: 3,
      answered: 2,
      missing: [refusing.address],
      met: false,
      roundsMet: 0,
    }, describe(named));

    // With -t 3 nobody three routers away is found.
    const short = await send(sender, [
      ...target,
      "-t",
      "3",
      ...WAIT,
      "--expect",
      "1",
    ]);
    assert.equal(short.code, 1, describe(short));
    assert.deepEqual(short.replies, [], describe(short));
    assert.equal((short.summary?.expect as Json)?.answered, 0, describe(short));

    const [one, two, three] = await Promise.all(listeners.map(stopListener));
    assert.equal(one.summary?.refused, 0, one.output);
    assert.equal(two.summary?.refused, 0, two.output);
    assert.equal(three.summary?.replied, 0, three.output);
    assert.equal(
      three.summary?.refused,
      three.summary?.received,
      three.output,
    );
    assert.ok(Number(three.summary?.refused) >= 2, three.output);
    assertRefusalReported(
      three,
      sender.address,
      Number(three.summary?.refused),
    );
  },
  NEEDS,
);

netnsTest(
  "pim lab: dispose stops zebra and pimd and leaves no namespace, process or file",
  async () => {
    let id = "";
    let daemons: Proc[] = [];
    let tempDirs: string[] = [];
    {
      await using lab = await createLab();
      id = lab.id;
      const a = await lab.segment("a");
      const b = await lab.segment("b");
      const r = await lab.pimRouter("r", {
        interfaces: [
          { segment: a, address: "10.77.1.1/24" },
          { segment: b, address: "10.77.2.1/24" },
        ],
        rp: "10.77.1.1",
        igmp: ["eth1"],
      });
      daemons = [r.daemons.zebra, r.daemons.pimd];
      tempDirs = await labTempDirs(id);
      assert.equal(tempDirs.length, 1, String(tempDirs));
      const rp = await r.vtysh("show ip pim rp-info");
      assert.equal(rp.code, 0, rp.stderr);
      assert.match(rp.stdout, /10\.77\.1\.1\s+239\.0\.0\.0\/8/);
      // A daemon killed outright leaves its runtime folder behind.
      const pimd = r.daemons.pimd;
      pimd.kill("SIGKILL");
      await pimd.done;
      assert.ok(await exists(`/var/tmp/frr/pimd.${pimd.pid}`));
    }
    for (const d of daemons) {
      assert.ok(d.exited);
      assert.ok(!(await exists(`/proc/${d.pid}`)), `${d.pid} still runs`);
      for (const name of ["zebra", "pimd"]) {
        assert.ok(!(await exists(`/var/tmp/frr/${name}.${d.pid}`)));
      }
    }
    for (const dir of tempDirs) assert.ok(!(await exists(dir)), dir);
    const after = await listNamespaces();
    assert.deepEqual(after.filter((n) => n.startsWith(`${id}-`)), []);
  },
  { needs: FRR_PROGRAMS.slice() },
);

netnsTest(
  "pim lab: FRR daemons of a killed test run are killed and their files removed",
  async () => {
    // The pid of a process that has exited stands for a killed test run.
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    const stale = `mc-${gone.pid}-0000-x`;
    const dir = await Deno.makeTempDir({ prefix: `mc-${gone.pid}-00001-x-` });
    const procs: Proc[] = [];
    const node: Node = {
      name: "x",
      ns: stale,
      run: () => Promise.reject(new Error("not used")),
      spawn: (cmd, options) => {
        const p = new Proc(["ip", "netns", "exec", stale, ...cmd], options);
        procs.push(p);
        return p;
      },
    };
    await new Deno.Command("ip", { args: ["netns", "add", stale] }).output();
    try {
      await startFrr(node, dir, {
        interfaces: ["lo"],
        igmp: [],
        rp: "10.77.1.1",
        rpGroups: "239.0.0.0/8",
      }, () => {});
      for (const p of procs) assert.ok(await exists(frrRuntime(p)));
      const removed = await removeStaleLabs();
      assert.ok(removed.includes(stale), `removed ${removed}`);
      assert.ok(removed.includes(dir), `removed ${removed}`);
      for (const p of procs) {
        const r = await p.done;
        assert.equal(r.signal, "SIGKILL");
        assert.ok(!(await exists(frrRuntime(p))), frrRuntime(p));
      }
      assert.ok(!(await listNamespaces()).includes(stale));
      assert.ok(!(await exists(dir)));
    } finally {
      // Also when another test process reaped the stale namespace first.
      await Promise.all(procs.map((p) => p.stop("SIGKILL", 1_000)));
      await removeFrrRuntime(procs.map((p) => p.pid));
      await new Deno.Command("ip", { args: ["netns", "del", stale] }).output();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
  { needs: FRR_PROGRAMS.slice() },
);

netnsTest(
  "pim lab: refuses a bad PIM router before making anything",
  async () => {
    await using lab = await createLab();
    const a = await lab.segment("a");
    const b = await lab.segment("b");
    const interfaces = [
      { segment: a, address: "10.77.1.1/24" },
      { segment: b, address: "10.77.2.1/24" },
    ];
    const before = [...lab.namespaces];
    await assert.rejects(
      lab.pimRouter("r", { interfaces, rp: "10.77.1.1", igmp: ["eth2"] }),
      { name: "RangeError", message: /IGMP on "eth2"/ },
    );
    await assert.rejects(
      lab.pimRouter("r", { interfaces, rp: "192.168.1.1" }),
      { name: "RangeError", message: /"192\.168\.1\.1": outside/ },
    );
    await assert.rejects(
      lab.pimRouter("r", {
        interfaces,
        rp: "10.77.1.1",
        rpGroups: "10.0.0.0/8",
      }),
      { name: "SyntaxError", message: /RP groups "10\.0\.0\.0\/8"/ },
    );
    await assert.rejects(
      lab.pimRouter("r", {
        interfaces,
        rp: "10.77.1.1",
        routes: [{ to: "10.77.3.0/24", via: "10.1.1.1" }],
      }),
      { name: "RangeError", message: /next hop "10\.1\.1\.1"/ },
    );
    await assert.rejects(
      lab.pimRouter("r", {
        interfaces: interfaces.slice(0, 1),
        rp: "10.77.1.1",
      }),
      { name: "RangeError", message: /at least 2 interfaces/ },
    );
    assert.deepEqual(lab.namespaces, before);
  },
);

/** FRR's runtime folder of a daemon process. */
function frrRuntime(daemon: Proc): string {
  const name = daemon.argv.find((a) => /\/frr\/(zebra|pimd)$/.test(a))!;
  return `/var/tmp/frr/${name.replace(/.*\//, "")}.${daemon.pid}`;
}

/** The temporary folders of lab `id`'s routers. */
async function labTempDirs(id: string): Promise<string[]> {
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  const dirs: string[] = [];
  for await (const e of Deno.readDir(tmp)) {
    if (e.name.startsWith(`${id}-`)) dirs.push(`${tmp}/${e.name}`);
  }
  return dirs;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
