/**
 * Row 4: a listener's memory under a flood. The listener runs in its own
 * subprocess; `/proc/PID/status` is sampled (VmRSS, VmHWM) while the
 * flooder sends as fast as it can for `plan.memorySeconds`. Reported:
 * the peak, and the growth from the end of warm-up to the end.
 *
 * @module
 */

import { MCAST, MCAST_FFI, RAW_NODE_DGRAM } from "../implementations.ts";
import type { Implementation } from "../implementations.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Metrics } from "../results.ts";
import type { RowContext } from "./context.ts";

/**
 * Resident and peak resident set of a process, MiB, or undefined once gone.
 *
 * @param pid The process.
 * @returns VmRSS and VmHWM from `/proc/PID/status`, MiB.
 */
export async function readMemory(
  pid: number,
): Promise<{ rss: number; hwm: number } | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kib = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    return { rss: kib("VmRSS") / 1024, hwm: kib("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

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
    const samples: { at: number; rss: number; hwm: number }[] = [];
    const start = performance.now();
    const sample = async () => {
      const memory = await readMemory(receiver.pid);
      if (memory !== undefined) {
        samples.push({ at: (performance.now() - start) / 1000, ...memory });
      }
    };
    await sample();
    const sampler = setInterval(sample, plan.memorySampleMs);
    const flood = await context.flooder.flood(
      endpoint,
      plan.memorySeconds * 3_000_000,
      64,
      plan.memorySeconds,
    ).finally(() => clearInterval(sampler));
    await sample();
    const report = await receiver.stop();
    const at = (seconds: number) =>
      samples.filter((s) => s.at <= seconds).at(-1)?.rss ?? NaN;
    const warm = at(plan.memoryWarmupSeconds);
    const end = at(plan.memorySeconds);
    return {
      peakRssMiB: Math.max(...samples.map((s) => s.rss)),
      hwmMiB: samples.at(-1)?.hwm ?? NaN,
      rssAtStartMiB: samples[0]?.rss ?? NaN,
      rssAtWarmupMiB: warm,
      rssAtEndMiB: end,
      growthMiB: end - warm,
      offeredPerSecond: Math.round(flood.sent / flood.seconds),
      receivedPerSecond: report.seconds > 0
        ? Math.round(report.received / report.seconds)
        : NaN,
      samples: samples.length,
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
  const available = new Set(context.implementations.map((i) => i.id));
  const listeners = context.plan.extras
    ? [MCAST, MCAST_FFI, RAW_NODE_DGRAM]
    : [MCAST, RAW_NODE_DGRAM];
  for (const implementation of listeners) {
    if (!available.has(implementation.id)) continue;
    await context.recorder.record(
      "memory",
      implementation,
      () => underFlood(context, implementation),
    );
  }
}
