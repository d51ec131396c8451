/**
 * Row 2: request/reply ping-pong. One fixed client (raw `node:dgram` in
 * Deno, `clients/raw_client.ts`) sends a request, waits for the reply and
 * repeats, against each implementation acting as the responder (`ack`).
 * mcast is measured as the client too, against the raw `node:dgram`
 * responder: `send()` with one call (one socket) per round trip, and a
 * `Sender` that keeps its socket, one run per round trip, as the raw
 * client does.
 *
 * Row 2c: the same responders, alternating, against a C client
 * (`clients/pingpong.c`, built at run time), run after row 2. The Deno
 * client's own cost is much of each round trip (against the C responder,
 * 14k round trips/s with it, 34k with the C client, on 2 pinned cores),
 * so in row 2 every responder lands near the same figure; row 2c shows
 * the responders' own cost, as server benchmarks do with a client much
 * faster than the server. Its ceiling is the C client with the C
 * responder: the cost of the wake-ups across the two cores.
 *
 * @module
 */

import {
  pingPongMetrics,
  type PingPongResult,
  runClient,
  runCompiledClient,
} from "../client_protocol.ts";
import { type Implementation, RAW_NODE_DGRAM } from "../implementations.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Metrics } from "../results.ts";
import type { Subject } from "../recorder.ts";
import type { RowContext } from "./context.ts";

/**
 * mcast `send()` as the client, one call (and one socket) per round trip,
 * raw `node:dgram` as the responder. Not the raw client's path (it keeps
 * its socket): this shows what a socket per request costs.
 */
export const SEND_CLIENT: Subject = {
  id: "mcast-send-client",
  label: "mcast send() client, a socket per call -> raw node:dgram",
  side: "mcast",
  required: true,
  compareWith: [RAW_NODE_DGRAM.id],
};

/**
 * mcast's `Sender` as the client: one socket kept open, one run per
 * round trip, like the raw client; raw `node:dgram` as the responder.
 */
export const SENDER_CLIENT: Subject = {
  id: "mcast-sender-client",
  label: "mcast Sender client, one socket -> raw node:dgram",
  side: "mcast",
  required: true,
  compareWith: [RAW_NODE_DGRAM.id],
};

/** Row 2c's client in the run's skipped list when it cannot be built. */
export const C_CLIENT_ID = "c-pingpong-client";

async function pingPong(
  context: RowContext,
  responder: Implementation,
  client: "raw_client.ts" | "mcast_client.ts",
  mode: "pingpong" | "pingpong-sender" = "pingpong",
): Promise<Metrics> {
  const { plan } = context;
  const endpoint = context.endpoints.next();
  const receiver = await ReceiverProcess.start(
    responder.command("ack", endpoint, plan.pingPongSeconds + 30, 1),
  );
  try {
    // A socket per call is slow: that client gets fewer calls.
    const perCall = client === "mcast_client.ts" && mode === "pingpong";
    const count = perCall ? plan.sendCallCount : plan.pingPongCount;
    const warmup = perCall
      ? Math.ceil(plan.pingPongWarmup / 10)
      : plan.pingPongWarmup;
    const result = await runClient<PingPongResult>(client, [
      mode,
      endpoint.group,
      String(endpoint.port),
      String(count),
      String(plan.pingPongSeconds),
      String(plan.requestSize),
      String(warmup),
    ], (plan.pingPongSeconds * 2 + 20) * 1000);
    await receiver.stop();
    return pingPongMetrics(result);
  } finally {
    await receiver.kill();
  }
}

/** Row 2c: the C client (`client`, its executable) against `responder`. */
async function cPingPong(
  context: RowContext,
  responder: Implementation,
  client: string,
): Promise<Metrics> {
  const { plan } = context;
  const endpoint = context.endpoints.next();
  const receiver = await ReceiverProcess.start(
    responder.command("ack", endpoint, plan.cPingPongSeconds + 30, 1),
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
    await receiver.stop();
    return pingPongMetrics(result);
  } finally {
    await receiver.kill();
  }
}

/**
 * Row 2: every implementation as the responder, then mcast's client;
 * alternating, `plan.repeats` times. Then row 2c: every implementation
 * as the responder to the C client, alternating, `plan.repeats` times
 * (not run when the client could not be built).
 *
 * @param context The run's shared state.
 */
export async function requestReplyRow(context: RowContext): Promise<void> {
  const { plan, implementations, recorder } = context;
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const implementation of implementations) {
      await recorder.record(
        "request-reply",
        implementation,
        () => pingPong(context, implementation, "raw_client.ts"),
      );
    }
    // The Sender first: the socket-per-call client opens and closes
    // thousands of sockets, and what ran right after it measured slower.
    await recorder.record(
      "request-reply",
      SENDER_CLIENT,
      () =>
        pingPong(context, RAW_NODE_DGRAM, "mcast_client.ts", "pingpong-sender"),
    );
    await recorder.record(
      "request-reply",
      SEND_CLIENT,
      () => pingPong(context, RAW_NODE_DGRAM, "mcast_client.ts"),
    );
  }
  const client = context.cPingPongClient;
  if (client === undefined) return;
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const implementation of implementations) {
      await recorder.record(
        "request-reply-c",
        implementation,
        () => cPingPong(context, implementation, client),
      );
    }
  }
}
