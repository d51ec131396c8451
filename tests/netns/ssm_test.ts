// Issue 4: source-specific multicast with the mcast CLI on a real
// (namespaced) segment. Two senders, one listener joined with --source: the
// named sender is answered, the other one's datagram reaches the listener's
// wire and is still never delivered. The join shows up as an IGMPv3 / MLDv2
// report naming the source. Every test builds its own lab; nothing leaves
// the namespaces. See lab.ts and mcast_cli.ts.
import assert from "node:assert/strict";
import { createLab, type Host, netnsTest } from "./lab.ts";
import {
  describe,
  messagesSoFar,
  send,
  startListener,
  stopListener,
  VerboseCapture,
} from "./mcast_cli.ts";

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
  const lan = await lab.segment("lan");
  const good = await lab.host("good", {
    segment: lan,
    address: "10.77.1.10/24",
    ipv6: "fd77:1::10/64",
  });
  const other = await lab.host("other", {
    segment: lan,
    address: "10.77.1.20/24",
    ipv6: "fd77:1::20/64",
  });
  const host = await lab.host("lst", {
    segment: lan,
    address: "10.77.1.11/24",
    ipv6: "fd77:1::11/64",
  });
  await using cap = await VerboseCapture.start(host, c.filter);
  const listener = await startListener(host, [
    "-g",
    c.group,
    "-p",
    String(c.port),
    "--source",
    c.addr(good),
    "-i",
    "eth0",
    ...(c.transport ?? []),
  ]);
  assert.equal(listener.ready.source, c.addr(good));

  // The join names the one source.
  const report = await cap.waitFor((p) => c.isReport(p.info));
  assert.match(report.info, joinRecord(c.group, c.addr(good)), report.info);

  const sendArgs = ["-g", c.group, "-p", String(c.port), "-i", "eth0", ...WAIT];
  const yes = await send(good, sendArgs);
  assert.equal(yes.code, 0, describe(yes));
  assert.deepEqual(
    yes.replies.map((r) => r.from),
    [c.addr(host)],
    describe(yes),
  );
  assert.deepEqual(messagesSoFar(listener).map((m) => m.from), [c.addr(good)]);

  const no = await send(other, sendArgs);
  assert.equal(no.code, 1, describe(no));
  assert.deepEqual(no.replies, [], describe(no));
  assert.deepEqual(
    no.summary,
    { event: "summary", sent: 1, replies: 0, responders: 0 },
    describe(no),
  );
  // The other sender's datagram did reach the listener's interface: the
  // source filter, not the network, kept it out.
  await cap.waitFor((p) =>
    p.proto === "UDP" && p.src === c.addr(other) && p.dst === c.group
  );
  assert.deepEqual(messagesSoFar(listener).map((m) => m.from), [c.addr(good)]);

  const result = await stopListener(listener);
  assert.equal(result.code, 0, result.output);
  assert.deepEqual(
    result.messages.map((m) => m.from),
    [c.addr(good)],
    result.output,
  );
  assert.equal(result.summary?.received, 1, result.output);
  assert.equal(result.summary?.replied, 1, result.output);
  // Leaving withdraws the source.
  await cap.waitFor((p) =>
    c.isReport(p.info) && leaveRecord(c.group, c.addr(good)).test(p.info)
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
