/**
 * Row 1: one-way receive throughput and loss. The fixed flooder offers
 * the same number of datagrams to each receiver in turn (alternating,
 * repeated); each receiver counts what it gets and when.
 *
 * @module
 */

import type { Flooder } from "../flooder.ts";
import type { EndpointAllocator } from "../addresses.ts";
import { CORE, type Implementation } from "../implementations.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { Metrics } from "../results.ts";
import type { RowContext } from "./context.ts";

/** One one-way measurement's parameters. */
export interface OneWayRun {
  /** The receiver. */
  implementation: Implementation;
  /** Receiver-specific flags. */
  flags?: string[];
  /** Payload size, bytes. */
  size: number;
  /** Datagrams offered at most. */
  count: number;
  /** The flood's time limit, seconds. */
  seconds: number;
  /** A flood of this many seconds first, not counted (0: none). */
  warmupSeconds: number;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Floods one fresh receiver and returns what it got.
 *
 * @param run What to measure.
 * @param flooder The sender.
 * @param endpoints Where to get a group and port.
 * @returns `offered`, `offeredPerSecond`, `received`, `receivedPerSecond`
 *   (first to last datagram) and `lossPercent`.
 */
export async function measureOneWay(
  run: OneWayRun,
  flooder: Flooder,
  endpoints: EndpointAllocator,
): Promise<Metrics> {
  const endpoint = endpoints.next();
  const receiver = await ReceiverProcess.start(
    run.implementation.command(
      "sink",
      endpoint,
      run.seconds + 30,
      1,
      run.flags,
    ),
  );
  try {
    if (run.warmupSeconds > 0) {
      await flooder.flood(endpoint, run.count, run.size, run.warmupSeconds);
      await delay(100);
      await receiver.reset();
    }
    const flood = await flooder.flood(
      endpoint,
      run.count,
      run.size,
      run.seconds,
    );
    const report = await receiver.stop();
    return {
      offered: flood.sent,
      offeredPerSecond: Math.round(flood.sent / flood.seconds),
      received: report.received,
      receivedPerSecond: report.received > 1 && report.seconds > 0
        ? Math.round(report.received / report.seconds)
        : NaN,
      lossPercent: 100 * (1 - report.received / flood.sent),
    };
  } finally {
    await receiver.kill();
  }
}

/**
 * Row 1 for every payload size and every implementation, alternating,
 * `plan.repeats` times.
 *
 * @param context The run's shared state.
 */
export async function oneWayRow(context: RowContext): Promise<void> {
  const { plan, implementations, flooder, endpoints, recorder } = context;
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const size of plan.oneWaySizes) {
      const row = size === 64 ? "one-way-64" : "one-way-1400";
      const receivers = row === "one-way-64" || plan.extras
        ? implementations
        : implementations.filter((i) => CORE.includes(i));
      for (const implementation of receivers) {
        await recorder.record(row, implementation, () =>
          measureOneWay(
            {
              implementation,
              size,
              count: plan.oneWayCount,
              seconds: plan.oneWaySeconds,
              warmupSeconds: plan.oneWayWarmupSeconds,
            },
            flooder,
            endpoints,
          ));
      }
    }
  }
}
