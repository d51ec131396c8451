/**
 * Row 6: loss and memory at a realistic rate. The C sender is paced at
 * `plan.pacedRate` datagrams per second (50 every millisecond at 50,000/s,
 * absolute deadlines) for `plan.pacedSeconds`, `pacedSize` bytes each,
 * into one receiver in its own subprocess; the count is bounded to rate x
 * seconds. The receiver counts what it gets (exact counts: loss is
 * offered - received), and `/proc/PID/status` (VmRSS) is sampled every
 * `plan.pacedSampleMs` from the start of the flood: RSS after warm-up
 * (`plan.pacedWarmupSeconds`), at the end, the growth between them, and
 * the peak.
 *
 * @module
 */

import {
  type Implementation,
  MCAST,
  MCAST_DGRAM,
  MCAST_FFI,
  PYTHON,
  RAW_NODE_DGRAM,
} from "../implementations.ts";
import type { Metrics } from "../results.ts";
import { recordEach, type RowContext } from "./context.ts";
import { floodReceiver } from "./flooded_receiver.ts";

async function paced(
  context: RowContext,
  implementation: Implementation,
): Promise<Metrics> {
  const { plan } = context;
  // The count ends the flood; the time limit (1 s more) only guards
  // against a sender that falls behind its schedule.
  const { flood, report, memory } = await floodReceiver(
    context,
    implementation,
    {
      count: Math.round(plan.pacedRate * plan.pacedSeconds),
      size: plan.pacedSize,
      seconds: plan.pacedSeconds + 1,
      rate: plan.pacedRate,
      sampleMs: plan.pacedSampleMs,
    },
  );
  const warm = memory.rssAt(plan.pacedWarmupSeconds);
  const end = memory.lastRss;
  return {
    offered: flood.sent,
    received: report.received,
    lost: flood.sent - report.received,
    lossPercent: 100 * (1 - report.received / flood.sent),
    offeredPerSecond: Math.round(flood.sent / flood.seconds),
    floodSeconds: flood.seconds,
    rssAtStartMiB: memory.samples[0]?.rss ?? NaN,
    rssAtWarmupMiB: warm,
    rssAtEndMiB: end,
    growthMiB: end - warm,
    peakRssMiB: memory.peakRss,
    samples: memory.samples.length,
  };
}

/**
 * Row 6: mcast's listener over `node:dgram` and over FFI, raw
 * `node:dgram` and the Python loop (the last two extras only with
 * `plan.extras`), one paced flood each.
 *
 * @param context The run's shared state.
 */
export async function pacedRow(context: RowContext): Promise<void> {
  const receivers = context.plan.extras
    ? [MCAST, MCAST_DGRAM, MCAST_FFI, RAW_NODE_DGRAM, PYTHON]
    : [MCAST, RAW_NODE_DGRAM];
  await recordEach(
    context,
    "paced-50k",
    receivers,
    (implementation) => paced(context, implementation),
  );
}
