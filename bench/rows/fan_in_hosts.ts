/**
 * Row 9: fan-in from namespaced hosts (response implosion). N hosts on one
 * Linux bridge, each a network namespace, answer one multicast request at
 * once (`lab/fan_in_hosts.ts`: one C process holds a socket in
 * every host's namespace, the sender's ARP entry set beforehand so no
 * reply waits). From the sender's namespace, each round, every sender
 * sends ONE request (TTL 1) and collects replies for a fixed window:
 * `deno task send` as users run it (the launcher, `auto` = the ffi
 * transport, its default receive buffer), `deno task send --transport dgram`
 * (`node:dgram`, the kernel's default buffer), a seed-style Python socket
 * (default buffer, a `recvfrom` loop) and C with `recvmmsg` and an 8 MiB
 * buffer (the limit). Primary metric: replies received of N. The topology
 * is built once per host count and removed after it, also on failure.
 *
 * Runs only as root where namespaces work and `gcc` is there; otherwise
 * the row is skipped with the reason. Network safety: every socket is in a
 * namespace this row creates (lab addresses 10.77.0.0/16, nothing on the
 * machine's interfaces), the group and port come from `addresses.ts`,
 * every sender sends one datagram with TTL 1 and every wait is bounded.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { hasProgram, netnsAvailable } from "../../lab/availability.ts";
import {
  FAN_IN_PROGRAMS,
  FAN_IN_SENDER,
  withFanInHosts,
} from "../../lab/fan_in_hosts.ts";
import type { Host } from "../../lab/lab.ts";
import { parseJsonLines } from "../../lab/mcast_cli.ts";
import type { ProcResult } from "../../lab/process.ts";
import { assertBenchEndpoint, type Endpoint } from "../addresses.ts";
import { compileC } from "../c_program.ts";
import { placed, type Role } from "../cpu_placement.ts";
import { PYTHON, pythonExecutable } from "../implementations.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics } from "../results.ts";
import type { RowContext } from "./context.ts";

const ROW = "fan-in-hosts";
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const PYTHON_CLIENT = fileURLToPath(
  new URL("../clients/fan_in_socket.py", import.meta.url),
);
/** Start-up and exit of a sender, on top of its window, at most, ms. */
const SENDER_SLACK_MS = 30_000;

/** One way of sending the request and collecting the replies. */
interface FanInSender {
  /** What is measured; its id and label get the host count. */
  subject: Subject;
  /** Its command line, run in the sender's namespace. */
  command(endpoint: Endpoint, windowMs: number): string[];
  /** Its figures, from what it printed. */
  parse(result: ProcResult): Metrics;
}

/** `deno task send` with `flags`, through the launcher. */
function cliSender(
  subject: Subject,
  flags: string[],
  dropsKnown: boolean,
): FanInSender {
  return {
    subject,
    command: (endpoint, windowMs) => [
      ...[Deno.execPath(), "task", "--quiet", "--config", CONFIG, "send"],
      ...["-g", endpoint.group, "-p", String(endpoint.port), "-i", "eth0"],
      ...["-t", "1", "-w", `${windowMs}ms`, "--json", ...flags, "fan-in"],
    ],
    parse: (result) => {
      const events = parseJsonLines(result.stdout);
      const summary = events.find((e) => e.event === "summary");
      // Exit 1 is "no reply": a figure too.
      if (summary === undefined || result.code > 1) {
        throw new Error(
          `deno task send exited with ${result.code}: ${result.stderr.trim()}`,
        );
      }
      const rtts = events.filter((e) => e.event === "reply")
        .map((e) => Number(e.rttMs));
      const drops = summary.kernelDrops;
      return {
        replies: Number(summary.replies),
        responders: Number(summary.responders),
        // Absent: none dropped (ffi), or not readable here (dgram).
        kernelDrops: drops === undefined
          ? (dropsKnown ? 0 : NaN)
          : Number(drops),
        lastReplyMs: rtts.length > 0 ? Math.max(...rtts) : NaN,
      };
    },
  };
}

/** A baseline program that prints one JSON line of figures. */
function programSender(
  subject: Subject,
  program: string[],
): FanInSender {
  return {
    subject,
    command: (endpoint, windowMs) => [
      ...program,
      ...[endpoint.group, String(endpoint.port), FAN_IN_SENDER],
      String(windowMs),
    ],
    parse: (result) => {
      const line = parseJsonLines(result.stdout)[0];
      if (line === undefined || result.code !== 0) {
        throw new Error(
          `${
            program.at(-1)
          } exited with ${result.code}: ${result.stderr.trim()}`,
        );
      }
      const last = Number(line.lastReplyMs);
      return {
        replies: Number(line.replies),
        responders: Number(line.responders),
        ...(line.kernelDrops === undefined
          ? {}
          : { kernelDrops: Number(line.kernelDrops) }),
        lastReplyMs: last < 0 ? NaN : last,
      };
    },
  };
}

const PYTHON_ID = "python-socket";
const C_ID = "c-recvmmsg";

/** The senders this run can measure: mcast's two, then the baselines. */
function sendersOf(context: RowContext, cClient: string | undefined) {
  const baselines = [PYTHON_ID, C_ID];
  const mcast = (id: string, label: string, required: boolean): Subject => ({
    id,
    label,
    side: "mcast",
    required,
    compareWith: baselines,
  });
  const senders: FanInSender[] = [
    cliSender(
      mcast("cli-send", "deno task send (ffi by auto)", true),
      [],
      true,
    ),
    cliSender(
      mcast("cli-send-dgram", "deno task send --transport dgram", false),
      ["--transport", "dgram"],
      false,
    ),
  ];
  if (context.implementations.some((i) => i.id === PYTHON.id)) {
    senders.push(programSender({
      id: PYTHON_ID,
      label: "python3 socket, default buffer (seed-style)",
      side: "baseline",
      required: false,
    }, [pythonExecutable(), PYTHON_CLIENT]));
  }
  if (cClient !== undefined) {
    senders.push(programSender({
      id: C_ID,
      label: "C recvmmsg, 8 MiB buffer (limit)",
      side: "baseline",
      required: false,
    }, [cClient]));
  }
  return senders;
}

/** `sender`'s subject at `hosts` hosts: ids and labels carry the count. */
function subjectAt(sender: FanInSender, hosts: number): Subject {
  const { subject } = sender;
  return {
    ...subject,
    id: `${subject.id}-${hosts}`,
    label: `${subject.label}, ${hosts} hosts`,
    ...(subject.compareWith === undefined
      ? {}
      : { compareWith: subject.compareWith.map((id) => `${id}-${hosts}`) }),
  };
}

/** `argv` pinned to its role's CPU when pinning is on. */
function pinned(argv: string[], role: Role): string[] {
  const run = placed({ command: argv[0], args: argv.slice(1) }, role);
  return [run.command, ...run.args];
}

/** One sender's figures for one request from `host`. */
async function measure(
  sender: FanInSender,
  host: Host,
  endpoint: Endpoint,
  windowMs: number,
  hosts: number,
): Promise<Metrics> {
  assertBenchEndpoint(endpoint);
  const result = await host.run(
    pinned(sender.command(endpoint, windowMs), "measured"),
    { timeoutMs: windowMs + SENDER_SLACK_MS },
  );
  if (result.timedOut) {
    throw new Error(`no end after ${windowMs + SENDER_SLACK_MS} ms`);
  }
  return { hosts, ...sender.parse(result) };
}

/**
 * Builds `hosts` hosts, runs the warm-up rounds (not counted), then the
 * measured rounds, every sender once a round; removes the hosts after.
 */
async function measureHosts(
  hosts: number,
  context: RowContext,
  senders: FanInSender[],
): Promise<void> {
  const { plan, recorder } = context;
  const endpoint = context.endpoints.next();
  assertBenchEndpoint(endpoint);
  const windowMs = plan.fanInHostWindowMs;
  const rounds = plan.fanInHostWarmupRounds + plan.fanInHostRounds;
  const perRound = senders.length * (windowMs + SENDER_SLACK_MS) / 1000;
  const lifetimeSeconds = Math.min(600, Math.ceil(60 + rounds * perRound));
  const started = performance.now();
  try {
    await withFanInHosts({
      hosts,
      group: endpoint.group,
      port: endpoint.port,
      lifetimeSeconds,
      launch: (argv) => pinned(argv, "load"),
    }, async ({ sender: host, buildMs }) => {
      console.error(
        `  ${ROW}: ${hosts} hosts built in ${(buildMs / 1000).toFixed(1)} s`,
      );
      for (let round = 0; round < rounds; round++) {
        for (const sender of senders) {
          const run = () => measure(sender, host, endpoint, windowMs, hosts);
          if (round < plan.fanInHostWarmupRounds) {
            await run().catch(() => {}); // A failure shows in the rounds.
          } else await recorder.record(ROW, subjectAt(sender, hosts), run);
        }
      }
    });
  } catch (error) {
    // Building or removing the hosts failed: every sender fails with it.
    for (const sender of senders) {
      await recorder.record(
        ROW,
        subjectAt(sender, hosts),
        () => Promise.reject(error),
      );
    }
  }
  console.error(
    `  ${ROW}: ${hosts} hosts built, measured and removed in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
}

/** Why the row cannot run here, or undefined when it can. */
async function unavailable(): Promise<string | undefined> {
  const netns = await netnsAvailable();
  if (!netns.ok) return netns.reason;
  const missing = FAN_IN_PROGRAMS.filter((program) => !hasProgram(program));
  return missing.length === 0 ? undefined : `no ${missing.join(", ")}`;
}

/**
 * Row 9 at every host count of the plan (`plan.fanInHostCounts`): each
 * topology built once, `plan.fanInHostWarmupRounds` rounds not counted,
 * then `plan.fanInHostRounds` rounds (medians). Skipped, with the reason
 * in the run's skipped list, without root, namespaces or `gcc`.
 *
 * @param context The run's shared state.
 */
export async function fanInHostsRow(context: RowContext): Promise<void> {
  const why = await unavailable();
  if (why !== undefined) {
    context.skipped.push({ id: ROW, reason: `row 9 not run: ${why}` });
    console.error(`  ${ROW}: skipped (${why})`);
    return;
  }
  const client = await compileC("clients/fan_in_recvmmsg.c");
  if (typeof client === "string") {
    context.skipped.push({ id: `${C_ID}-fan-in`, reason: client });
  }
  const senders = sendersOf(
    context,
    typeof client === "string" ? undefined : client.path,
  );
  try {
    for (const hosts of context.plan.fanInHostCounts) {
      await measureHosts(hosts, context, senders);
    }
  } finally {
    if (typeof client !== "string") await client.dispose();
  }
}
