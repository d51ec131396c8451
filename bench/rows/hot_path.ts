/**
 * Row 5: mcast's own cost per datagram without sockets
 * (`../hot_path.ts` in a subprocess), for the listener configurations
 * that matter: no codec, text codec, events, replies. No ratios: the
 * baseline is the bare loop, a few nanoseconds.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { placed } from "../cpu_placement.ts";
import { HOT_PATH_VARIANTS } from "../hot_path.ts";
import { runJsonProgram } from "../json_program.ts";
import type { RowContext } from "./context.ts";

function runHotPath(quick: boolean): Promise<Record<string, number>> {
  const script = fileURLToPath(new URL("../hot_path.ts", import.meta.url));
  const run = placed({
    command: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-sys=networkInterfaces,hostname",
      script,
      ...(quick ? ["--quick"] : []),
    ],
  }, "measured");
  return runJsonProgram<Record<string, number>>("hot_path.ts", run, 60_000);
}

/**
 * Row 5, `plan.repeats` times (every variant in each run).
 *
 * @param context The run's shared state.
 */
export async function hotPathRow(context: RowContext): Promise<void> {
  const { plan, recorder } = context;
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    let figures: Record<string, number> | undefined;
    let failure: Error | undefined;
    try {
      figures = await runHotPath(plan.name === "quick");
    } catch (error) {
      failure = error as Error;
    }
    for (const variant of HOT_PATH_VARIANTS) {
      await recorder.record("hot-path", {
        id: variant.id,
        label: variant.label,
        side: variant.options === undefined ? "baseline" : "mcast",
        required: true,
        compareWith: [],
      }, () => {
        if (failure !== undefined) return Promise.reject(failure);
        return Promise.resolve({ nsPerDatagram: figures![variant.id] });
      });
    }
  }
}
