// Issue 13: `mcast doctor` on broken hosts built in namespaces. Each test
// breaks one thing (multicast off, no route, rp_filter on an asymmetric
// path, a firewall rule on the port), runs doctor there as users run it
// (cli/launch.ts, the launcher behind `deno task doctor`, with its least
// privileges), and checks that one line names the cause and the fix;
// where the fix is a command, it runs it and checks that doctor then
// passes. Groups 239.77.13.x, ports 13101-13199; nothing leaves the lab.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host, type Lab, type Node } from "../../lab/lab.ts";
import {
  groupFlags,
  type Json,
  messagesSoFar,
  parseJsonLines,
  send,
  startListener,
  stopListener,
} from "../../lab/mcast_cli.ts";
import { sysctl } from "../../lab/namespaces.ts";
import { runChecked } from "../../lab/process.ts";

const LAUNCH = new URL("../../cli/launch.ts", import.meta.url).pathname;

/** What one doctor run printed. */
interface DoctorRun {
  code: number;
  /** Its lines (human) or events (--json). */
  lines: string[];
  checks: Json[];
  summary: Json | undefined;
  output: string;
}

/** Runs `deno task doctor ARGS...` in `node`: the launcher, as deno.json runs it. */
async function doctor(node: Node, args: string[]): Promise<DoctorRun> {
  const r = await node.run([
    Deno.execPath(),
    "run",
    "--allow-run",
    "--allow-env=INIT_CWD",
    LAUNCH,
    "doctor",
    ...args,
  ], { timeoutMs: 60_000 });
  const events = parseJsonLines(r.stdout);
  return {
    code: r.code,
    lines: r.stdout.split("\n").filter((l) => l !== ""),
    checks: events.filter((e) => e.event === "check"),
    summary: events.find((e) => e.event === "summary"),
    output: `exit ${r.code}\nstdout:\n${r.stdout}stderr:\n${r.stderr}`,
  };
}

/** The one human line of `check`, asserting that there is exactly one. */
function line(run: DoctorRun, verdict: string, check: string): string {
  const found = run.lines.filter((l) =>
    l.startsWith(`${verdict.padEnd(4)}  ${check.padEnd(10)}  `)
  );
  assert.equal(
    found.length,
    1,
    `one "${verdict} ${check}" line in\n${run.output}`,
  );
  return found[0];
}

/** The JSON event of `check` (the first, for self-test). */
function check(run: DoctorRun, name: string): Json {
  const found = run.checks.find((c) => c.check === name);
  assert.ok(found, `no ${name} check in\n${run.output}`);
  return found;
}

/** Every check that is not ok, for assertion messages and exact sets. */
function notOk(run: DoctorRun): string[] {
  return run.checks.filter((c) => c.verdict !== "ok").map((c) =>
    `${c.verdict} ${c.check}`
  );
}

async function oneHost(lab: Lab): Promise<Host> {
  const lan = await lab.segment("lan");
  return await lab.host("h", { segment: lan, address: "10.77.1.10/24" });
}

netnsTest(
  "doctor: a healthy host passes (exit 0), and its self-test sends nothing out",
  async () => {
    await using lab = await createLab();
    const host = await oneHost(lab);
    await using cap = await lab.capture(host, "udp port 13101");
    const run = await doctor(host, [
      ...groupFlags("239.77.13.1", 13101),
      "--json",
    ]);
    assert.equal(run.code, 0, run.output);
    // net.core.rmem_max is the machine's (a namespace cannot raise it): a
    // warning where it is below the 32 MiB listen asks for, never a failure.
    assert.deepEqual(
      notOk(run),
      check(run, "rmem").verdict === "ok" ? [] : ["warn rmem"],
      run.output,
    );
    assert.equal(
      check(run, "route").found,
      "239.77.13.1 leaves by eth0 from 10.77.1.10",
    );
    assert.match(
      check(run, "self-test").found as string,
      /^without -i \(leaves by eth0\): joined 239\.77\.13\.1, sent to port 13101 with TTL 0 \(it never leaves this host\), received it back in [\d.]+ ms$/,
      run.output,
    );
    assert.deepEqual(
      { ...run.summary, ok: undefined, warn: undefined },
      {
        event: "summary",
        group: "239.77.13.1",
        port: 13101,
        interface: null,
        source: null,
        ok: undefined,
        warn: undefined,
        fail: 0,
        works: true,
      },
    );
    // TTL 0: the kernel delivered the loopback copy and sent nothing on eth0.
    assert.deepEqual(await cap.stop(), []);
  },
  { needs: ["tcpdump"] },
);

netnsTest(
  "doctor: an interface with multicast switched off fails, one line naming it and `ip link set eth0 multicast on`",
  async () => {
    await using lab = await createLab();
    const host = await oneHost(lab);
    await runChecked([
      "ip",
      "-n",
      host.ns,
      "link",
      "set",
      "eth0",
      "multicast",
      "off",
    ]);
    const run = await doctor(host, groupFlags("239.77.13.2", 13102));
    assert.equal(run.code, 1, run.output);
    assert.match(
      line(run, "fail", "interfaces"),
      /no interface can carry IPv4 multicast to other hosts: eth0 has multicast switched off \(no MULTICAST flag\).* {2}fix: ip link set eth0 multicast on$/,
    );
    assert.match(
      line(run, "fail", "route"),
      /239\.77\.13\.2 leaves by eth0 from 10\.77\.1\.10, which has multicast switched off/,
    );
    assert.match(
      run.lines.at(-1)!,
      /cannot work on this host: 2 checks failed \(interfaces, route\)/,
    );
    // The fix, as printed, makes it pass.
    await runChecked([
      "ip",
      "-n",
      host.ns,
      "link",
      "set",
      "eth0",
      "multicast",
      "on",
    ]);
    const fixed = await doctor(host, [
      ...groupFlags("239.77.13.2", 13102),
      "--json",
    ]);
    assert.equal(fixed.code, 0, fixed.output);
  },
);

netnsTest(
  "doctor: a host with only lo has no route for the group: one line says so and offers -i lo, which then works",
  async () => {
    await using lab = await createLab();
    const host = await oneHost(lab);
    await runChecked(["ip", "-n", host.ns, "link", "del", "eth0"]);
    const run = await doctor(host, groupFlags("239.77.13.3", 13103));
    assert.equal(run.code, 1, run.output);
    assert.match(
      line(run, "fail", "route"),
      /no route for 239\.77\.13\.3: send without -i fails with "Network is unreachable" and listen without -i cannot join \("No such device"\) {2}fix: pass -i with one of: lo 127\.0\.0\.1 \(this host only\)$/,
    );
    assert.match(
      line(run, "fail", "self-test"),
      /^fail {2}self-test {3}without -i: cannot join 239\.77\.13\.3: /,
    );
    // What the fix offers: this host only, which works.
    const lo = await doctor(host, [
      ...groupFlags("239.77.13.3", 13103, "lo"),
      "--json",
    ]);
    assert.equal(lo.code, 0, lo.output);
    assert.match(check(lo, "self-test").found as string, /^on lo: joined/);
    assert.match(
      check(lo, "interfaces").found as string,
      /only this host's own listeners and senders meet there/,
    );
  },
);

/**
 * `far` 10.77.2.11 and `lst` 10.77.1.11 share segment `left` but no subnet
 * (two subnets on one link: no router, so any kernel will do). `lst`'s
 * default route leaves by a second interface `eth1` (10.77.3.11 on segment
 * `side`): the route back to `far` is not the way its datagrams came in.
 */
async function asymmetric(lab: Lab) {
  const left = await lab.segment("left");
  const far = await lab.host("far", {
    segment: left,
    address: "10.77.2.11/24",
  });
  const lst = await lab.host("lst", {
    segment: left,
    address: "10.77.1.11/24",
  });
  const side = await lab.segment("side");
  await runChecked([
    "ip",
    "-n",
    lst.ns,
    "link",
    "add",
    "eth1",
    "type",
    "veth",
    "peer",
    "name",
    "doc1",
    "netns",
    side.ns,
  ]);
  await runChecked([
    "ip",
    "-n",
    side.ns,
    "link",
    "set",
    "doc1",
    "master",
    side.bridge,
    "up",
  ]);
  await runChecked([
    "ip",
    "-n",
    lst.ns,
    "addr",
    "add",
    "10.77.3.11/24",
    "dev",
    "eth1",
  ]);
  await runChecked(["ip", "-n", lst.ns, "link", "set", "eth1", "up"]);
  await runChecked([
    "ip",
    "-n",
    lst.ns,
    "route",
    "add",
    "default",
    "via",
    "10.77.3.1",
  ]);
  await sysctl(lst.ns, "net.ipv4.conf.all.rp_filter", "0");
  await sysctl(lst.ns, "net.ipv4.conf.eth0.rp_filter", "1");
  return { far, lst };
}

netnsTest(
  "doctor: strict rp_filter dropping an asymmetric path fails with --source, naming the interface the route back leaves by; its fix lets the datagrams in",
  async () => {
    await using lab = await createLab();
    const { far, lst } = await asymmetric(lab);
    const target = groupFlags("239.77.13.4", 13104, "eth0");
    const listener = await startListener(lst, [
      ...target,
      "--plugin",
      "silent",
      "--allow-from",
      "10.77.2.0/24",
    ]);
    try {
      // The datagram arrives on eth0 and is dropped there.
      await send(far, [
        ...groupFlags("239.77.13.4", 13104, "eth0"),
        "-w",
        "300ms",
        "first",
      ]);
      const run = await doctor(lst, [...target, "--source", "10.77.2.11"]);
      assert.equal(run.code, 1, run.output);
      assert.match(
        line(run, "fail", "rp_filter"),
        /strict rp_filter \(1\) on eth0 drops datagrams from 10\.77\.2\.11: the route back to it leaves by eth1, not eth0 \(the kernel has dropped \d+ datagrams? by reverse-path filtering so far\) {2}fix: sysctl -w net\.ipv4\.conf\.eth0\.rp_filter=2 \(loose: any route back will do\)$/,
      );
      assert.deepEqual(
        messagesSoFar(listener),
        [],
        "dropped before the listener",
      );
      // Without --source doctor cannot know the sender: a warning naming the cause.
      const general = await doctor(lst, [...target, "--json"]);
      assert.equal(check(general, "rp_filter").verdict, "warn", general.output);
      assert.match(
        check(general, "rp_filter").found as string,
        /the default route leaves by eth1/,
      );
      // The fix, as printed.
      await runChecked([
        "ip",
        "netns",
        "exec",
        lst.ns,
        "sysctl",
        "-q",
        "-w",
        "net.ipv4.conf.eth0.rp_filter=2",
      ]).catch(() => sysctl(lst.ns, "net.ipv4.conf.eth0.rp_filter", "2"));
      const fixed = await doctor(lst, [
        ...target,
        "--source",
        "10.77.2.11",
        "--json",
      ]);
      assert.equal(check(fixed, "rp_filter").verdict, "ok", fixed.output);
      assert.equal(fixed.code, 0, fixed.output);
      await send(far, [
        ...groupFlags("239.77.13.4", 13104, "eth0"),
        "-w",
        "300ms",
        "second",
      ]);
    } finally {
      const result = await stopListener(listener);
      assert.deepEqual(result.messages.map((m) => [m.from, m.payload]), [[
        "10.77.2.11",
        "second",
      ]], result.output);
    }
  },
);

netnsTest(
  "doctor: an nft rule dropping the port fails, naming the rule and the nft command that deletes it, which works",
  async () => {
    await using lab = await createLab();
    const host = await oneHost(lab);
    const nft = (...args: string[]) =>
      runChecked(["ip", "netns", "exec", host.ns, "nft", ...args]);
    await nft("add", "table", "inet", "guard");
    await nft(
      "add",
      "chain",
      "inet",
      "guard",
      "in",
      "{ type filter hook input priority 0; }",
    );
    await nft(
      "add",
      "rule",
      "inet",
      "guard",
      "in",
      "udp",
      "dport",
      "13105",
      "drop",
    );
    const run = await doctor(host, [
      ...groupFlags("239.77.13.5", 13105),
      "--json",
    ]);
    assert.equal(run.code, 1, run.output);
    const firewall = check(run, "firewall");
    assert.equal(firewall.verdict, "fail", run.output);
    assert.equal(
      firewall.found,
      'inet guard in drops UDP to port 13105: "udp dport 13105 drop"',
    );
    assert.match(
      firewall.fix as string,
      /^nft delete rule inet guard in handle \d+$/,
    );
    // The self-test sees the same drop from the other side.
    assert.match(
      check(run, "self-test").found as string,
      /nothing came back within 300 ms/,
    );
    assert.deepEqual(notOk(run).filter((c) => c.startsWith("fail")), [
      "fail firewall",
      "fail self-test",
    ]);
    // Another port is not concerned.
    const other = await doctor(host, [
      ...groupFlags("239.77.13.5", 13106),
      "--json",
    ]);
    assert.equal(other.code, 0, other.output);
    await runChecked([
      "ip",
      "netns",
      "exec",
      host.ns,
      ...(firewall.fix as string).split(" "),
    ]);
    const fixed = await doctor(host, [
      ...groupFlags("239.77.13.5", 13105),
      "--json",
    ]);
    assert.equal(fixed.code, 0, fixed.output);
  },
  { needs: ["nft"] },
);

netnsTest(
  "doctor: an iptables rule dropping the port fails, naming the rule and the iptables command that deletes it, which works",
  async () => {
    await using lab = await createLab();
    const host = await oneHost(lab);
    await runChecked([
      "ip",
      "netns",
      "exec",
      host.ns,
      "iptables",
      "-A",
      "INPUT",
      "-p",
      "udp",
      "--dport",
      "13107",
      "-j",
      "DROP",
    ]);
    await runChecked([
      "ip",
      "netns",
      "exec",
      host.ns,
      "iptables",
      "-A",
      "INPUT",
      "-p",
      "igmp",
      "-j",
      "DROP",
    ]);
    const run = await doctor(host, groupFlags("239.77.13.7", 13107));
    assert.equal(run.code, 1, run.output);
    // One line for both rules, the port's first; each rule once, though
    // iptables-nft shows it to nft too.
    assert.equal(
      line(run, "fail", "firewall"),
      'fail  firewall    ip filter INPUT drops UDP to port 13107: "-A INPUT -p udp -m udp --dport 13107 -j DROP"; ip filter INPUT drops IGMP: "-A INPUT -p igmp -j DROP"  fix: iptables -D INPUT -p udp -m udp --dport 13107 -j DROP; iptables -D INPUT -p igmp -j DROP',
    );
    await runChecked([
      "ip",
      "netns",
      "exec",
      host.ns,
      "iptables",
      "-D",
      "INPUT",
      "-p",
      "udp",
      "-m",
      "udp",
      "--dport",
      "13107",
      "-j",
      "DROP",
    ]);
    const fixed = await doctor(host, [
      ...groupFlags("239.77.13.7", 13107),
      "--json",
    ]);
    assert.equal(fixed.code, 0, fixed.output);
    assert.equal(
      check(fixed, "firewall").verdict,
      "warn",
      "the IGMP rule is still there",
    );
  },
  { needs: ["iptables"] },
);

netnsTest(
  "doctor: IPv6: a healthy host passes with a hop-limit-0 self-test on eth0; without an IPv6 address the interface fails",
  async () => {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const host = await lab.host("h", {
      segment: lan,
      address: "10.77.1.10/24",
      ipv6: "fd77:1::10/64",
    });
    const run = await doctor(host, [
      ...groupFlags("ff05::77:1308", 13108, "eth0"),
      "--json",
    ]);
    assert.equal(run.code, 0, run.output);
    assert.equal(check(run, "mld").verdict, "ok", run.output);
    assert.match(
      check(run, "self-test").found as string,
      /^on eth0: joined ff05::77:1308, sent to port 13108 with hop limit 0 \(it never leaves this host\)/,
    );
    await runChecked([
      "ip",
      "-n",
      host.ns,
      "-6",
      "addr",
      "flush",
      "dev",
      "eth0",
    ]);
    const bare = await doctor(host, groupFlags("ff05::77:1308", 13108, "eth0"));
    assert.equal(bare.code, 1, bare.output);
    assert.match(
      line(bare, "fail", "interfaces"),
      /-i eth0: eth0 has no IPv6 address/,
    );
  },
);
