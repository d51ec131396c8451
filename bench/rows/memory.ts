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
import { MemorySampler } from "../memory_sampler.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Metrics } from "../results.ts";
import { recordEach, type RowContext } from "./context.ts";

async function underFlood(
  context: RowContext,
  implementation: Implementation,
): Promise<Metrics> {
  const { plan } = context;
  const endpoint = context.endpoints.next();
  const receiver = await ReceiverProcess.start(
    implementation.command("sink", endpoint, plan.memorySeconds + 30, 1),
  );
  try {
    const memory = await MemorySampler.start(receiver.pid, plan.memorySampleMs);
    const flood = await context.flooder.flood(
      endpoint,
      plan.memorySeconds * 3_000_000,
      64,
      plan.memorySeconds,
    ).finally(() => memory.stop());
    await memory.sample();
    const report = await receiver.stop();
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
  } finally {
    await receiver.kill();
  }
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
