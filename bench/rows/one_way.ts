/**
 * Row 1: one-way receive throughput and loss. The fixed flooder offers
 * the same number of datagrams to each receiver in turn (alternating,
 * repeated); each receiver counts what it gets and when.
 *
 * @module
 */

import type { Flooder } from "../flooder.ts";
import type { EndpointAllocator } from "../addresses.ts";
import {
  C_RECVMMSG,
  CORE,
  type Implementation,
  MCAST_FFI,
} from "../implementations.ts";
import type { Subject } from "../recorder.ts";
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
  /** Datagrams per second, paced; 0 or absent: as fast as the sender can. */
  rate?: number;
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
      await flooder.flood(
        endpoint,
        run.count,
        run.size,
        run.warmupSeconds,
        run.rate,
      );
      await delay(100);
      await receiver.reset();
    }
    const flood = await flooder.flood(
      endpoint,
      run.count,
      run.size,
      run.seconds,
      run.rate,
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

/** The share of the C receiver's rate the paced FFI line is offered. */
const PACED_SHARE = 0.95;

/**
 * The FFI listener offered 0.95x what the C receiver took in the same
 * repeat, paced: "receives at 0.95x the C receiver with zero loss" as a
 * measurement, where the unpaced lines each get the rate the sender
 * reaches against them.
 */
export const FFI_PACED: Subject = {
  id: "mcast-ffi-paced",
  label: "mcast listen() + FFI, paced at 0.95x the C receiver's rate",
  side: "mcast",
  required: false,
  compareWith: [C_RECVMMSG.id],
};

/**
 * Row 1 for every payload size and every implementation, alternating,
 * `plan.repeats` times; then, when the FFI listener and the C receiver are
 * both here, the FFI listener paced at 0.95x what C took in that repeat.
 *
 * @param context The run's shared state.
 */
export async function oneWayRow(context: RowContext): Promise<void> {
  const { plan, implementations, flooder, endpoints, recorder } = context;
  const ffi = implementations.find((i) => i.id === MCAST_FFI.id);
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    for (const size of plan.oneWaySizes) {
      const row = size === 64 ? "one-way-64" : "one-way-1400";
      const receivers = row === "one-way-64" || plan.extras
        ? implementations
        : implementations.filter((i) => CORE.includes(i));
      const run = (implementation: Implementation, rate = 0): OneWayRun => ({
        implementation,
        size,
        count: plan.oneWayCount,
        seconds: plan.oneWaySeconds,
        warmupSeconds: plan.oneWayWarmupSeconds,
        rate,
      });
      let cRate = 0;
      for (const implementation of receivers) {
        await recorder.record(row, implementation, async () => {
          const metrics = await measureOneWay(
            run(implementation),
            flooder,
            endpoints,
          );
          if (implementation.id === C_RECVMMSG.id) {
            cRate = metrics.receivedPerSecond;
          }
          return metrics;
        });
      }
      if (ffi === undefined || !(cRate > 0)) continue;
      const rate = Math.round(PACED_SHARE * cRate);
      await recorder.record(
        row,
        FFI_PACED,
        () => measureOneWay(run(ffi, rate), flooder, endpoints),
      );
    }
  }
}
