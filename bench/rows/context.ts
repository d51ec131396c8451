/**
 * What every row's measuring function gets from the orchestrator.
 *
 * @module
 */

import type { EndpointAllocator } from "../addresses.ts";
import type { Flooder } from "../flooder.ts";
import type { Implementation } from "../implementations.ts";
import type { Plan } from "../plan.ts";
import type { Recorder } from "../recorder.ts";

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
}
