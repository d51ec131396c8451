/**
 * `mcast doctor` without a network: each check turns host facts into one
 * verdict (pure functions over fixtures), the parsers of `ip -j`,
 * /proc/net/igmp, nft's JSON and iptables-save, the command line's usage
 * errors, and one real run through `deno task doctor`'s launcher pinned
 * to 127.0.0.1 (its self-test sends with TTL 0: nothing leaves the host).
 * The broken hosts themselves are built in namespaces:
 * tests/netns/doctor_test.ts.
 *
 * Group 239.13.0.x, ports 13001-13099.
 *
 * @module
 */

import assert from "node:assert/strict";
import { main } from "../cli.ts";
import { diagnose } from "../doctor/diagnose.ts";
import type {
  DoctorTarget,
  HostFacts,
  InterfaceFact,
  RouteFact,
} from "../doctor/facts.ts";
import { doctorExitStatus, type Finding } from "../doctor/finding.ts";
import { firewallCheck } from "../doctor/firewall_check.ts";
import { igmpCheck } from "../doctor/igmp_check.ts";
import { parseIptablesSave } from "../doctor/iptables_rules.ts";
import { parseNftRuleset } from "../doctor/nft_rules.ts";
import { parseMemberships } from "../doctor/proc_files.ts";
import { reversePathCheck } from "../doctor/reverse_path_check.ts";
import { routeCheck } from "../doctor/route_check.ts";
import { interfacesCheck } from "../doctor/interfaces_check.ts";
import { receiveBufferCheck } from "../doctor/receive_buffer_check.ts";
import { selfTestCheck } from "../doctor/self_test_check.ts";
import { ttlCheck } from "../doctor/ttl_check.ts";
import { ROOT } from "./support/cli_process.ts";
import { Subprocess } from "./support/subprocess.ts";

const TARGET: DoctorTarget = {
  group: "239.13.0.1",
  family: "IPv4",
  port: 13001,
};

function iface(
  name: string,
  address: string,
  flags: Partial<InterfaceFact> = {},
): InterfaceFact {
  return {
    name,
    up: true,
    multicast: name !== "lo",
    loopback: name === "lo",
    addresses: [{ family: "IPv4", address, prefix: name === "lo" ? 8 : 24 }],
    ...flags,
  };
}

const LO = iface("lo", "127.0.0.1");
const ETH0 = iface("eth0", "10.77.1.10");
const ETH1 = iface("eth1", "10.77.2.10");

/** A healthy host with eth0, as a base for the broken ones. */
function host(changes: Partial<HostFacts> = {}): HostFacts {
  const route: RouteFact = { dev: "eth0", source: "10.77.1.10" };
  return {
    interfaces: { ok: true, value: [LO, ETH0] },
    route: { ok: true, value: route },
    defaultRoutes: { ok: true, value: ["eth0"] },
    files: {
      "/proc/sys/net/ipv4/conf/all/rp_filter": { ok: true, value: "0\n" },
      "/proc/sys/net/ipv4/conf/eth0/rp_filter": { ok: true, value: "0\n" },
      "/proc/sys/net/core/rmem_max": { ok: true, value: "33554432\n" },
      "/proc/net/igmp": { ok: true, value: "" },
    },
    firewall: {
      nft: { ok: true, value: '{"nftables": []}' },
      iptables: { ok: false, error: "iptables-save: not found on PATH" },
    },
    selfTests: [{ outcome: "received", ttl: 0, ms: 0.4 }],
    ...changes,
  };
}

function byCheck(findings: Finding[], check: string): Finding {
  const found = findings.find((f) => f.check === check);
  assert.ok(found, `no ${check} finding in ${JSON.stringify(findings)}`);
  return found;
}

Deno.test("doctor: a healthy host passes every check, exit 0", () => {
  const findings = diagnose(host(), TARGET);
  assert.deepEqual(
    findings.filter((f) => f.verdict !== "ok"),
    [],
    JSON.stringify(findings, null, 1),
  );
  assert.equal(doctorExitStatus(findings), 0);
  assert.deepEqual(findings.map((f) => f.check), [
    "interfaces",
    "route",
    "rp_filter",
    "igmp",
    "rmem",
    "firewall",
    "self-test",
    "ttl",
  ]);
});

Deno.test("doctor: an interface with multicast off fails interfaces and route, naming the command that turns it on", () => {
  const off = iface("eth0", "10.77.1.10", { multicast: false });
  const findings = diagnose(
    host({ interfaces: { ok: true, value: [LO, off] } }),
    TARGET,
  );
  const interfaces = byCheck(findings, "interfaces");
  assert.equal(interfaces.verdict, "fail");
  assert.match(interfaces.found, /eth0 has multicast switched off/);
  assert.equal(interfaces.fix, "ip link set eth0 multicast on");
  assert.equal(byCheck(findings, "route").verdict, "fail");
  assert.equal(doctorExitStatus(findings), 1);
  // Another interface can: interfaces warns, route names both ways out.
  const two = diagnose(
    host({ interfaces: { ok: true, value: [LO, off, ETH1] } }),
    TARGET,
  );
  assert.equal(byCheck(two, "interfaces").verdict, "warn");
  assert.equal(
    byCheck(two, "route").fix,
    "ip link set eth0 multicast on, or pass -i eth1",
  );
  // Down is said as such.
  const down = interfacesCheck(
    { interfaces: { ok: true, value: [LO, { ...ETH0, up: false }] } },
    { ...TARGET, iface: "eth0" },
  );
  assert.deepEqual(down, {
    check: "interfaces",
    verdict: "fail",
    found: "-i eth0: eth0 is down",
    fix: "ip link set eth0 up",
  });
});

Deno.test("doctor: no route for the group fails route, listing the interfaces for -i (multicast-capable first) and the route to add", () => {
  const finding = routeCheck(
    host({
      route: { ok: true, value: null },
      interfaces: {
        ok: true,
        value: [LO, iface("eth1", "10.77.2.10", { multicast: false }), ETH0],
      },
    }),
    TARGET,
  );
  assert.equal(finding.verdict, "fail");
  assert.match(finding.found, /^no route for 239\.13\.0\.1: send without -i/);
  assert.equal(
    finding.fix,
    "pass -i with one of: eth0 10.77.1.10, eth1 10.77.2.10 (multicast off), lo 127.0.0.1 (this host only), or add a route: ip route add 224.0.0.0/4 dev eth0",
  );
  // Only lo: the way out is lo, for this host only.
  const onlyLo = diagnose(
    host({
      interfaces: { ok: true, value: [LO] },
      route: { ok: true, value: null },
      defaultRoutes: { ok: true, value: [] },
      selfTests: [{ outcome: "join", ttl: 0, error: "ENODEV" }],
    }),
    TARGET,
  );
  assert.equal(
    byCheck(onlyLo, "route").fix,
    "pass -i with one of: lo 127.0.0.1 (this host only)",
  );
  assert.equal(byCheck(onlyLo, "interfaces").verdict, "fail");
  assert.equal(byCheck(onlyLo, "self-test").verdict, "fail");
  // With -i lo on such a host, it works, for this host only.
  const lo = diagnose(
    host({
      interfaces: { ok: true, value: [LO] },
      route: { ok: true, value: { dev: "lo", source: "127.0.0.1" } },
    }),
    { ...TARGET, iface: "lo" },
  );
  assert.equal(byCheck(lo, "interfaces").verdict, "warn");
  assert.equal(byCheck(lo, "route").verdict, "ok");
  assert.equal(doctorExitStatus(lo), 0);
});

function rpHost(all: string, eth0: string, changes: Partial<HostFacts> = {}) {
  const base = host({
    interfaces: { ok: true, value: [LO, ETH0, ETH1] },
    defaultRoutes: { ok: true, value: ["eth1"] },
    ...changes,
  });
  base.files["/proc/sys/net/ipv4/conf/all/rp_filter"] = {
    ok: true,
    value: all,
  };
  base.files["/proc/sys/net/ipv4/conf/eth0/rp_filter"] = {
    ok: true,
    value: eth0,
  };
  base.files["/proc/net/netstat"] = {
    ok: true,
    value: "TcpExt: SyncookiesSent IPReversePathFilter\nTcpExt: 0 4\n",
  };
  return base;
}

Deno.test("doctor: strict rp_filter on an interface the default route does not leave by warns; with --source whose route back leaves elsewhere it fails", () => {
  const onEth0 = { ...TARGET, iface: "eth0" };
  const warned = reversePathCheck(rpHost("0", "1"), onEth0);
  assert.equal(warned.verdict, "warn");
  assert.match(
    warned.found,
    /^rp_filter=1 on eth0 drops datagrams from senders beyond eth0's own subnets .*the default route leaves by eth1.*dropped 4 datagrams by reverse-path filtering/,
  );
  assert.equal(
    warned.fix,
    "sysctl -w net.ipv4.conf.eth0.rp_filter=2, or check one sender with doctor --source ADDR",
  );
  const source = { ...onEth0, source: "10.77.3.5" };
  const failed = reversePathCheck(
    rpHost("1", "0", {
      sourceRoute: { ok: true, value: { dev: "eth1", gateway: "10.77.2.1" } },
    }),
    source,
  );
  assert.equal(failed.verdict, "fail");
  assert.match(
    failed.found,
    /^strict rp_filter \(1\) on eth0 drops datagrams from 10\.77\.3\.5: the route back to it leaves by eth1, not eth0/,
  );
  assert.equal(
    failed.fix,
    "sysctl -w net.ipv4.conf.eth0.rp_filter=2 (loose: any route back will do)",
  );
  // No route back at all: loose drops too, and "all" must come down as well.
  const noWayBack = reversePathCheck(
    rpHost("2", "0", { sourceRoute: { ok: true, value: null } }),
    source,
  );
  assert.equal(noWayBack.verdict, "fail");
  assert.match(noWayBack.fix!, /eth0\.rp_filter=0 and .*all\.rp_filter=0/);
  // Loose, or the route back through eth0 itself: fine.
  assert.equal(reversePathCheck(rpHost("0", "2"), onEth0).verdict, "ok");
  assert.equal(
    reversePathCheck(
      rpHost("1", "1", { sourceRoute: { ok: true, value: { dev: "eth0" } } }),
      source,
    ).verdict,
    "ok",
  );
  assert.equal(
    reversePathCheck(rpHost("0", "0"), onEth0).found,
    "rp_filter is off on eth0",
  );
});

function nft(rules: unknown[], policy = "accept"): string {
  return JSON.stringify({
    nftables: [
      {
        chain: {
          family: "inet",
          table: "fw",
          name: "in",
          hook: "input",
          policy,
        },
      },
      ...rules.map((expr, i) => ({
        rule: {
          family: "inet",
          table: "fw",
          chain: "in",
          handle: 10 + i,
          expr,
        },
      })),
    ],
  });
}

const UDP_DPORT = (right: unknown) => ({
  match: {
    op: "==",
    left: { payload: { protocol: "udp", field: "dport" } },
    right,
  },
});

function firewall(nftText: string, iptables?: string): HostFacts {
  return host({
    firewall: {
      nft: { ok: true, value: nftText },
      iptables: iptables === undefined
        ? { ok: false, error: "iptables-save: not found on PATH" }
        : { ok: true, value: iptables },
    },
  });
}

Deno.test("doctor: an nft rule that drops the port fails, naming the rule and the command that deletes it", () => {
  const dropped = firewallCheck(
    firewall(
      nft([[UDP_DPORT(13001), { counter: { packets: 0 } }, { drop: null }]]),
    ),
    TARGET,
  );
  assert.deepEqual(dropped, {
    check: "firewall",
    verdict: "fail",
    found: 'inet fw in drops UDP to port 13001: "udp dport 13001 drop"',
    fix: "nft delete rule inet fw in handle 10",
  });
  // A set and a range that hold the port; a reject.
  const set = firewallCheck(
    firewall(
      nft([[UDP_DPORT({ set: [53, { range: [13000, 13010] }] }), {
        reject: null,
      }]]),
    ),
    TARGET,
  );
  assert.equal(set.verdict, "fail");
  assert.match(set.found, /udp dport \{ 53, 13000-13010 \} reject/);
  // Another port, another group, TCP, an earlier accept: nothing.
  for (
    const rules of [
      [[UDP_DPORT(13002), { drop: null }]],
      [[{
        match: {
          op: "==",
          left: { payload: { protocol: "ip", field: "daddr" } },
          right: "239.13.9.9",
        },
      }, { drop: null }]],
      [[{
        match: {
          op: "==",
          left: { payload: { protocol: "tcp", field: "dport" } },
          right: 13001,
        },
      }, { drop: null }]],
      [[UDP_DPORT(13001), { accept: null }], [UDP_DPORT(13001), {
        drop: null,
      }]],
    ]
  ) {
    const result = firewallCheck(firewall(nft(rules)), TARGET);
    assert.equal(result.verdict, "ok", JSON.stringify(result));
  }
  // A rule on senders doctor does not know: may drop, a warning.
  const bySender = firewallCheck(
    firewall(
      nft([[{
        match: {
          op: "==",
          left: { payload: { protocol: "ip", field: "saddr" } },
          right: { prefix: { addr: "10.77.3.0", len: 24 } },
        },
      }, { drop: null }]]),
    ),
    TARGET,
  );
  assert.equal(bySender.verdict, "warn");
  assert.match(bySender.found, /may drop UDP to port 13001/);
  // ...which fails once --source says the sender is there.
  assert.equal(
    firewallCheck(
      firewall(
        nft([[{
          match: {
            op: "==",
            left: { payload: { protocol: "ip", field: "saddr" } },
            right: { prefix: { addr: "10.77.3.0", len: 24 } },
          },
        }, { drop: null }]]),
      ),
      { ...TARGET, source: "10.77.3.5" },
    ).verdict,
    "fail",
  );
});

Deno.test("doctor: IGMP drops warn; an input policy of drop fails unless a rule accepts the port", () => {
  const igmp = firewallCheck(
    firewall(
      nft([[{
        match: { op: "==", left: { meta: { key: "l4proto" } }, right: "igmp" },
      }, { drop: null }]]),
    ),
    TARGET,
  );
  assert.equal(igmp.verdict, "warn");
  assert.match(igmp.found, /drops IGMP: "meta l4proto igmp drop"/);
  const policy = firewallCheck(firewall(nft([], "drop")), TARGET);
  assert.equal(policy.verdict, "fail");
  assert.equal(
    policy.fix,
    "nft insert rule inet fw in ip daddr 239.13.0.1 udp dport 13001 accept",
  );
  const accepted = firewallCheck(
    firewall(nft([[UDP_DPORT(13001), { accept: null }]], "drop")),
    TARGET,
  );
  assert.equal(accepted.verdict, "ok", JSON.stringify(accepted));
});

const IPTABLES_NFT =
  `# Generated by iptables-save v1.8.9 (nf_tables) on Mon Nov 30 02:35:13 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p udp -m multiport --dports 13000:13005,6000 -m comment --comment "no multicast here" -j DROP
COMMIT
`;

Deno.test("doctor: iptables rules are read from iptables-save, once when iptables-nft also shows them to nft", () => {
  const nftView = JSON.stringify({
    nftables: [
      {
        chain: {
          family: "ip",
          table: "filter",
          name: "INPUT",
          hook: "input",
          policy: "accept",
        },
      },
      {
        rule: {
          family: "ip",
          table: "filter",
          chain: "INPUT",
          handle: 4,
          expr: [
            {
              match: {
                op: "==",
                left: { meta: { key: "l4proto" } },
                right: "udp",
              },
            },
            { xt: { type: "match", name: "multiport" } },
            { counter: null },
            { drop: null },
          ],
        },
      },
    ],
  });
  const result = firewallCheck(firewall(nftView, IPTABLES_NFT), TARGET);
  assert.deepEqual(result, {
    check: "firewall",
    verdict: "fail",
    found:
      'ip filter INPUT drops UDP to port 13001: "-A INPUT -p udp -m multiport --dports 13000:13005,6000 -m comment --comment "no multicast here" -j DROP"',
    fix:
      'iptables -D INPUT -p udp -m multiport --dports 13000:13005,6000 -m comment --comment "no multicast here" -j DROP',
  });
  const { rules } = parseIptablesSave(
    "*raw\n-A PREROUTING ! -p udp -j DROP\n-A PREROUTING -i eth1 -d 239.13.0.0/16 -j DROP\nCOMMIT\n",
    "ip",
  );
  assert.equal(
    rules[0].remove,
    "iptables -t raw -D PREROUTING ! -p udp -j DROP",
  );
  assert.deepEqual(rules[1].matches.map((m) => m.field), ["iif", "daddr"]);
  // Arriving on eth1 only: not on eth0, the interface under test.
  assert.equal(
    firewallCheck(
      firewall(
        '{"nftables": []}',
        "*raw\n-A PREROUTING -i eth1 -d 239.13.0.0/16 -j DROP\nCOMMIT\n",
      ),
      TARGET,
    ).verdict,
    "ok",
  );
  assert.equal(
    firewallCheck(
      firewall(
        '{"nftables": []}',
        "*raw\n-A PREROUTING -i eth+ -d 239.13.0.0/16 -j DROP\nCOMMIT\n",
      ),
      TARGET,
    ).verdict,
    "fail",
  );
});

Deno.test("doctor: unreadable firewall rules warn (run as root); no tools at all is not a failure", () => {
  const denied = firewallCheck(
    host({
      firewall: {
        nft: {
          ok: false,
          error: "nft: Operation not permitted (you must be root)",
        },
        iptables: {
          ok: false,
          error: "iptables-save: Permission denied (you must be root)",
        },
      },
    }),
    TARGET,
  );
  assert.equal(denied.verdict, "warn");
  assert.equal(denied.fix, "run doctor as root to read them");
  const none = firewallCheck(
    host({
      firewall: {
        nft: { ok: false, error: "nft: not found on PATH" },
        iptables: { ok: false, error: "iptables-save: not found on PATH" },
      },
    }),
    TARGET,
  );
  assert.equal(none.verdict, "ok");
  assert.doesNotThrow(() => parseNftRuleset('{"nftables": []}'));
  assert.throws(() => parseNftRuleset("[]"), SyntaxError);
});

Deno.test("doctor: the self-test the command line stands for fails the run; other candidates only warn", () => {
  const facts = host({
    interfaces: { ok: true, value: [LO, ETH0, ETH1] },
    selfTests: [
      { outcome: "timeout", ttl: 0, waitedMs: 300 },
      {
        iface: "eth1",
        outcome: "send",
        ttl: 0,
        error: "EPERM (Operation not permitted)",
      },
    ],
  });
  const [first, second] = selfTestCheck(facts, TARGET);
  assert.equal(first.verdict, "fail");
  assert.match(
    first.found,
    /^without -i \(leaves by eth0\): joined and sent with TTL 0 .*nothing came back within 300 ms/,
  );
  assert.equal(second.verdict, "warn");
  assert.equal(
    second.fix,
    "an outgoing firewall rule refuses it (see firewall)",
  );
  const busy = selfTestCheck(
    host({
      selfTests: [{
        outcome: "open",
        ttl: 0,
        error: "EADDRINUSE (Address already in use)",
      }],
    }),
    TARGET,
  );
  assert.match(busy[0].fix!, /ss -ulpn 'sport = :13001'/);
});

Deno.test("doctor: forced IGMPv2 fails a source-specific target and is only noted otherwise; memberships are listed", () => {
  const igmp =
    "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n" +
    "2\teth0      :     2      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\n\t\t\t\t01000DEF     2 0:00000000\t\t0\n";
  const facts = host();
  facts.files["/proc/net/igmp"] = { ok: true, value: igmp };
  facts.files["/proc/sys/net/ipv4/conf/eth0/force_igmp_version"] = {
    ok: true,
    value: "2",
  };
  const asm = igmpCheck(facts, TARGET);
  assert.equal(asm.verdict, "ok");
  assert.match(
    asm.found,
    /IGMPv2 is forced on eth0.*239\.13\.0\.1 is joined on eth0 \(2 sockets\)/,
  );
  const ssm = igmpCheck(facts, {
    ...TARGET,
    group: "232.13.0.1",
    source: "10.77.1.1",
  });
  assert.equal(ssm.verdict, "fail");
  assert.equal(ssm.fix, "sysctl -w net.ipv4.conf.eth0.force_igmp_version=0");
  assert.deepEqual(
    parseMemberships(
      "3    eth0            ff050000000000000000000000010003     1 00000004 0\n",
      "IPv6",
    ),
    [{ iface: "eth0", group: "ff05::1:3", users: 1 }],
  );
});

Deno.test("doctor: the TTL hint says how far the group reaches", () => {
  assert.match(ttlCheck(TARGET).found, /routable.*-t N\+1/);
  assert.match(
    ttlCheck({ ...TARGET, group: "224.0.0.251" }).found,
    /link-local.*never forward/,
  );
  assert.match(
    ttlCheck({ ...TARGET, group: "239.255.1.1" }).found,
    /site-local/,
  );
  assert.match(
    ttlCheck({ group: "ff02::1:3", family: "IPv6", port: 1 }).found,
    /link-local/,
  );
  assert.match(
    ttlCheck({ group: "ff05::1:3", family: "IPv6", port: 1 }).found,
    /site-local.*hop limit/,
  );
});

/** Runs the CLI's main() with its output captured. */
async function runMain(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    write: () => {},
    isTerminal: false,
    cwd: ROOT,
  });
  return { code, out, err };
}

Deno.test("doctor: bad usage is named in one line, exit 2", async () => {
  const cases: [string[], string][] = [
    [
      ["-g", "10.0.0.1"],
      'mcast doctor: Invalid group "10.0.0.1": not a multicast address',
    ],
    [["-p", "70000"], "mcast doctor: Invalid port 70000: must be 1-65535"],
    [
      ["-i", "bad name!"],
      'mcast doctor: Invalid interface "bad name!": neither an IP address nor an interface name',
    ],
    [
      ["-i", "::1"],
      'mcast doctor: Invalid interface "::1": an IPv6 address cannot serve an IPv4 group',
    ],
    [
      ["--source", "fd77::1"],
      'mcast doctor: Invalid source "fd77::1": an IPv6 sender cannot send to the IPv4 group 224.3.29.71',
    ],
    [["--bogus"], "mcast doctor: Unknown option '--bogus'"],
    [
      ["extra"],
      'mcast doctor: Unexpected argument "extra": doctor takes only options',
    ],
  ];
  for (const [args, message] of cases) {
    const { code, out, err } = await runMain(["doctor", ...args]);
    assert.equal(code, 2, `${args.join(" ")}: ${err.join("\n")}`);
    assert.deepEqual(out, []);
    assert.ok(err[0].startsWith(message), `${err[0]}\n  expected: ${message}`);
    assert.equal(err[1], 'Try "mcast doctor --help".');
  }
  const help = await runMain(["help", "doctor"]);
  assert.equal(help.code, 0);
  assert.match(help.out[0], /^Usage: mcast doctor \[options\]/);
  const top = await runMain(["help"]);
  assert.match(
    top.out[0],
    /mcast doctor \[options\] +why multicast does not arrive/,
  );
});

Deno.test("doctor: deno task doctor on 127.0.0.1 runs every check with least privilege, self-tests on lo and exits 0", async () => {
  await using doctor = new Subprocess(Deno.execPath(), [
    "task",
    "--quiet",
    "doctor",
    "-g",
    "239.13.0.2",
    "-p",
    "13002",
    "-i",
    "127.0.0.1",
    "--json",
  ], { cwd: ROOT, name: "deno task doctor" });
  const { code, stdout, stderr } = await doctor.wait(30_000);
  const events = stdout.map((line) => JSON.parse(line));
  const checks = events.filter((e) => e.event === "check");
  const summary = events.at(-1);
  const report = `${stdout.join("\n")}\n${stderr.join("\n")}`;
  assert.deepEqual(stderr, [], report);
  assert.equal(code, 0, report);
  assert.deepEqual(
    checks.map((c) => c.check),
    [
      "interfaces",
      "route",
      "rp_filter",
      "igmp",
      "rmem",
      "firewall",
      "self-test",
      "ttl",
    ],
    report,
  );
  const selfTest = checks.find((c) => c.check === "self-test");
  assert.equal(selfTest.verdict, "ok", report);
  assert.match(
    selfTest.found,
    /^on lo: joined 239\.13\.0\.2, sent to port 13002 with TTL 0/,
  );
  assert.equal(checks[0].verdict, "warn", "lo reaches this host only");
  if (Deno.uid() === 0) {
    // Read through the launcher's grants: root is not told "unless root".
    const rmem = checks.find((c) => c.check === "rmem");
    assert.doesNotMatch(rmem.found, /unless run as root/, report);
  }
  // /proc was read through the launcher's grants (FFI), not refused.
  assert.doesNotMatch(report, /cannot read \/proc/);
  assert.deepEqual(
    {
      event: summary.event,
      interface: summary.interface,
      works: summary.works,
    },
    { event: "summary", interface: "127.0.0.1", works: true },
  );
});

Deno.test("doctor: -i lo names the way to other hosts only when there is one (issue 22, item 7)", () => {
  const onLo = (interfaces: InterfaceFact[]) =>
    interfacesCheck({ interfaces: { ok: true, value: interfaces } }, {
      ...TARGET,
      iface: "lo",
    });
  // Only lo: no -i reaches another host, and doctor says so.
  const alone = onLo([LO]);
  assert.equal(alone.verdict, "warn");
  assert.equal(
    alone.fix,
    "to reach other hosts this host needs an interface on their network: it has none with an IPv4 address but loopback",
  );
  assert.doesNotMatch(alone.fix!, /pass -i/);
  // An interface that could: what it takes.
  assert.equal(
    onLo([LO, iface("eth0", "10.77.1.10", { up: false })]).fix,
    "to reach other hosts: ip link set eth0 up",
  );
  assert.equal(
    onLo([LO, iface("eth0", "10.77.1.10", { multicast: false })]).fix,
    "to reach other hosts: ip link set eth0 multicast on",
  );
  // Candidates: those, and never lo itself.
  assert.equal(
    onLo([LO, ETH0, iface("eth1", "10.77.2.10", { multicast: false })]).fix,
    "to reach other hosts pass -i with one of: eth0 10.77.1.10",
  );
});

Deno.test("doctor: the rmem hint says what a user with CAP_NET_ADMIN gets, and never 'unless run as root' to root (issue 22, item 7)", () => {
  const facts = (capEff: string | undefined) => ({
    files: {
      "/proc/sys/net/core/rmem_max": { ok: true as const, value: "212992\n" },
      "/proc/sys/net/core/rmem_default": {
        ok: true as const,
        value: "212992\n",
      },
      ...(capEff === undefined ? {} : {
        "/proc/self/status": {
          ok: true as const,
          value: `Name:\tdeno\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\n`,
        },
      }),
    },
  });
  // Root (every capability): listen gets what it asks for.
  const root = receiveBufferCheck(facts("000001ffffffffff"));
  assert.equal(root.verdict, "ok");
  assert.match(root.found, /this user has CAP_NET_ADMIN \(root does\)/);
  assert.match(root.found, /gets the 32 MiB it asks for/);
  assert.doesNotMatch(root.found, /unless run as root/);
  // CAP_NET_ADMIN alone (bit 12) is what counts.
  assert.equal(receiveBufferCheck(facts("0000000000001000")).verdict, "ok");
  // Without it: capped, and said so.
  const user = receiveBufferCheck(facts("0000000000000000"));
  assert.equal(user.verdict, "warn");
  assert.match(
    user.found,
    /gets 208 KiB \(this user has no CAP_NET_ADMIN to pass it\)/,
  );
  assert.equal(user.fix, "sysctl -w net.core.rmem_max=33554432");
  // Status unreadable: both cases named.
  assert.match(
    receiveBufferCheck(facts(undefined)).found,
    /unless run as root \(CAP_NET_ADMIN\)/,
  );
});
