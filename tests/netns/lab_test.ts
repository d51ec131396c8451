// Tests of the namespace harness itself (lab, namespaces, process and
// tcpdump modules), with ping, python3 and tcpdump as the traffic tools (no
// mcast code involved).
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host } from "../../lab/lab.ts";
import { listNamespaces, removeStaleLabs } from "../../lab/namespaces.ts";
import { Proc } from "../../lab/process.ts";
import { parseTcpdump } from "../../lab/tcpdump.ts";
import { routedSegments } from "../../lab/topologies.ts";

/** Joins a group, prints "ready", then "got SRC TTL PAYLOAD" per datagram. */
const RECEIVER = `
import socket, struct, sys
group, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((group, port))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("0.0.0.0")))
s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
s.settimeout(seconds)
print("ready", flush=True)
try:
    while True:
        data, anc, _, addr = s.recvmsg(2048, 64)
        ttl = next((struct.unpack("i", d[:4])[0] for lvl, typ, d in anc
                    if lvl == socket.IPPROTO_IP and typ == socket.IP_TTL), -1)
        print("got", addr[0], ttl, data.decode(), flush=True)
except socket.timeout:
    pass
`;

/** Sends one datagram with the given TTL. */
const SENDER = `
import socket, sys
group, port, ttl, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
s.sendto(payload.encode(), (group, port))
`;

async function startReceiver(
  host: Host,
  group: string,
  port: number,
  seconds = 5,
): Promise<Proc> {
  const proc = host.spawn([
    "python3",
    "-c",
    RECEIVER,
    group,
    String(port),
    String(seconds),
  ]);
  await proc.waitForLine((l) => l === "ready", 10_000);
  return proc;
}

async function send(
  host: Host,
  group: string,
  port: number,
  ttl: number,
  payload: string,
): Promise<void> {
  const r = await host.run([
    "python3",
    "-c",
    SENDER,
    group,
    String(port),
    String(ttl),
    payload,
  ]);
  assert.equal(r.code, 0, r.stderr);
}

netnsTest("lab: two hosts on one segment ping each other", async () => {
  await using lab = await createLab();
  const lan = await lab.segment("lan");
  const a = await lab.host("a", { segment: lan, address: "10.77.1.2/24" });
  const b = await lab.host("b", { segment: lan, address: "10.77.1.3/24" });
  const ab = await a.run(["ping", "-c", "1", "-W", "1", b.address]);
  assert.equal(ab.code, 0, ab.stdout + ab.stderr);
  const ba = await b.run(["ping", "-c", "1", "-W", "1", a.address]);
  assert.equal(ba.code, 0, ba.stdout + ba.stderr);
  // Not reachable from the root namespace: nothing of the lab is there.
  const addrs = await new Deno.Command("ip", { args: ["-o", "addr"] }).output();
  assert.doesNotMatch(new TextDecoder().decode(addrs.stdout), /10\.77\./);
}, { needs: ["ping"] });

netnsTest(
  "lab: a multicast datagram reaches a receiver on the same segment",
  async () => {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const a = await lab.host("a", { segment: lan, address: "10.77.1.2/24" });
    const b = await lab.host("b", { segment: lan, address: "10.77.1.3/24" });
    const c = await lab.host("c", { segment: lan, address: "10.77.1.4/24" });
    const rb = await startReceiver(b, "239.77.1.1", 20001);
    const rc = await startReceiver(c, "239.77.1.1", 20001);
    await send(a, "239.77.1.1", 20001, 1, "hello");
    for (const r of [rb, rc]) {
      const line = await r.waitForLine((l) => l.startsWith("got "), 5_000);
      assert.equal(line, "got 10.77.1.2 1 hello");
    }
    await rb.stop();
    await rc.stop();
  },
  { needs: ["python3"] },
);

netnsTest("lab: tcpdump shows the TTL on the wire", async () => {
  await using lab = await createLab();
  const lan = await lab.segment("lan");
  const a = await lab.host("a", { segment: lan, address: "10.77.1.2/24" });
  const b = await lab.host("b", { segment: lan, address: "10.77.1.3/24" });
  await using cap = await lab.capture(b, "udp and dst host 239.77.1.2");
  await send(a, "239.77.1.2", 20002, 1, "one");
  await send(a, "239.77.1.2", 20002, 7, "seven");
  await cap.waitFor((p) => p.ttl === 7);
  const packets = await cap.stop();
  assert.deepEqual(
    packets.map((p) => [p.src, p.dst, p.dstPort, p.proto, p.ttl]),
    [
      ["10.77.1.2", "239.77.1.2", 20002, "UDP", 1],
      ["10.77.1.2", "239.77.1.2", 20002, "UDP", 7],
    ],
  );
}, { needs: ["python3", "tcpdump"] });

netnsTest("lab: the router forwards TTL 2 and not TTL 1", async () => {
  await using lab = await createLab();
  const { left, right, router } = await routedSegments(lab);
  const a = await lab.host("a", {
    segment: left,
    address: "10.77.1.2/24",
    gateway: "10.77.1.1",
  });
  const b = await lab.host("b", {
    segment: right,
    address: "10.77.2.2/24",
    gateway: "10.77.2.1",
  });
  // Unicast is routed both ways.
  const ping = await a.run(["ping", "-c", "1", "-W", "1", b.address]);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);

  await using cap = await lab.capture(b, "udp and dst host 239.77.2.1");
  const rb = await startReceiver(b, "239.77.2.1", 20003);
  await send(a, "239.77.2.1", 20003, 1, "ttl1");
  await send(a, "239.77.2.1", 20003, 2, "ttl2");
  // Forwarded with the TTL decremented to 1.
  const got = await rb.waitForLine((l) => l.startsWith("got "), 5_000);
  assert.equal(got, "got 10.77.1.2 1 ttl2");
  await cap.waitFor((p) => p.ttl === 1);
  // Give a wrongly forwarded TTL 1 datagram time to show up, then check.
  await new Promise((r) => setTimeout(r, 300));
  const packets = await cap.stop();
  const result = await rb.stop();
  assert.deepEqual(
    result.stdout.split("\n").filter((l) => l.startsWith("got ")),
    ["got 10.77.1.2 1 ttl2"],
  );
  assert.deepEqual(packets.map((p) => [p.src, p.ttl]), [["10.77.1.2", 1]]);
  const show = await router.ctl(["show", "routes"]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /10\.77\.1\.2, 239\.77\.2\.1/);
}, {
  needs: ["python3", "ping", "tcpdump", "smcrouted", "smcroutectl"],
  kernel: ["multicastRouting"],
});

netnsTest("lab: joining and leaving show up as IGMP reports", async () => {
  await using lab = await createLab();
  const lan = await lab.segment("lan");
  const a = await lab.host("a", { segment: lan, address: "10.77.1.2/24" });
  await using cap = await lab.capture(a, "igmp");
  const r = await startReceiver(a, "239.77.1.3", 20004, 30);
  const join = await cap.waitFor((p) => /239\.77\.1\.3/.test(p.info));
  assert.equal(join.src, "10.77.1.2");
  assert.equal(join.ttl, 1);
  assert.match(join.info, /igmp v3 report.*239\.77\.1\.3 to_ex/);
  await r.stop("SIGKILL");
  const leave = await cap.waitFor((p) => /239\.77\.1\.3 to_in/.test(p.info));
  assert.equal(leave.src, "10.77.1.2");
}, { needs: ["python3", "tcpdump"] });

netnsTest(
  "lab: dispose deletes every namespace and kills its processes",
  async () => {
    // Only this process's labs: another test run may be building its own.
    const ours = (names: string[]) =>
      names.filter((name) => name.startsWith(`mc-${Deno.pid}-`)).sort();
    const before = ours(await listNamespaces());
    let id = "";
    let sleeper: Proc | undefined;
    {
      await using lab = await createLab();
      id = lab.id;
      const lan = await lab.segment("lan");
      const a = await lab.host("a", { segment: lan, address: "10.77.1.2/24" });
      sleeper = a.spawn(["sleep", "30"]);
      assert.deepEqual(
        [...lab.namespaces].sort(),
        [`${id}-a`, `${id}-switch`],
      );
      const listed = await listNamespaces();
      assert.ok(listed.includes(`${id}-a`));
    }
    assert.ok(sleeper.exited);
    const after = await listNamespaces();
    assert.deepEqual(after.filter((n) => n.startsWith(`${id}-`)), []);
    assert.deepEqual(ours(after), before);
  },
);

netnsTest("lab: a failing test body still cleans up", async () => {
  let id = "";
  await assert.rejects(async () => {
    await using lab = await createLab();
    id = lab.id;
    const lan = await lab.segment("lan");
    await lab.host("a", { segment: lan, address: "10.77.1.2/24" });
    throw new Error("boom");
  }, /boom/);
  const after = await listNamespaces();
  assert.deepEqual(after.filter((n) => n.startsWith(`${id}-`)), []);
});

netnsTest(
  "lab: namespaces left by a dead test process are removed",
  async () => {
    // The pid of a process that has exited stands for a killed test run.
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    const stale = `mc-${gone.pid}-0000-x`;
    await new Deno.Command("ip", { args: ["netns", "add", stale] }).output();
    try {
      assert.ok((await listNamespaces()).includes(stale));
      const removed = await removeStaleLabs();
      assert.ok(removed.includes(stale), `removed ${removed}`);
      assert.ok(!(await listNamespaces()).includes(stale));
    } finally {
      await new Deno.Command("ip", { args: ["netns", "del", stale] }).output();
    }
  },
);

netnsTest(
  "lab: refuses addresses outside the test range and bad names",
  async () => {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    await assert.rejects(
      lab.host("a", { segment: lan, address: "192.168.1.2/24" }),
      RangeError,
    );
    await assert.rejects(
      lab.host("a", {
        segment: lan,
        address: "10.77.1.2/24",
        ipv6: "2001:db8::1/64",
      }),
      RangeError,
    );
    await assert.rejects(
      lab.host("Bad-Name", { segment: lan, address: "10.77.1.2/24" }),
      SyntaxError,
    );
    await assert.rejects(
      lab.host("switch", { segment: lan, address: "10.77.1.2/24" }),
      /name taken/,
    );
    assert.deepEqual([...lab.namespaces], [`${lab.id}-switch`]);
  },
);

Deno.test("parseTcpdump reads TTL, addresses, ports and IGMP records", () => {
  const packets = parseTcpdump([
    "12:00:00.000001 IP (tos 0x0, ttl 7, id 1, offset 0, flags [DF], proto UDP (17), length 33)",
    "    10.77.1.2.40000 > 239.77.0.1.10001: UDP, length 5",
    "12:00:00.000002 IP (tos 0xc0, ttl 1, id 0, offset 0, flags [DF], proto IGMP (2), length 40, options (RA))",
    "    10.77.1.3 > 224.0.0.22: igmp v3 report, 1 group record(s) [gaddr 239.77.0.1 to_ex, 0 source(s)]",
    "12:00:00.000003 IP6 (flowlabel 0x1, hlim 4, next-header UDP (17) payload length: 13) fd77:1::2.5000 > ff05::77.6000: [udp sum ok] UDP, length 5",
    "garbage",
    "12:00:00.000004 IP (tos 0x0, ttl 64, id 2, offset 0, flags [DF], proto ICMP (1), length 84)",
    "    10.77.1.2 > 10.77.1.3: ICMP echo request, id 1, seq 1, length 64",
  ]);
  assert.deepEqual(
    packets.map((
      p,
    ) => [p.family, p.proto, p.ttl, p.src, p.srcPort, p.dst, p.dstPort]),
    [
      ["IP", "UDP", 7, "10.77.1.2", 40000, "239.77.0.1", 10001],
      ["IP", "IGMP", 1, "10.77.1.3", null, "224.0.0.22", null],
      ["IP6", "UDP", 4, "fd77:1::2", 5000, "ff05::77", 6000],
      ["IP", "ICMP", 64, "10.77.1.2", null, "10.77.1.3", null],
    ],
  );
  assert.match(packets[1].info, /gaddr 239\.77\.0\.1 to_ex/);
});

Deno.test("Proc: a lifetime timeout kills the process", async () => {
  const r = await new Proc(["sleep", "10"], { timeoutMs: 200 }).done;
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, "SIGKILL");
});

Deno.test("Proc: output held open by a grandchild is cut after exit", async () => {
  const started = Date.now();
  const r = await new Proc(["sh", "-c", "echo hi; sleep 5 & exit 3"]).done;
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "hi\n");
  assert.ok(Date.now() - started < 4_000);
});

Deno.test("Proc: stdin, and waitForLine fails when the process exits", async () => {
  const cat = await new Proc(["cat"], { stdin: "abc\n" }).done;
  assert.equal(cat.stdout, "abc\n");
  const echo = new Proc(["echo", "x"]);
  await assert.rejects(echo.waitForLine((l) => l === "y"), /exited before/);
  await echo.done;
});
