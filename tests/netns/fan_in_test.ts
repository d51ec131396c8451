// Issue 12, item 3: a sender that survives response implosion. One
// multicast request answered at once by 200 and by 1,000 hosts on one
// bridge (a Linux bridge takes at most 1,023 ports). The responders are
// light: one C process (fan_in_responders.c) holds a socket in every host's
// namespace and answers each request at once, as a seed-style responder
// does, with the sender's ARP entry set beforehand so that no reply waits.
//
// `deno task send` (the launcher, as users run it) gets the ffi transport by
// auto, whose 8 MiB receive buffer holds every reply: the summary counts all
// of them and no kernel drop. A small `--recv-buffer` loses replies, and the
// summary counts them as kernel drops (replies + kernelDrops = hosts); the
// portable dgram transport's default buffer is reported with its own figure.

import assert from "node:assert/strict";
import { ROOT } from "../support/cli_process.ts";
import { netnsTest } from "./availability.ts";
import { createLab, type Host, type Lab, type Segment } from "./lab.ts";
import { type Json, parseJsonLines } from "./mcast_cli.ts";

const DENO = Deno.execPath();
const GROUP = "239.77.12.3";
const PORT = 41203;
/** The sender's address; the responders are 10.77.1.1 onwards, on one /16. */
const SENDER = "10.77.0.1";
/** Hosts built at once (each is a few `ip` commands). */
const BUILD_PARALLEL = 8;

/** Compiles the responder program into a temporary folder. */
async function buildResponders(): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "mcast-fan-in-" });
  const path = `${dir}/fan_in_responders`;
  const source = new URL("./fan_in_responders.c", import.meta.url).pathname;
  const gcc = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", path, source],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!gcc.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(new TextDecoder().decode(gcc.stderr));
  }
  return { path, dir };
}

/** The responders' addresses: 10.77.1.1 to 10.77.1.250, then 10.77.2.1, ... */
function responderAddress(index: number): string {
  return `10.77.${1 + Math.floor(index / 250)}.${1 + index % 250}/16`;
}

/** `count` responder hosts on `lan`, built a few at a time. */
async function responderHosts(
  lab: Lab,
  lan: Segment,
  count: number,
): Promise<Host[]> {
  const hosts: Host[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      hosts[index] = await lab.host(`r${index}`, {
        segment: lan,
        address: responderAddress(index),
      });
    }
  };
  await Promise.all(Array.from({ length: BUILD_PARALLEL }, worker));
  return hosts;
}

/** The MAC address of `host`'s eth0. */
async function macOf(host: Host): Promise<string> {
  const r = await host.run(["cat", "/sys/class/net/eth0/address"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** What one send run printed: its summary and how many reply lines. */
interface FanIn {
  code: number;
  replies: number;
  summary: Json;
  what: string;
}

/**
 * Sends one request from `sender` and waits for `expect` responders (at
 * most 5 s). `task`: through `deno task send` (the launcher, least
 * privilege); else `deno run -A cli.ts send`, which may read /proc (the
 * kernel drops of node:dgram's socket).
 */
async function sendOnce(
  sender: Host,
  expect: number,
  flags: string[],
  task: boolean,
): Promise<FanIn> {
  const args = [
    "send",
    "--json",
    "-g",
    GROUP,
    "-p",
    String(PORT),
    "-i",
    "eth0",
    "-w",
    "5s",
    "--expect",
    String(expect),
    ...flags,
    "fan-in",
  ];
  const argv = task
    ? [DENO, "task", "-q", "--config", `${ROOT}/deno.json`, ...args]
    : [DENO, "run", "-A", `${ROOT}/cli.ts`, ...args];
  const r = await sender.run(argv, { timeoutMs: 60_000 });
  const events = parseJsonLines(r.stdout);
  const summary = events.find((e) => e.event === "summary") ?? {};
  const what = `${task ? "deno task " : ""}send ${
    flags.join(" ")
  }: exit ${r.code}, summary ${
    JSON.stringify({ ...summary, perResponder: undefined })
  }\n${r.stderr}`;
  return {
    code: r.code,
    replies: events.filter((e) => e.event === "reply").length,
    summary,
    what,
  };
}

/**
 * A lab of `count` responder hosts and a sender on one bridge, the
 * responder process running; calls `body`, then removes everything.
 */
async function withFanIn(
  count: number,
  body: (sender: Host) => Promise<void>,
): Promise<void> {
  const program = await buildResponders();
  try {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const sender = await lab.host("sender", {
      segment: lan,
      address: `${SENDER}/16`,
    });
    const hosts = await responderHosts(lab, lan, count);
    const mac = await macOf(sender);
    // Started in the sender's namespace so that the lab stops it; it opens
    // one socket in each responder's namespace.
    await using responders = sender.spawn([
      program.path,
      GROUP,
      String(PORT),
      SENDER,
      mac,
      "240",
      ...hosts.map((host) => host.ns),
    ], { timeoutMs: 300_000 });
    await responders.waitForLine((line) => line === `ready ${count}`, 60_000);
    await body(sender);
  } finally {
    await Deno.remove(program.dir, { recursive: true });
  }
}

/** Asserts that `run` reported every one of `count` replies, no drop. */
function assertEveryReply(run: FanIn, count: number): void {
  assert.equal(run.code, 0, run.what);
  assert.equal(run.replies, count, run.what);
  assert.equal(run.summary.replies, count, run.what);
  assert.equal(run.summary.responders, count, run.what);
  assert.equal(run.summary.kernelDrops ?? 0, 0, run.what);
  assert.deepEqual(
    run.summary.expect,
    {
      responders: count,
      answered: count,
      missing: [],
      met: true,
      roundsMet: 1,
    },
    run.what,
  );
}

/**
 * Asserts that `run` lost replies at its small buffer and counted each one:
 * replies + kernel drops = `count`.
 */
function assertLossCounted(run: FanIn, count: number): void {
  assert.equal(run.code, 1, run.what);
  const drops = Number(run.summary.kernelDrops ?? 0);
  assert.ok(drops > 0, run.what);
  assert.equal(Number(run.summary.replies) + drops, count, run.what);
}

netnsTest(
  "fan-in: 200 hosts answer one multicast at once; deno task send (ffi by auto) reports all 200, no kernel drop",
  async () => {
    await withFanIn(200, async (sender) => {
      assertEveryReply(await sendOnce(sender, 200, [], true), 200);
      // A receive buffer of the kernel's minimum holds a few replies: the
      // rest are dropped, and the summary counts them.
      assertLossCounted(
        await sendOnce(sender, 200, ["--recv-buffer", "4K"], true),
        200,
      );
    });
  },
);

netnsTest(
  "fan-in (slow: ~40 s, 1,000 namespaces): 1,000 hosts answer one multicast at once; deno task send reports all 1,000, no kernel drop; a small buffer's losses are counted",
  async () => {
    await withFanIn(1000, async (sender) => {
      assertEveryReply(await sendOnce(sender, 1000, [], true), 1000);
      assertEveryReply(
        await sendOnce(sender, 1000, ["--recv-buffer", "8M"], true),
        1000,
      );
      assertLossCounted(
        await sendOnce(sender, 1000, ["--recv-buffer", "4K"], true),
        1000,
      );
      // node:dgram's default buffer (about 208 KiB): replies are lost when
      // they arrive faster than it is read. With -A the sender reads its
      // socket's drops from /proc/net/udp, and every reply is accounted for.
      const dgram = await sendOnce(
        sender,
        1000,
        ["--transport", "dgram"],
        false,
      );
      const drops = Number(dgram.summary.kernelDrops ?? 0);
      assert.equal(Number(dgram.summary.replies) + drops, 1000, dgram.what);
      console.log(
        `fan-in 1,000: --transport dgram reported ${dgram.summary.replies} replies, ${drops} kernel drops`,
      );
    });
  },
);

Deno.test("fan-in: send --recv-buffer refuses a bad size and a transport that cannot set it, exit 2", async () => {
  for (
    const [flags, message] of [
      [["--recv-buffer", "lots"], /^mcast send: Invalid --recv-buffer "lots"/],
      [["--recv-buffer", "0"], /^mcast send: Invalid --recv-buffer "0"/],
      [
        ["--recv-buffer", "8M", "--transport", "dgram"],
        /^mcast send: --recv-buffer needs the ffi transport, not "dgram"/,
      ],
    ] as const
  ) {
    const r = await new Deno.Command(DENO, {
      args: ["task", "-q", "--config", `${ROOT}/deno.json`, "send", ...flags],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 2, stderr);
    assert.match(stderr, message);
  }
});
