/**
 * Row 8: the offered send rate of the CLI, as users run it: `deno task
 * send -c N --interval 0` (through the launcher, so the ffi transport and
 * its `sendmmsg` batches with the built-in codec), with `--seq` (load
 * mode: every request numbered, per-responder statistics), and with
 * `--transport dgram` (the portable path), against the C sendmmsg sender
 * (`senders/flood.c`), at 64 and 1400 bytes, in the same run. Each sends
 * N datagrams to a fresh C recvmmsg receiver (`receivers/recvmmsg.c`,
 * sink mode), which counts them and times the first to the last; the
 * offered rate is what was sent over that span, the same measure for every
 * sender (the CLI's own start-up is not in it). The C sender's own figure
 * (sent over its sending time) is kept beside it.
 *
 * Network safety: 127.0.0.1 only (TTL 0 where the transport allows it),
 * groups and ports from `addresses.ts`, every send bounded in count and
 * time, every wait bounded.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { assertBenchEndpoint, type Endpoint, LOOPBACK } from "../addresses.ts";
import { placed } from "../cpu_placement.ts";
import { C_RECVMMSG } from "../implementations.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics, RowId } from "../results.ts";
import type { RowContext } from "./context.ts";

const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
/** The frame `--seq` puts before the message, bytes (lib/wire/sequence.ts). */
const SEQ_FRAME_BYTES = 8;
/** After the send, before the receiver is stopped (it drains too), ms. */
const SETTLE_MS = 200;

/** One way of sending. */
interface Sender {
  subject: Subject;
  /** Flags of `deno task send` besides group, port, interface and count; none for C. */
  flags?: string[];
}

const C_SENDER: Sender = {
  subject: {
    id: "c-sendmmsg",
    label: "C sendmmsg, batches of 64 (limit)",
    side: "baseline",
    required: false,
  },
};

const CLI_SENDERS: readonly Sender[] = [
  {
    subject: {
      id: "cli-send",
      label: "deno task send --interval 0 (ffi)",
      side: "mcast",
      required: true,
    },
    flags: ["-t", "0"],
  },
  {
    subject: {
      id: "cli-send-seq",
      label: "deno task send --interval 0 --seq (ffi)",
      side: "mcast",
      required: true,
    },
    flags: ["-t", "0", "--seq"],
  },
  {
    subject: {
      id: "cli-send-dgram",
      label: "deno task send --interval 0 --transport dgram",
      side: "variant",
      required: false,
      compareWith: ["c-sendmmsg"],
    },
    flags: ["--transport", "dgram"],
  },
];

/** The text message that makes a datagram of `size` bytes. */
function messageOf(size: number, sequence: boolean): string {
  return "x".repeat(size - (sequence ? SEQ_FRAME_BYTES : 0));
}

/** Runs `deno task send` to `endpoint`; returns how many it sent. */
async function cliSend(
  sender: Sender,
  endpoint: Endpoint,
  count: number,
  size: number,
  seconds: number,
): Promise<number> {
  assertBenchEndpoint(endpoint);
  const flags = sender.flags ?? [];
  const run = placed({
    command: Deno.execPath(),
    args: [
      ...["task", "--quiet", "--config", CONFIG, "send"],
      ...["-g", endpoint.group, "-p", String(endpoint.port), "-i", LOOPBACK],
      ...["-c", String(count), "--interval", "0", "-w", "100ms"],
      ...["-q", "--json", ...flags, messageOf(size, flags.includes("--seq"))],
    ],
  }, "load");
  const child = new Deno.Command(run.command, {
    args: run.args,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Start-up (~0.5 s), the send, the wait for replies: bounded.
  const killer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
  const output = await child.output();
  clearTimeout(killer);
  const stdout = new TextDecoder().decode(output.stdout);
  const summary = /\{"event":"summary".*\}/.exec(stdout);
  // Exit 1 is "no reply", as expected: the receiver does not answer.
  if (summary === null || output.code > 1) {
    throw new Error(
      `deno task send exited with ${output.code}: ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
  return JSON.parse(summary[0]).sent;
}

/** One sender's figures at one size, into a fresh C receiver. */
async function measureSend(
  sender: Sender,
  size: number,
  context: RowContext,
  receiver: typeof C_RECVMMSG,
): Promise<Metrics> {
  const { plan, endpoints, flooder } = context;
  const endpoint = endpoints.next();
  const seconds = plan.sendRateSeconds;
  const sink = await ReceiverProcess.start(
    receiver.command("sink", endpoint, seconds + 60, 1),
  );
  try {
    let ownRate = NaN;
    let sent: number;
    if (sender.flags === undefined) {
      const flood = await flooder.flood(
        endpoint,
        plan.sendRateCount,
        size,
        seconds,
      );
      sent = flood.sent;
      ownRate = Math.round(flood.sent / flood.seconds);
    } else {
      sent = await cliSend(sender, endpoint, plan.sendRateCount, size, seconds);
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const report = await sink.stop();
    return {
      sent,
      offeredPerSecond: report.seconds > 0
        ? Math.round(sent / report.seconds)
        : NaN,
      received: report.received,
      lossPercent: 100 * (1 - report.received / sent),
      ...(Number.isNaN(ownRate) ? {} : { senderPerSecond: ownRate }),
    };
  } finally {
    await sink.kill();
  }
}

/**
 * Row 8 at 64 and 1400 bytes, `plan.repeats` times, alternating: the C
 * sender, then each CLI sender. Needs the C receiver and the C sender
 * (skipped, with the reason, without them).
 *
 * @param context The run's shared state.
 */
export async function sendRateRow(context: RowContext): Promise<void> {
  const { plan, flooder, recorder } = context;
  const receiver = context.implementations.find((i) => i.id === C_RECVMMSG.id);
  if (receiver === undefined || flooder.kind !== "c-sendmmsg") {
    console.error(
      "  send-rate: skipped (needs the C recvmmsg receiver and the C sendmmsg sender: gcc)",
    );
    return;
  }
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const size of [64, 1400]) {
      const row: RowId = size === 64 ? "send-rate-64" : "send-rate-1400";
      for (const sender of [C_SENDER, ...CLI_SENDERS]) {
        await recorder.record(
          row,
          sender.subject,
          () => measureSend(sender, size, context, receiver),
        );
      }
    }
  }
}
