/**
 * Datagrams the kernel dropped because a CPU's input backlog was full
 * (`/proc/net/softnet_stat`, second column, summed over CPUs). The backlog
 * is one per CPU for the whole machine, every namespace's veths and
 * loopback included (`net.core.netdev_max_backlog`, 1,000 here): a flood
 * elsewhere on the machine, or a burst of a thousand replies at once, drops
 * datagrams there before any socket or hook of a lab's hosts sees them. A
 * test or bench row of "no loss" asks whether this grew meanwhile.
 *
 * @module
 */

/**
 * The machine's input-backlog drops so far.
 *
 * @returns The count, or 0 where the file cannot be read.
 *
 * @example
 * ```ts
 * import { backlogDrops } from "./backlog_drops.ts";
 * const before = await backlogDrops();
 * // ... traffic ...
 * console.log(`${(await backlogDrops()) - before} dropped in the backlog`);
 * ```
 */
export async function backlogDrops(): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile("/proc/net/softnet_stat");
  } catch {
    return 0;
  }
  return text.trim().split("\n").reduce(
    (sum, line) => sum + parseInt(line.split(/\s+/)[1] ?? "0", 16),
    0,
  );
}
