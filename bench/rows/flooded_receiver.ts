/**
 * What rows 4 and 6 share: one receiver in its own subprocess, flooded
 * while `/proc/PID/status` is sampled, then stopped for its report.
 *
 * @module
 */

import type { FloodReport } from "../flooder.ts";
import type { Implementation } from "../implementations.ts";
import { MemorySampler } from "../memory_sampler.ts";
import { ReceiverProcess } from "../receiver_process.ts";
import type { ReceiverReport } from "../receiver_protocol.ts";
import type { RowContext } from "./context.ts";

/** The flood: how many datagrams, how large, for how long, how fast. */
export interface FloodPlan {
  /** Datagrams at most. */
  count: number;
  /** Payload bytes. */
  size: number;
  /** Time limit, seconds. */
  seconds: number;
  /** Datagrams per second; 0 as fast as the sender can. */
  rate: number;
  /** Memory sampling period, ms. */
  sampleMs: number;
}

/** What came of it: the sender's and the receiver's counts, and memory. */
export interface FloodedReceiver {
  /** The sender's report. */
  flood: FloodReport;
  /** The receiver's report. */
  report: ReceiverReport;
  /** The memory samples, from the start of the flood. */
  memory: MemorySampler;
}

/**
 * Starts `implementation` as a sink on a fresh endpoint, floods it as
 * `plan` says while sampling its memory, and stops it.
 *
 * @param context The run's shared state.
 * @param implementation The receiver.
 * @param plan The flood.
 * @returns The counts and the memory samples.
 */
export async function floodReceiver(
  context: RowContext,
  implementation: Implementation,
  plan: FloodPlan,
): Promise<FloodedReceiver> {
  const endpoint = context.endpoints.next();
  const receiver = await ReceiverProcess.start(
    implementation.command("sink", endpoint, plan.seconds + 30, 1),
  );
  try {
    const memory = await MemorySampler.start(receiver.pid, plan.sampleMs);
    const flood = await context.flooder.flood(
      endpoint,
      plan.count,
      plan.size,
      plan.seconds,
      plan.rate,
    ).finally(() => memory.stop());
    await memory.sample();
    const report = await receiver.stop();
    return { flood, report, memory };
  } finally {
    await receiver.kill();
  }
}
