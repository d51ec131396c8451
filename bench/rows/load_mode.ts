/**
 * Row 2b: request/reply under load, open loop, paced. mcast's `send()` in
 * its sequence-numbered load mode (`count` N, `rate` R, `sequence: true`)
 * against mcast's listener and against the raw `node:dgram` responder,
 * and the raw `node:dgram` client doing the same framing on the same
 * schedule (the baseline). Each send is awaited before the next, in both
 * clients. The rate is one every pairing can carry on this machine
 * (`plan.loadRate`), so the row shows what mcast's load mode delivers at
 * a realistic load: replies per second, loss, RTT. (Unpaced, 2 cores
 * became a tug-of-war between client and responder: 88-91% of replies
 * lost in every pairing, raw ones too, and ratios from 0.74x to 1.27x.)
 *
 * @module
 */

import { type LoadResult, runClient } from "../client_protocol.ts";
import {
  type Implementation,
  MCAST,
  RAW_NODE_DGRAM,
} from "../implementations.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics } from "../results.ts";
import type { RowContext } from "./context.ts";

interface Pairing extends Subject {
  client: "mcast_client.ts" | "raw_client.ts";
  responder: Implementation;
}

const PAIRINGS: Pairing[] = [
  {
    id: "mcast-load-to-mcast-listen",
    label: "mcast send() load -> mcast listen()",
    side: "mcast",
    required: true,
    client: "mcast_client.ts",
    responder: MCAST,
  },
  {
    id: "mcast-load-to-raw",
    label: "mcast send() load -> raw node:dgram",
    side: "mcast",
    required: true,
    client: "mcast_client.ts",
    responder: RAW_NODE_DGRAM,
  },
  {
    id: "raw-load-to-raw",
    label: "raw node:dgram load -> raw node:dgram",
    side: "baseline",
    required: true,
    client: "raw_client.ts",
    responder: RAW_NODE_DGRAM,
  },
];

async function loadRun(
  context: RowContext,
  pairing: Pairing,
): Promise<Metrics> {
  const { plan } = context;
  const endpoint = context.endpoints.next();
  const receiver = await ReceiverProcess.start(
    pairing.responder.command("ack", endpoint, plan.loadSeconds + 30, 1),
  );
  try {
    const result = await runClient<LoadResult>(pairing.client, [
      "load",
      endpoint.group,
      String(endpoint.port),
      String(plan.loadCount),
      String(plan.loadSeconds),
      String(plan.requestSize),
      String(plan.loadRate),
    ], (plan.loadSeconds * 2 + 20) * 1000);
    const report = await receiver.stop();
    return {
      sent: result.sent,
      replies: result.replies,
      roundTripsPerSecond: result.seconds > 0
        ? Math.round(result.replies / result.seconds)
        : NaN,
      lossPercent: result.sent > 0
        ? 100 * (1 - result.replies / result.sent)
        : NaN,
      requestLossPercent: result.sent > 0
        ? 100 * Math.max(0, 1 - report.received / result.sent)
        : NaN,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
    };
  } finally {
    await receiver.kill();
  }
}

/**
 * Row 2b, every pairing alternating, `plan.repeats` times.
 *
 * @param context The run's shared state.
 */
export async function loadModeRow(context: RowContext): Promise<void> {
  for (let repeat = 0; repeat < context.plan.repeats; repeat++) {
    for (const pairing of PAIRINGS) {
      await context.recorder.record(
        "request-reply-load",
        pairing,
        () => loadRun(context, pairing),
      );
    }
  }
}
