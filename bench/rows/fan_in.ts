/**
 * Row 3: fan-in. One request to a group with K listeners (K = 1, 10, 50,
 * spread over one or two subprocesses), timed from the start of the call
 * (socket opening included) to the K-th reply. Three pairings: mcast
 * `send()` with mcast `listen()` listeners, mcast `send()` with raw
 * `node:dgram` listeners, and the raw `node:dgram` client with raw
 * listeners (the baseline); the FFI transport's listeners too when
 * available.
 *
 * @module
 */

import { type FanInResult, runClient } from "../client_protocol.ts";
import {
  type Implementation,
  MCAST,
  MCAST_FFI,
  RAW_NODE_DGRAM,
} from "../implementations.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics, RowId } from "../results.ts";
import type { RowContext } from "./context.ts";

interface Pairing extends Subject {
  client: "mcast_client.ts" | "raw_client.ts";
  listeners: Implementation;
}

const PAIRINGS: Pairing[] = [
  {
    id: "mcast-send-to-mcast-listen",
    label: "mcast send() -> mcast listen()",
    side: "mcast",
    required: true,
    client: "mcast_client.ts",
    listeners: MCAST,
  },
  {
    id: "mcast-send-to-ffi-listen",
    label: "mcast send() -> mcast listen() + FFI",
    side: "mcast",
    required: false,
    client: "mcast_client.ts",
    listeners: MCAST_FFI,
  },
  {
    id: "mcast-send-to-raw",
    label: "mcast send() -> raw node:dgram",
    side: "mcast",
    required: true,
    client: "mcast_client.ts",
    listeners: RAW_NODE_DGRAM,
  },
  {
    id: "raw-to-raw",
    label: "raw node:dgram -> raw node:dgram",
    side: "baseline",
    required: true,
    client: "raw_client.ts",
    listeners: RAW_NODE_DGRAM,
  },
];

/** Processes hosting K listeners: one per core at most. */
function split(k: number): number[] {
  return k === 1 ? [1] : [Math.ceil(k / 2), Math.floor(k / 2)];
}

async function fanIn(
  context: RowContext,
  pairing: Pairing,
  k: number,
): Promise<Metrics> {
  const { plan } = context;
  const endpoint = context.endpoints.next();
  const receivers: ReceiverProcess[] = [];
  try {
    for (const count of split(k)) {
      receivers.push(
        await ReceiverProcess.start(
          pairing.listeners.command("ack", endpoint, 60, count),
        ),
      );
    }
    const result = await runClient<FanInResult>(pairing.client, [
      "fanin",
      endpoint.group,
      String(endpoint.port),
      String(plan.fanInRounds),
      String(k),
      String(plan.fanInTimeoutMs),
      "2",
    ], ((plan.fanInRounds + 2) * plan.fanInTimeoutMs) + 20_000);
    for (const receiver of receivers) await receiver.stop();
    return {
      p50Ms: result.p50Ms,
      p90Ms: result.p90Ms,
      incomplete: result.incomplete,
    };
  } finally {
    for (const receiver of receivers) await receiver.kill();
  }
}

/**
 * Row 3 for every K and pairing, alternating, `plan.repeats` times.
 *
 * @param context The run's shared state.
 */
export async function fanInRow(context: RowContext): Promise<void> {
  const { plan, implementations, recorder } = context;
  const available = new Set(implementations.map((i) => i.id));
  const pairings = PAIRINGS.filter((p) =>
    available.has(p.listeners.id) &&
    (plan.extras || p.id === "mcast-send-to-mcast-listen" ||
      p.id === "raw-to-raw")
  );
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const k of plan.fanInListeners) {
      const row = `fan-in-${k}` as RowId;
      for (const pairing of pairings) {
        await recorder.record(row, pairing, () => fanIn(context, pairing, k));
      }
    }
  }
}
