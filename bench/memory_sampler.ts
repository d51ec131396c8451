/**
 * Samples a process's memory from `/proc/PID/status` while a row runs:
 * the resident set (VmRSS) and its peak so far (VmHWM), in MiB.
 *
 * @module
 */

/** One sample: seconds since sampling started, and MiB. */
export interface MemorySample {
  /** Seconds since the sampler started. */
  at: number;
  /** Resident set, MiB. */
  rss: number;
  /** Peak resident set so far, MiB. */
  hwm: number;
}

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

/** Samples a process every `everyMs` until stopped. */
export class MemorySampler {
  /** The samples so far. */
  readonly samples: MemorySample[] = [];
  readonly #pid: number;
  readonly #start = performance.now();
  readonly #timer: ReturnType<typeof setInterval>;

  private constructor(pid: number, everyMs: number) {
    this.#pid = pid;
    this.#timer = setInterval(() => void this.sample(), everyMs);
  }

  /** Takes a first sample, then one every `everyMs`. */
  static async start(pid: number, everyMs: number): Promise<MemorySampler> {
    const sampler = new MemorySampler(pid, everyMs);
    await sampler.sample();
    return sampler;
  }

  /** Takes one sample now. */
  async sample(): Promise<void> {
    const memory = await readMemory(this.#pid);
    if (memory !== undefined) {
      this.samples.push({
        at: (performance.now() - this.#start) / 1000,
        ...memory,
      });
    }
  }

  /** Stops the periodic sampling (a last sample may still be taken by hand). */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** RSS of the last sample taken at or before `seconds`, or NaN. */
  rssAt(seconds: number): number {
    return this.samples.filter((s) => s.at <= seconds).at(-1)?.rss ?? NaN;
  }

  /** RSS of the last sample, or NaN. */
  get lastRss(): number {
    return this.samples.at(-1)?.rss ?? NaN;
  }

  /** VmHWM of the last sample, or NaN. */
  get lastHwm(): number {
    return this.samples.at(-1)?.hwm ?? NaN;
  }

  /** The largest RSS sampled. */
  get peakRss(): number {
    return Math.max(...this.samples.map((s) => s.rss));
  }
}
