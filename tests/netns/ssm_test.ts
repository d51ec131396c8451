// Issue 4: source-specific multicast with the mcast CLI on a real
// (namespaced) segment. Two senders, one listener joined with --source: the
// named sender is answered, the other one's datagram reaches the listener's
// wire and is still never delivered. The join shows up as an IGMPv3 / MLDv2
// report naming the source. Every test builds its own lab; nothing leaves
// the namespaces. See lab.ts and mcast_cli.ts.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host } from "../../lab/lab.ts";
import {
  assertHeard,
  assertUnanswered,
  describe,
  groupFlags,
  messagesSoFar,
  send,
  startListener,
} from "../../lab/mcast_cli.ts";
import { senderAndListener } from "../../lab/topologies.ts";

const WAIT = ["-w", "600ms"];

interface Case {
  group: string;
  port: number;
  /** Address of the host in the case's family. */
  addr: (host: Host) => string;
  /** Capture filter: the membership reports and the group's datagrams. */
  filter: string;
  /** Whether a packet is this group's membership report. */
  isReport: (info: string) => boolean;
  /** Extra listen flags choosing the transport, when the default cannot. */
  transport?: string[];
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `[gaddr G allow { S }]` (or `is_in`), as `tcpdump -vv` prints it. */
function joinRecord(group: string, source: string): RegExp {
  return new RegExp(
    `gaddr ${escape(group)} (?:allow|is_in) \\{ ${escape(source)} \\}`,
  );
}

/** `[gaddr G block { S }]`, or `to_in { }` when the whole group is left. */
function leaveRecord(group: string, source: string): RegExp {
  return new RegExp(
    `gaddr ${escape(group)} (?:block \\{ ${escape(source)} \\}|to_in \\{ \\})`,
  );
}

async function sourceSpecific(c: Case): Promise<void> {
  await using lab = await createLab();
  // `snd` is the good source, `other` a second sender on the segment.
  const { lan, sender: good, listener: host } = await senderAndListener(lab, {
    ipv6: true,
  });
  const other = await lab.host("other", {
    segment: lan,
    address: "10.77.1.20/24",
    ipv6: "fd77:1::20/64",
  });
  // -vv: the reports' source lists are printed.
  await using cap = await lab.capture(host, c.filter, { verbosity: 2 });
  const target = groupFlags(c.group, c.port, "eth0");
  const listener = await startListener(host, [
    ...target,
    "--source",
    c.addr(good),
    ...(c.transport ?? []),
  ]);
  assert.equal(listener.ready.source, c.addr(good));

  // The join names the one source.
  const report = await cap.waitFor((p) => c.isReport(p.info), 5_000);
  assert.match(report.info, joinRecord(c.group, c.addr(good)), report.info);

  const sendArgs = [...target, ...WAIT];
  const yes = await send(good, sendArgs);
  assert.equal(yes.code, 0, describe(yes));
  assert.deepEqual(
    yes.replies.map((r) => r.from),
    [c.addr(host)],
    describe(yes),
  );
  assert.deepEqual(messagesSoFar(listener).map((m) => m.from), [c.addr(good)]);

  assertUnanswered(await send(other, sendArgs));
  // The other sender's datagram did reach the listener's interface: the
  // source filter, not the network, kept it out.
  await cap.waitFor(
    (p) => p.proto === "UDP" && p.src === c.addr(other) && p.dst === c.group,
    5_000,
  );
  assert.deepEqual(messagesSoFar(listener).map((m) => m.from), [c.addr(good)]);

  const result = await assertHeard(listener, [c.addr(good)]);
  assert.equal(result.code, 0, result.output);
  // Leaving withdraws the source.
  await cap.waitFor(
    (p) =>
      c.isReport(p.info) && leaveRecord(c.group, c.addr(good)).test(p.info),
    5_000,
  );
}

netnsTest(
  "ssm: IPv4 232.1.1.1 --source 10.77.1.10 answers 10.77.1.10 only (IGMPv3 source report)",
  () =>
    sourceSpecific({
      group: "232.1.1.1",
      port: 10301,
      addr: (h) => h.address,
      filter: "igmp or (udp and dst host 232.1.1.1)",
      isReport: (info) =>
        /igmp v3 report/.test(info) && /gaddr 232\.1\.1\.1 /.test(info),
    }),
  { needs: ["tcpdump"] },
);

netnsTest(
  "ssm: IPv6 ff3e::8000:1 --source fd77:1::10 answers fd77:1::10 only (MLDv2 source report)",
  () =>
    sourceSpecific({
      group: "ff3e::8000:1",
      port: 10302,
      // Deno's node:dgram fails IPv6 source-specific joins; ffi does them.
      transport: ["--transport", "ffi"],
      addr: (h) => h.ipv6!,
      // MLD reports carry a hop-by-hop header, so "icmp6" does not match them.
      filter: "(ip6 dst ff02::16) or (udp and dst host ff3e::8000:1)",
      isReport: (info) =>
        /multicast listener report v2/.test(info) &&
        /gaddr ff3e::8000:1 /.test(info),
    }),
  { needs: ["tcpdump"] },
);
