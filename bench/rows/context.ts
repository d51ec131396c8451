/**
 * What every row's measuring function gets from the orchestrator.
 *
 * @module
 */

import type { EndpointAllocator } from "../addresses.ts";
import type { Flooder } from "../flooder.ts";
import type { Implementation, Skipped } from "../implementations.ts";
import type { Plan } from "../plan.ts";
import type { Recorder } from "../recorder.ts";
import type { Metrics, RowId } from "../results.ts";

/** Shared state of one bench run. */
export interface RowContext {
  /** Sizes and limits. */
  plan: Plan;
  /** Receivers available here, mcast first. */
  implementations: Implementation[];
  /** The fixed sender of rows 1 and 4. */
  flooder: Flooder;
  /** A fresh group and port per measurement. */
  endpoints: EndpointAllocator;
  /** Where figures go. */
  recorder: Recorder;
  /**
   * Row 2c's client, `clients/pingpong.c` built at run time; undefined
   * when it could not be built (the reason is in the run's skipped list).
   */
  cPingPongClient?: string;
  /**
   * What this run left out, and why: a row that cannot run here (no
   * namespaces, no compiler) adds itself, and the run goes on.
   */
  skipped: Skipped[];
}

/**
 * Records `measure` for each of `implementations` that is available in
 * this run, in order, under the row `row`.
 *
 * @param context The run's shared state.
 * @param row The row's id.
 * @param implementations The ones the row compares, in order.
 * @param measure Measures one implementation.
 */
export async function recordEach(
  context: RowContext,
  row: RowId,
  implementations: readonly Implementation[],
  measure: (implementation: Implementation) => Promise<Metrics>,
): Promise<void> {
  const available = new Set(context.implementations.map((i) => i.id));
  for (const implementation of implementations) {
    if (!available.has(implementation.id)) continue;
    await context.recorder.record(
      row,
      implementation,
      () => measure(implementation),
    );
  }
}
