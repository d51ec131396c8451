/**
 * The CPU time a process has used so far, from `/proc/PID/stat` (user +
 * system, in seconds): sampled twice, the difference over the wall time
 * between is its CPU use in that window, as `top` reports it.
 *
 * @module
 */

/** Clock ticks per second of `/proc/PID/stat`'s times (`getconf CLK_TCK`; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU seconds `pid` has used, or undefined once it is gone.
 *
 * @param pid The process.
 * @returns Seconds of CPU time.
 *
 * @example
 * ```ts ignore
 * import { cpuSeconds } from "./process_cpu.ts";
 * const used = await cpuSeconds(Deno.pid);
 * ```
 */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces) in parentheses:
  // state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / TICKS_PER_SECOND;
}

/**
 * CPU use of each of `pids` over `windowMs`, in percent of one core.
 *
 * @param pids The processes.
 * @param windowMs How long to measure.
 * @returns One figure per process (NaN for one that ended meanwhile).
 */
export async function cpuPercents(
  pids: readonly number[],
  windowMs: number,
): Promise<number[]> {
  const before = await Promise.all(pids.map(cpuSeconds));
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = await Promise.all(pids.map(cpuSeconds));
  const seconds = (performance.now() - started) / 1000;
  return pids.map((_, i) => {
    const a = before[i];
    const b = after[i];
    return a === undefined || b === undefined ? NaN : (100 * (b - a)) / seconds;
  });
}
