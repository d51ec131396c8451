/**
 * The metrics every mcast endpoint serves besides its command's own: the
 * process's resident memory and start time (the names Prometheus's client
 * libraries use, so existing dashboards read them), the JavaScript heap,
 * and which mcast is running.
 *
 * @module
 */

import { VERSION } from "../../lib/version.ts";
import type { Exposition } from "./exposition.ts";

/** When this process started, seconds since the epoch. */
const STARTED_AT_SECONDS = (Date.now() - performance.now()) / 1000;

/**
 * Writes the process metrics: `process_resident_memory_bytes`,
 * `process_start_time_seconds`, `mcast_heap_used_bytes` and
 * `mcast_build_info{version,command}`.
 *
 * @param page The page to write to.
 * @param command The command serving them (`listen`, `send`, `mesh`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Exposition } from "./exposition.ts";
 * import { writeProcessMetrics } from "./process_metrics.ts";
 * const page = new Exposition();
 * writeProcessMetrics(page, "listen");
 * assert.match(page.text(), /^process_resident_memory_bytes \d+$/m);
 * ```
 */
export function writeProcessMetrics(page: Exposition, command: string): void {
  const memory = Deno.memoryUsage();
  page.gauge(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
    memory.rss,
  );
  page.gauge(
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
    Math.round(STARTED_AT_SECONDS * 1000) / 1000,
  );
  page.gauge(
    "mcast_heap_used_bytes",
    "JavaScript heap in use, bytes.",
    memory.heapUsed,
  );
  page.gauge("mcast_build_info", "The mcast version and command running.", [
    {
      labels: { version: VERSION, command, deno: Deno.version.deno },
      value: 1,
    },
  ]);
}
