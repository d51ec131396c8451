// Issue 22, item 4: mcast's figures against what the network did. In lab
// namespaces an nftables rule loses or duplicates a random 10% of the
// traffic (numgen random mod 10), and counts what it did (`counter` in the
// rule): that count is the truth. 2,000 numbered requests later, what mcast
// reports must equal it where mcast can know it exactly (loss and
// duplicate counts, requests its own host refused); the rule itself must
// have done about 10% (within 2.5 points), or the test would prove little.
//
//   s 10.77.1.11 ── segment "lan" ── l 10.77.1.12
//   (mcast send)                     (mcast listen, rate limits raised)
//
// Where the kernel has netem, a delay and reordering test compares mcast's
// round-trip times and reordering with a capture on the sender's wire.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host, type Lab } from "../../lab/lab.ts";
import {
  groupFlags,
  type Json,
  runMcast,
  send,
  type SendRun,
  startListener,
  stopListener,
} from "../../lab/mcast_cli.ts";
import { ROOT } from "../support/cli_process.ts";
import { type CapturedDatagram, readPcap } from "../../lab/pcap.ts";
import { FrameKind, frameValue } from "../../lib/wire/frame.ts";

const GROUP = "239.77.22.1";
const PROBES = 2000;
/** The listener answers every probe: no per-source or global limit in the way. */
const NO_LIMITS = ["--rate-limit", "1000000", "--global-rate", "1000000"];
const PACED = ["--seq", "-c", String(PROBES), "--interval", "1ms", "-w", "1s"];

async function twoHosts(lab: Lab): Promise<{ s: Host; l: Host }> {
  const lan = await lab.segment("lan");
  const s = await lab.host("s", { segment: lan, address: "10.77.1.11/24" });
  const l = await lab.host("l", { segment: lan, address: "10.77.1.12/24" });
  return { s, l };
}

/** Loads an nftables ruleset (`nft -f -`) into `host`. */
async function nft(host: Host, ruleset: string): Promise<void> {
  const r = await host.run(["nft", "-f", "-"], { stdin: ruleset });
  assert.equal(r.code, 0, `nft -f -:\n${ruleset}\n${r.stderr}`);
}

/**
 * A table `truth` with one chain on `hook` holding `rule`, which ends in
 * `counter` and what it does.
 */
function table(hook: "input" | "output", rule: string): string {
  return `table ip truth {
  chain c {
    type filter hook ${hook} priority 0; policy accept;
    ${rule}
  }
}
`;
}

/** The packets the counters of table `truth`'s rules counted, in rule order. */
async function counters(host: Host): Promise<number[]> {
  const r = await host.run(["nft", "-j", "list", "table", "ip", "truth"]);
  assert.equal(r.code, 0, r.stderr);
  const found: number[] = [];
  for (const item of JSON.parse(r.stdout).nftables) {
    for (const expr of item.rule?.expr ?? []) {
      if (expr.counter !== undefined) found.push(expr.counter.packets);
    }
  }
  return found;
}

/** The rule's count is about 10% of `of`: within 2.5 points. */
function aboutTenPercent(count: number, of: number, what: string): void {
  const share = count / of;
  assert.ok(
    Math.abs(share - 0.1) <= 0.025,
    `${what}: the rule hit ${count} of ${of} (${(share * 100).toFixed(1)}%)`,
  );
}

/** A send run for an assertion message: its exit, summary and stderr (not its 2,000 replies). */
function told(run: SendRun): string {
  return `exit ${run.code}\nsummary: ${
    JSON.stringify(run.summary)
  }\nstderr: ${run.stderr}`;
}

/** One responder's row of a send run's summary. */
function onlyRow(run: SendRun): Json {
  const rows = run.summary?.perResponder as Json[] | undefined;
  assert.equal(rows?.length, 1, told(run));
  return rows![0];
}

/** The loss a summary reports for `missing` of `sent` requests. */
function lossPercent(missing: number, sent: number): number {
  return Math.round((missing / sent) * 10000) / 100;
}

/**
 * Starts a listener on `l` (port `port`), runs `send ARGS` on `s`, stops
 * the listener; returns both.
 */
async function probe(
  s: Host,
  l: Host,
  port: number,
  args: string[],
): Promise<{ run: SendRun; heard: Json }> {
  const listener = await startListener(l, [
    ...groupFlags(GROUP, port, "eth0"),
    ...NO_LIMITS,
    "-q",
  ]);
  const run = await send(s, [...groupFlags(GROUP, port, "eth0"), ...args]);
  const stopped = await stopListener(listener);
  assert.ok(stopped.summary, stopped.output);
  return { run, heard: stopped.summary };
}

netnsTest(
  "truth: 10% of requests dropped at the listener's input is the loss mcast reports, to the request",
  async () => {
    await using lab = await createLab();
    const { s, l } = await twoHosts(lab);
    const port = 22401;
    await nft(
      l,
      table("input", `udp dport ${port} numgen random mod 10 0 counter drop`),
    );
    const { run, heard } = await probe(s, l, port, PACED);
    const [dropped] = await counters(l);
    const row = onlyRow(run);
    const what = `${dropped} dropped\n${told(run)}\nlistener: ${
      JSON.stringify(heard)
    }`;
    aboutTenPercent(dropped, PROBES, `requests dropped; ${what}`);
    assert.equal(run.summary?.sent, PROBES, what);
    assert.equal(heard.received, PROBES - dropped, what);
    assert.equal(row.replies, PROBES - dropped, what);
    assert.equal(row.lossPercent, lossPercent(dropped, PROBES), what);
    assert.equal(row.duplicates, 0, what);
  },
  { kernel: ["nftables"] },
);

netnsTest(
  "truth: 10% of replies dropped at the listener's output is the loss mcast reports, and the listener's send errors",
  async () => {
    await using lab = await createLab();
    const { s, l } = await twoHosts(lab);
    const port = 22402;
    await nft(
      l,
      table("output", `udp sport ${port} numgen random mod 10 0 counter drop`),
    );
    const { run, heard } = await probe(s, l, port, PACED);
    const [dropped] = await counters(l);
    const row = onlyRow(run);
    const what = `${dropped} dropped\n${told(run)}\nlistener: ${
      JSON.stringify(heard)
    }`;
    aboutTenPercent(dropped, PROBES, `replies dropped; ${what}`);
    assert.equal(heard.received, PROBES, what);
    // The kernel refused the listener's sends (EPERM): counted, not sent.
    assert.equal(heard.sendErrors, dropped, what);
    assert.equal(heard.replied, PROBES - dropped, what);
    assert.equal(row.replies, PROBES - dropped, what);
    assert.equal(row.lossPercent, lossPercent(dropped, PROBES), what);
  },
  { kernel: ["nftables"] },
);

netnsTest(
  "truth: 10% of replies duplicated on the way (nft dup) are the duplicates mcast reports, to the reply",
  async () => {
    await using lab = await createLab();
    const { s, l } = await twoHosts(lab);
    const port = 22403;
    await nft(
      l,
      table(
        "output",
        // The copy passes the output chain again, without the socket
        // (nf_dup_ipv4): meta skuid keeps the rule, its numgen and its
        // counter to the listener's own datagrams, once each.
        `udp sport ${port} meta skuid 0 numgen random mod 10 0 counter dup to ${s.address} device eth0`,
      ),
    );
    const { run, heard } = await probe(s, l, port, PACED);
    const [duplicated] = await counters(l);
    const row = onlyRow(run);
    const what = `${duplicated} duplicated\n${told(run)}\nlistener: ${
      JSON.stringify(heard)
    }`;
    aboutTenPercent(duplicated, PROBES, `replies duplicated; ${what}`);
    assert.equal(heard.replied, PROBES, what);
    assert.equal(row.duplicates, duplicated, what);
    assert.equal(row.replies, PROBES + duplicated, what);
    assert.equal(run.summary?.replies, PROBES + duplicated, what);
    assert.equal(row.lossPercent, 0, what);
  },
  { kernel: ["nftDup"] },
);

/** Requests 1 onwards (not the first: a failed first send ends the run). */
const NOT_THE_FIRST = "@th,96,32 != 0";

/**
 * `deno eval` of the library in `host`: `send()` over the Deno.listenDatagram
 * transport (the CLI does not send with it), printing its summary as JSON.
 */
async function librarySend(host: Host, port: number): Promise<Json> {
  const code = `
    import { send } from "${ROOT}/lib/sender/send.ts";
    import { openDenoTransport } from "${ROOT}/lib/transports/deno_udp.ts";
    let summary;
    for await (const event of send("x", {
      group: "${GROUP}", port: ${port}, sequence: true, count: ${PROBES},
      interval: "1ms", timeout: "1s", transport: openDenoTransport,
    })) if (event.event === "summary") summary = event;
    console.log(JSON.stringify(summary));
  `;
  const r = await host.run(
    [Deno.execPath(), "eval", "--unstable-net", code],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

netnsTest(
  "truth: 10% of sends refused by the sender's own firewall (EPERM) are counted by errno, the run goes on, loss counts what left",
  async () => {
    await using lab = await createLab();
    const { s, l } = await twoHosts(lab);
    // One port per run, one counted rule per port.
    const runs = [
      { port: 22410, transport: "ffi", args: PACED, errno: "EPERM" },
      // Deno's node:dgram does not say why the OS refused a send.
      { port: 22411, transport: "dgram", args: PACED, errno: "UNKNOWN" },
      {
        port: 22412,
        transport: "ffi",
        args: ["--seq", "-c", String(PROBES), "--rate", "max", "-w", "1s"],
        errno: "EPERM",
      },
      { port: 22413, transport: "deno", args: [], errno: "EPERM" },
    ];
    await nft(
      s,
      table(
        "output",
        runs.map(({ port }) =>
          `udp dport ${port} ${NOT_THE_FIRST} numgen random mod 10 0 counter drop`
        ).join("\n    "),
      ),
    );
    const summaries: Json[] = [];
    for (const { port, transport, args } of runs) {
      const listener = await startListener(l, [
        ...groupFlags(GROUP, port, "eth0"),
        ...NO_LIMITS,
        "-q",
      ]);
      if (transport === "deno") summaries.push(await librarySend(s, port));
      else {
        const run = await send(s, [
          ...groupFlags(GROUP, port, "eth0"),
          "--transport",
          transport,
          ...args,
        ]);
        assert.equal(run.code, 0, told(run));
        summaries.push(run.summary!);
      }
      const heard = await stopListener(listener);
      const summary = summaries.at(-1)!;
      assert.equal(heard.summary?.received, summary.sent, heard.output);
    }
    const refused = await counters(s);
    runs.forEach(({ transport, args, errno }, i) => {
      const summary = summaries[i];
      const what = `${transport} ${args.join(" ")}: the rule refused ${
        refused[i]
      }\n${JSON.stringify(summary)}`;
      aboutTenPercent(refused[i], PROBES, what);
      const errors = summary.sendErrors as Record<string, number>;
      assert.deepEqual(Object.keys(errors), [errno], what);
      assert.equal((summary.sent as number) + errors[errno], PROBES, what);
      if (args.includes("max")) {
        // sendmmsg stops at a refusal without saying why: the datagram it
        // stopped at is tried again once (ffi_transport.ts).
        assert.ok(
          refused[i] - errors[errno] >= 0 && refused[i] - errors[errno] <= 1,
          what,
        );
      } else assert.equal(errors[errno], refused[i], what);
      const [row] = summary.perResponder as Json[];
      const answered = (row.replies as number) - (row.duplicates as number);
      assert.equal(
        row.lossPercent,
        lossPercent(summary.sent as number - answered, summary.sent as number),
        what,
      );
    });
  },
  { kernel: ["nftables"] },
);

netnsTest(
  "truth: a first send the firewall refuses still ends the run, with the errno's sentence",
  async () => {
    await using lab = await createLab();
    const { s } = await twoHosts(lab);
    const port = 22420;
    await nft(s, table("output", `udp dport ${port} counter drop`));
    const r = await runMcast(s, [
      "send",
      ...groupFlags(GROUP, port, "eth0"),
      "--transport",
      "ffi",
      "-c",
      "5",
      "--interval",
      "1ms",
    ], { timeoutMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /Cannot send \d+ bytes to 239\.77\.22\.1:22420 via interface .*: a firewall rule on this host refused it .*\(EPERM\)/,
    );
    assert.deepEqual(await counters(s), [1], "one send, then the run ended");
  },
  { kernel: ["nftables"] },
);

/** What crossed the sender's wire: each request's time and the replies in order. */
interface Wire {
  /** When each numbered request left, by number. */
  sentAt: Map<number, number>;
  /** The replies' numbers and times, in the order they arrived. */
  replies: { seq: number; atMs: number }[];
}

/** The requests to `port` and the replies from it in a capture. */
function wireOf(datagrams: CapturedDatagram[], port: number): Wire {
  const sentAt = new Map<number, number>();
  const replies: Wire["replies"] = [];
  for (const d of datagrams) {
    if (d.dstPort === port) {
      const seq = frameValue(d.payload, FrameKind.request);
      if (seq !== undefined && !sentAt.has(seq)) sentAt.set(seq, d.atMs);
    } else if (d.srcPort === port) {
      const seq = frameValue(d.payload, FrameKind.reply);
      if (seq !== undefined) replies.push({ seq, atMs: d.atMs });
    }
  }
  return { sentAt, replies };
}

/**
 * Duplicates and reordering as mcast counts them (round_trip_stats.ts), of
 * the replies in wire order: a reply for a number answered before is a
 * duplicate; a first reply for a number below the highest seen so far is
 * reordered.
 */
function orderOf(replies: Wire["replies"]) {
  const seen = new Set<number>();
  let highest = -1;
  let duplicates = 0;
  let reordered = 0;
  for (const { seq } of replies) {
    if (seen.has(seq)) duplicates++;
    else {
      if (seq < highest) reordered++;
      seen.add(seq);
    }
    highest = Math.max(highest, seq);
  }
  return { duplicates, reordered, answered: seen.size };
}

/** The median of some numbers. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Runs the paced probe with a capture on the sender's eth0 after `impair`
 * set up the listener's way out; returns mcast's run and the wire's truth.
 */
async function probeOnTheWire(
  lab: Lab,
  port: number,
  impair: (l: Host) => Promise<void>,
): Promise<{ run: SendRun; wire: Wire }> {
  const { s, l } = await twoHosts(lab);
  await impair(l);
  const dir = await Deno.makeTempDir({ prefix: "mcast-truth-" });
  try {
    const file = `${dir}/wire.pcap`;
    const capture = s.spawn([
      "tcpdump",
      "-i",
      "eth0",
      "-n",
      "-U",
      "-w",
      file,
      `udp port ${port} or udp src port ${port}`,
    ], { timeoutMs: 120_000 });
    await capture.waitForErrorLine((line) => /listening on/.test(line));
    const { run } = await probe(s, l, port, PACED);
    await capture.stop("SIGINT", 5_000);
    return { run, wire: wireOf(readPcap(await Deno.readFile(file)), port) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

netnsTest(
  "truth: netem's delay and reordering are the round-trip times and reordering mcast reports, against a capture of the wire",
  async () => {
    await using lab = await createLab();
    const port = 22430;
    const { run, wire } = await probeOnTheWire(lab, port, async (l) => {
      // A quarter of the replies leave at once, the rest 10 ms late.
      const r = await l.run([
        "tc",
        "qdisc",
        "add",
        "dev",
        "eth0",
        "root",
        "netem",
        "delay",
        "10ms",
        "reorder",
        "25%",
        "50%",
      ]);
      assert.equal(r.code, 0, r.stderr);
    });
    const truth = orderOf(wire.replies);
    const row = onlyRow(run);
    const what = `wire: ${JSON.stringify(truth)}\n${
      JSON.stringify(run.summary)
    }`;
    assert.equal(wire.sentAt.size, PROBES, what);
    assert.ok(truth.reordered >= PROBES / 100, `netem reordered: ${what}`);
    assert.equal(row.reordered, truth.reordered, what);
    assert.equal(row.duplicates, truth.duplicates, what);
    assert.equal(row.replies, wire.replies.length, what);
    // Round trips: never shorter than the wire's, and their middle within
    // 5 ms of it (mcast's own share: its event loop, the system calls).
    const onWire = new Map<number, number>();
    for (const { seq, atMs } of wire.replies) {
      if (!onWire.has(seq)) onWire.set(seq, atMs - wire.sentAt.get(seq)!);
    }
    const reported = run.replies.filter((r) => typeof r.seq === "number");
    for (const reply of reported) {
      const wireMs = onWire.get(reply.seq as number)!;
      assert.ok(
        (reply.rttMs as number) >= wireMs - 0.05,
        `seq ${reply.seq}: ${reply.rttMs} ms reported, ${wireMs} on the wire`,
      );
    }
    const wireP50 = median([...onWire.values()]);
    const p50 = (row.rttMs as Json).p50 as number;
    assert.ok(wireP50 >= 9, `netem delayed most replies 10 ms: ${wireP50}`);
    assert.ok(
      p50 >= wireP50 && p50 <= wireP50 + 5,
      `${p50} against ${wireP50}`,
    );
  },
  { kernel: ["netem"], needs: ["tcpdump"] },
);
