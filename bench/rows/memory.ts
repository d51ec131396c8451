/**
 * Row 4: a listener's memory under a flood. The listener runs in its own
 * subprocess; `/proc/PID/status` is sampled (VmRSS, VmHWM) while the
 * flooder sends as fast as it can for `plan.memorySeconds`. Reported:
 * the peak, and the growth from the end of warm-up to the end.
 *
 * @module
 */

import {
  MCAST,
  MCAST_DGRAM,
  MCAST_FFI,
  RAW_NODE_DGRAM,
} from "../implementations.ts";
import type { Implementation } from "../implementations.ts";
import type { Metrics } from "../results.ts";
import { recordEach, type RowContext } from "./context.ts";
import { floodReceiver } from "./flooded_receiver.ts";

async function underFlood(
  context: RowContext,
  implementation: Implementation,
): Promise<Metrics> {
  const { plan } = context;
  const { flood, report, memory } = await floodReceiver(
    context,
    implementation,
    {
      count: plan.memorySeconds * 3_000_000,
      size: 64,
      seconds: plan.memorySeconds,
      rate: 0,
      sampleMs: plan.memorySampleMs,
    },
  );
  const warm = memory.rssAt(plan.memoryWarmupSeconds);
  const end = memory.rssAt(plan.memorySeconds);
  return {
    peakRssMiB: memory.peakRss,
    hwmMiB: memory.lastHwm,
    rssAtStartMiB: memory.samples[0]?.rss ?? NaN,
    rssAtWarmupMiB: warm,
    rssAtEndMiB: end,
    growthMiB: end - warm,
    offeredPerSecond: Math.round(flood.sent / flood.seconds),
    receivedPerSecond: report.seconds > 0
      ? Math.round(report.received / report.seconds)
      : NaN,
    samples: memory.samples.length,
  };
}

/**
 * Row 4: mcast's listener (and over FFI, when available and
 * `plan.extras`) and the raw `node:dgram` receiver, one flood each.
 *
 * @param context The run's shared state.
 */
export async function memoryRow(context: RowContext): Promise<void> {
  const listeners = context.plan.extras
    ? [MCAST, MCAST_DGRAM, MCAST_FFI, RAW_NODE_DGRAM]
    : [MCAST, RAW_NODE_DGRAM];
  await recordEach(
    context,
    "memory",
    listeners,
    (implementation) => underFlood(context, implementation),
  );
}
