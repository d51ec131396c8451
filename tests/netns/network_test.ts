// Issue 4: the mcast CLI on a real (namespaced) network. Every test builds
// its own lab; nothing leaves the namespaces. See lab.ts.
import assert from "node:assert/strict";
import { createLab, type Host, netnsTest, type Proc } from "./lab.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const DENO = Deno.execPath();
/** Deno starts slowly when several start at once: be generous. */
const READY_MS = 30_000;

type Json = Record<string, unknown>;

function parseJsonLines(text: string): Json[] {
  const out: Json[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      // Not one of ours.
    }
  }
  return out;
}

function isEvent(line: string, event: string): boolean {
  try {
    return JSON.parse(line)?.event === event;
  } catch {
    return false;
  }
}

/** Starts `mcast listen --json` in a host and waits for its ready event. */
async function startListener(
  host: Host,
  group: string,
  port: number,
  extra: string[] = [],
): Promise<Proc> {
  const proc = host.spawn([
    DENO,
    "run",
    "-A",
    CLI,
    "listen",
    "--json",
    "-g",
    group,
    "-p",
    String(port),
    ...extra,
  ], { timeoutMs: 120_000 });
  await proc.waitForLine((l) => isEvent(l, "ready"), READY_MS);
  return proc;
}

interface SendRun {
  code: number;
  replies: Json[];
  summary: Json | undefined;
  stderr: string;
}

/** Runs `mcast send --json` in a host and parses its NDJSON output. */
async function send(
  host: Host,
  group: string,
  port: number,
  extra: string[] = [],
): Promise<SendRun> {
  const r = await host.run([
    DENO,
    "run",
    "-A",
    CLI,
    "send",
    "--json",
    "-g",
    group,
    "-p",
    String(port),
    "-w",
    "1s",
    ...extra,
  ], { timeoutMs: 60_000 });
  const events = parseJsonLines(r.stdout);
  return {
    code: r.code,
    replies: events.filter((e) => e.event === "reply"),
    summary: events.find((e) => e.event === "summary"),
    stderr: r.stderr,
  };
}

function describe(run: SendRun): string {
  return `exit ${run.code}\nreplies: ${JSON.stringify(run.replies)}\nsummary: ${
    JSON.stringify(run.summary)
  }\nstderr: ${run.stderr}`;
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
    const procs = await Promise.all(
      listeners.map((h) => startListener(h, "239.77.0.1", 10001)),
    );
    const run = await send(sender, "239.77.0.1", 10001);
    assert.equal(run.code, 0, describe(run));
    const from = run.replies.map((r) => r.from as string).sort();
    assert.deepEqual(
      from,
      listeners.map((h) => h.address).sort(),
      describe(run),
    );
    for (const r of run.replies) assert.equal(r.port, 10001, describe(run));
    assert.deepEqual(
      run.summary,
      { event: "summary", sent: 1, replies: 6, responders: 6 },
      describe(run),
    );
    // Fan-out: every listener got the one datagram and answered it once.
    for (const proc of procs) {
      const result = await proc.stop("SIGINT", 5_000);
      const events = parseJsonLines(result.stdout);
      const messages = events.filter((e) => e.event === "message");
      assert.deepEqual(
        messages.map((e) => e.from),
        [sender.address],
        result.stdout,
      );
      assert.equal(
        events.filter((e) => e.event === "reply").length,
        1,
        result.stdout,
      );
      const summary = events.find((e) => e.event === "summary");
      assert.equal(summary?.received, 1, result.stdout);
      assert.equal(summary?.replied, 1, result.stdout);
    }
  },
);

netnsTest("network: the TTL on the wire equals --ttl (1 and 7)", async () => {
  await using lab = await createLab();
  const lan = await lab.segment("lan");
  const sender = await lab.host("snd", {
    segment: lan,
    address: "10.77.1.10/24",
  });
  const listener = await lab.host("lst", {
    segment: lan,
    address: "10.77.1.11/24",
  });
  await startListener(listener, "239.77.0.2", 10002);
  await using cap = await lab.capture(
    listener,
    "udp and dst host 239.77.0.2 and dst port 10002",
  );
  for (const ttl of [1, 7]) {
    const run = await send(sender, "239.77.0.2", 10002, ["--ttl", String(ttl)]);
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
    const left = await lab.segment("left");
    const right = await lab.segment("right");
    await lab.router("r", {
      interfaces: [
        { segment: left, address: "10.77.1.1/24" },
        { segment: right, address: "10.77.2.1/24" },
      ],
    });
    const sender = await lab.host("snd", {
      segment: left,
      address: "10.77.1.10/24",
      gateway: "10.77.1.1",
    });
    const near = await lab.host("near", {
      segment: left,
      address: "10.77.1.11/24",
      gateway: "10.77.1.1",
    });
    const far = await lab.host("far", {
      segment: right,
      address: "10.77.2.11/24",
      gateway: "10.77.2.1",
    });
    await Promise.all([
      startListener(near, "239.77.0.3", 10003),
      // Behind a router the sender is no neighbour: allow the lab's range.
      startListener(far, "239.77.0.3", 10003, ["--allow-from", "10.77.0.0/16"]),
    ]);
    await using cap = await lab.capture(far, "udp and dst host 239.77.0.3");

    const one = await send(sender, "239.77.0.3", 10003, ["--ttl", "1"]);
    assert.equal(one.code, 0, describe(one));
    assert.deepEqual(
      one.replies.map((r) => r.from),
      [near.address],
      describe(one),
    );

    const two = await send(sender, "239.77.0.3", 10003, ["--ttl", "2"]);
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
  { needs: ["tcpdump", "smcrouted", "smcroutectl"] },
);

netnsTest("network: --ttl 1 gets no reply from behind the router", async () => {
  await using lab = await createLab();
  const left = await lab.segment("left");
  const right = await lab.segment("right");
  await lab.router("r", {
    interfaces: [
      { segment: left, address: "10.77.1.1/24" },
      { segment: right, address: "10.77.2.1/24" },
    ],
  });
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
  // Allowed, so only the TTL can keep the reply away.
  await startListener(far, "239.77.0.4", 10004, [
    "--allow-from",
    "10.77.0.0/16",
  ]);
  const one = await send(sender, "239.77.0.4", 10004, ["--ttl", "1"]);
  assert.equal(one.code, 1, describe(one));
  assert.deepEqual(one.replies, [], describe(one));
  assert.deepEqual(
    one.summary,
    { event: "summary", sent: 1, replies: 0, responders: 0 },
    describe(one),
  );
}, { needs: ["smcrouted", "smcroutectl"] });

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
    const listener = await startListener(host, "239.77.0.5", 10005);
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
    const result = await listener.stop("SIGINT", 5_000);
    const tookMs = Date.now() - stopped;
    assert.equal(result.signal, null, `killed: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(
      parseJsonLines(result.stdout).some((e) => e.event === "summary"),
      result.stdout,
    );
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
