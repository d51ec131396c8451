/**
 * Row 2s: ping-pong at a C tool's rate (issue 22, item 1), each side of
 * mcast against C on the same path, and the two together against
 * sockperf 3.7 (the C reference for UDP latency):
 *
 * - `ping-pong-listen`, the listener: sockperf's client (`sockperf
 *   ping-pong`) against `sockperf server` and against `deno task listen
 *   --plugin ./examples/sockperf_reflector.ts` (which answers as sockperf's
 *   server does), both replying to the sender as `--force-unicast-reply`;
 * - `ping-pong-send`, the sender: the bench's C client
 *   (`clients/pingpong.c`, blocking `recv`) and `deno task send --seq
 *   --expect 1 -c N` against the C responder (`receivers/recvmmsg.c`);
 * - `ping-pong-mcast`, end to end: `deno task send --seq --expect 1`
 *   against `deno task listen --plugin ack`, and sockperf against its
 *   server; `ping-pong-mcast-rtt` the same runs' median round trip as
 *   each reports it (send: from the kernel's clock; sockperf: its own).
 *
 * Same message size everywhere (`plan.requestSize`, 64 bytes; send's
 * message is 8 bytes shorter, its sequence frame makes up the rest),
 * clients on the load CPU and servers on the measured one, as in row 2c.
 * Every rate leaves its warm-up out: sockperf its first 400 ms, the C
 * client its first rounds, and `deno task send` its first 400 ms too
 * (its replies after them, from its `--report-every 100ms` interval
 * events, over the time from the last warm-up interval to the summary);
 * `roundTripsPerSecondWithWarmup` is send's rate from its first send,
 * cold start included. Without sockperf the sockperf lines
 * are skipped with the reason; without the C client, the sender's row.
 *
 * Network safety: 127.0.0.1 only (TTL 0 from every sender; sockperf with
 * `--mc-ttl 0` and its interfaces pinned to 127.0.0.1), endpoints from
 * `addresses.ts`, every run bounded in count and time.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { assertBenchEndpoint, type Endpoint, LOOPBACK } from "../addresses.ts";
import { withCliListener } from "../cli_listener.ts";
import {
  pingPongMetrics,
  type PingPongResult,
  runCompiledClient,
} from "../client_protocol.ts";
import { placed } from "../cpu_placement.ts";
import { C_RECVMMSG } from "../implementations.ts";
import { runJsonLinesProgram } from "../json_program.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics } from "../results.ts";
import type { RowContext } from "./context.ts";
import { CLI_ACK_FLAGS } from "./request_reply_py.ts";
import { runSockperfClient, SockperfServer } from "./sockperf.ts";

const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const REFLECTOR = fileURLToPath(
  new URL("../../examples/sockperf_reflector.ts", import.meta.url),
);

/** sockperf's client against its own server: the reference of rows 2s. */
export const SOCKPERF: Subject = {
  id: "sockperf-server",
  label: "sockperf ping-pong -> sockperf server (C)",
  side: "baseline",
  required: false,
};

/** sockperf's client against the CLI listener with the sockperf reflector. */
export const LISTEN_REFLECTOR: Subject = {
  id: "cli-listen-sockperf",
  label:
    "sockperf ping-pong -> deno task listen --plugin ./examples/sockperf_reflector.ts",
  side: "mcast",
  required: false,
};

/** The bench's C client against the C responder. */
export const C_CLIENT: Subject = {
  id: "c-pingpong-to-c",
  label: "C client (clients/pingpong.c) -> C responder",
  side: "baseline",
  required: false,
};

/** `deno task send` as a ping-pong against the C responder. */
export const SEND_TO_C: Subject = {
  id: "cli-send-to-c",
  label: "deno task send --seq --expect 1 -> C responder",
  side: "mcast",
  required: false,
};

/** `deno task send` against `deno task listen`: mcast at both ends. */
export const SEND_TO_LISTEN: Subject = {
  id: "cli-send-to-listen",
  label: "deno task send --seq --expect 1 -> deno task listen --plugin ack",
  side: "mcast",
  required: true,
};

/**
 * How long each rate leaves out at its start, as sockperf leaves out its
 * 400 ms warm-up (the C client leaves out its first rounds): `deno task
 * send`'s rate counts its replies after it, from its interval events.
 */
const WARMUP_MS = 400;
/** `--report-every` of the ping-pong runs: the warm-up ends on an interval's end. */
const INTERVAL = "100ms";

/** A `send --json` interval event, as far as the rate needs it. */
interface SendInterval {
  event: "interval";
  time: string;
  end: number;
  replies: number;
}

/** What `deno task send -q --json` ends with. */
interface SendSummary {
  event: "summary";
  time: string;
  replies: number;
  sent: number;
  durationMs?: number;
  clock?: string;
  perResponder?: { rttMs: { p50: number; p99: number } | null }[];
}

/**
 * `deno task send --seq --expect 1 -c N -q --json` to `endpoint` (on the
 * load CPU): a ping-pong of `plan.cPingPongCount` rounds, each request 64
 * bytes with its frame.
 */
async function sendPingPong(
  context: RowContext,
  endpoint: Endpoint,
): Promise<Metrics> {
  assertBenchEndpoint(endpoint);
  const { plan } = context;
  const message = "p".repeat(plan.requestSize - 8);
  const events = await runJsonLinesProgram(
    "deno task send",
    placed({
      command: Deno.execPath(),
      args: [
        ...["task", "--quiet", "--config", CONFIG, "send"],
        ...["-g", endpoint.group, "-p", String(endpoint.port)],
        ...["-i", LOOPBACK, "-t", "0", "--seq", "--expect", "1"],
        ...["-c", String(plan.cPingPongCount), "--interval", "1s"],
        ...["-w", "1s", "--report-every", INTERVAL, "-q", "--json", message],
      ],
    }, "load"),
    (plan.cPingPongSeconds * 20 + 60) * 1000,
  ) as (SendInterval | SendSummary)[];
  const summary = events[events.length - 1] as SendSummary;
  const rtt = summary.perResponder?.[0]?.rttMs;
  const seconds = (summary.durationMs ?? NaN) / 1000;
  return {
    roundTrips: summary.replies,
    // A run too short to outlast the warm-up (--quick) counts it all.
    roundTripsPerSecond: steadyRate(events, summary) ||
      Math.round(summary.replies / seconds),
    roundTripsPerSecondWithWarmup: Math.round(summary.replies / seconds),
    p50Ms: rtt?.p50 ?? NaN,
    p99Ms: rtt?.p99 ?? NaN,
    timeouts: summary.sent - summary.replies,
    kernelClock: summary.clock === "kernel" ? 1 : 0,
  };
}

/**
 * Replies a second after the first {@linkcode WARMUP_MS} of the run: the
 * replies of the intervals that end later, over the wall-clock time from
 * the warm-up's last interval event to the summary (NaN when the run was
 * too short to have any, or 0 replies).
 */
function steadyRate(
  events: readonly (SendInterval | SendSummary)[],
  summary: SendSummary,
): number {
  const intervals = events.filter((event): event is SendInterval =>
    event.event === "interval"
  );
  const warmup = intervals.filter((event) => event.end * 1000 <= WARMUP_MS);
  const counted = intervals.slice(warmup.length);
  if (warmup.length === 0 || counted.length === 0) return NaN;
  const from = Date.parse(warmup[warmup.length - 1].time);
  const replies = counted.reduce((sum, event) => sum + event.replies, 0);
  return Math.round(replies / ((Date.parse(summary.time) - from) / 1000));
}

/** sockperf's client against `sockperf server`. */
async function sockperfToServer(context: RowContext): Promise<Metrics> {
  const endpoint = context.endpoints.next();
  await using _server = await SockperfServer.start(endpoint);
  return pingPongMetrics(await runSockperfClient(endpoint, context.plan));
}

/** sockperf's client against the CLI listener with the reflector. */
async function sockperfToListen(context: RowContext): Promise<Metrics> {
  const endpoint = context.endpoints.next();
  const { result, outcome } = await withCliListener(
    endpoint,
    [
      ...["--plugin", REFLECTOR, "--codec", "binary", "--transport", "ffi"],
      ...["-q", "--rate-limit", "0", "--global-rate", "0"],
    ],
    () => runSockperfClient(endpoint, context.plan),
  );
  return { ...pingPongMetrics(result), received: outcome.received };
}

/** The C client (`client`, its executable) against the C responder. */
async function cClientToC(
  context: RowContext,
  client: string,
): Promise<Metrics> {
  const { plan } = context;
  const endpoint = context.endpoints.next();
  const responder = await ReceiverProcess.start(
    C_RECVMMSG.command("ack", endpoint, plan.cPingPongSeconds * 20 + 30, 1),
  );
  try {
    const result = await runCompiledClient<PingPongResult>("pingpong", client, [
      endpoint.group,
      String(endpoint.port),
      String(plan.cPingPongCount),
      String(plan.cPingPongSeconds),
      String(plan.requestSize),
      String(plan.pingPongWarmup),
    ], (plan.cPingPongSeconds * 2 + 20) * 1000);
    await responder.stop();
    return pingPongMetrics(result);
  } finally {
    await responder.kill();
  }
}

/** `deno task send` against the C responder. */
async function sendToC(context: RowContext): Promise<Metrics> {
  const endpoint = context.endpoints.next();
  const responder = await ReceiverProcess.start(
    C_RECVMMSG.command(
      "ack",
      endpoint,
      context.plan.cPingPongSeconds * 20 + 30,
      1,
    ),
  );
  try {
    const metrics = await sendPingPong(context, endpoint);
    await responder.stop();
    return metrics;
  } finally {
    await responder.kill();
  }
}

/** `deno task send` against `deno task listen --plugin ack`. */
async function sendToListen(context: RowContext): Promise<Metrics> {
  const endpoint = context.endpoints.next();
  const { result, outcome } = await withCliListener(
    endpoint,
    [...CLI_ACK_FLAGS],
    () => sendPingPong(context, endpoint),
  );
  return { ...result, received: outcome.received };
}

/**
 * Rows 2s, `plan.repeats` times, alternating: sockperf against its server
 * (recorded on the listener's row and the end-to-end rows), sockperf
 * against `deno task listen`, the C client and `deno task send` against
 * the C responder, and `deno task send` against `deno task listen`.
 *
 * @param context The run's shared state.
 */
export async function pingPongCRow(context: RowContext): Promise<void> {
  const { plan, recorder } = context;
  const sockperf = await SockperfServer.available();
  if (sockperf !== true) {
    context.skipped.push({ id: SOCKPERF.id, reason: sockperf });
  }
  const client = context.cPingPongClient;
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    if (sockperf === true) {
      const reference = await sockperfToServer(context).catch((error) =>
        error as Error
      );
      const recorded = () =>
        reference instanceof Error
          ? Promise.reject(reference)
          : Promise.resolve(reference);
      await recorder.record("ping-pong-listen", SOCKPERF, recorded);
      await recorder.record("ping-pong-mcast", SOCKPERF, recorded);
      await recorder.record("ping-pong-mcast-rtt", SOCKPERF, recorded);
      await recorder.record(
        "ping-pong-listen",
        LISTEN_REFLECTOR,
        () => sockperfToListen(context),
      );
    }
    if (client !== undefined) {
      await recorder.record(
        "ping-pong-send",
        C_CLIENT,
        () => cClientToC(context, client),
      );
      await recorder.record(
        "ping-pong-send",
        SEND_TO_C,
        () => sendToC(context),
      );
    }
    const both = await sendToListen(context).catch((error) => error as Error);
    const recorded = () =>
      both instanceof Error ? Promise.reject(both) : Promise.resolve(both);
    await recorder.record("ping-pong-mcast", SEND_TO_LISTEN, recorded);
    await recorder.record("ping-pong-mcast-rtt", SEND_TO_LISTEN, recorded);
  }
}
