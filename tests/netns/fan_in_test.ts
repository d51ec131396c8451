// Issue 12, item 3: a sender that survives response implosion. One
// multicast request answered at once by 200 and by 1,000 hosts on one
// bridge (a Linux bridge takes at most 1,023 ports), built by
// fan_in_hosts.ts (shared with the bench row fan-in-hosts). The responders
// are light: one C process (fan_in_responders.c) holds a socket in every
// host's namespace and answers each request at once, as a seed-style
// responder does, with the sender's ARP entry set beforehand so that no
// reply waits.
//
// `deno task send` (the launcher, as users run it) gets the ffi transport by
// auto, whose 8 MiB receive buffer holds every reply: the summary counts all
// of them and no kernel drop. A small `--recv-buffer` loses replies, and the
// summary counts them as kernel drops (replies + kernelDrops = hosts); the
// portable dgram transport's default buffer is reported with its own figure.

import assert from "node:assert/strict";
import { ROOT } from "../support/cli_process.ts";
import { netnsTest } from "../../lab/availability.ts";
import { FAN_IN_PROGRAMS, withFanInHosts } from "../../lab/fan_in_hosts.ts";
import { backlogDrops } from "../../lab/backlog_drops.ts";
import type { Host } from "../../lab/lab.ts";
import { type Json, parseJsonLines } from "../../lab/mcast_cli.ts";

const DENO = Deno.execPath();
const GROUP = "239.77.12.3";
const PORT = 41203;

/** What one send run printed: its summary and how many reply lines. */
interface FanIn {
  code: number;
  replies: number;
  summary: Json;
  what: string;
  /** Datagrams the machine's input backlog dropped while it ran. */
  backlogDropped: number;
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
  const before = await backlogDrops();
  const r = await sender.run(argv, { timeoutMs: 60_000 });
  const backlogDropped = (await backlogDrops()) - before;
  const events = parseJsonLines(r.stdout);
  const summary = events.find((e) => e.event === "summary") ?? {};
  const what = `${task ? "deno task " : ""}send ${
    flags.join(" ")
  }: exit ${r.code}, backlog drops ${backlogDropped}, summary ${
    JSON.stringify({ ...summary, perResponder: undefined })
  }\n${r.stderr}`;
  return {
    code: r.code,
    replies: events.filter((e) => e.event === "reply").length,
    summary,
    what,
    backlogDropped,
  };
}

/**
 * `count` responder hosts and a sender on one bridge (fan_in_hosts.ts), the
 * responders running; calls `body` with the sender, then removes everything.
 */
function withFanIn(
  count: number,
  body: (sender: Host) => Promise<void>,
): Promise<void> {
  return withFanInHosts(
    { hosts: count, group: GROUP, port: PORT },
    ({ sender }) => body(sender),
  );
}

/**
 * Asserts that `run` reported every one of `count` replies, no drop. The
 * one exception is the machine's input backlog (`backlog_drops.ts`): a
 * thousand replies at once meet its 1,000 slots, and what it drops never
 * reaches the sender's socket. Then every reply missing must be one the
 * backlog dropped meanwhile, every other one reported, and the socket
 * must have dropped none; the test says so.
 */
function assertEveryReply(run: FanIn, count: number): void {
  const missing = count - Number(run.summary.replies ?? 0);
  if (missing > 0 && run.backlogDropped >= missing) {
    assert.equal(run.replies, count - missing, run.what);
    assert.equal(run.summary.kernelDrops ?? 0, 0, run.what);
    console.log(
      `fan-in ${count}: ${missing} replies dropped in the machine's input backlog (it dropped ${run.backlogDropped} meanwhile), every other one reported`,
    );
    return;
  }
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
  const counted = Number(run.summary.replies) + drops;
  // What the machine's input backlog dropped never reached the socket.
  if (counted < count && counted + run.backlogDropped >= count) {
    assert.ok(Number(run.summary.replies) <= count, run.what);
    return;
  }
  assert.equal(counted, count, run.what);
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
  { needs: [...FAN_IN_PROGRAMS] },
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
  { needs: [...FAN_IN_PROGRAMS] },
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
