/**
 * Bounded polling: wait for a condition that no event announces, such as a
 * listener's counters catching up.
 *
 * @module
 */

/** How {@linkcode until} polls and what it says when time runs out. */
export interface UntilOptions {
  /** Milliseconds between two checks (0: every macrotask). @default {5} */
  intervalMs?: number;
  /** The error message on timeout. @default {"condition not met in time"} */
  message?: string;
}

/**
 * Resolves once `condition()` is true, checking every `intervalMs`; throws
 * when it is still false after `timeoutMs`.
 */
export async function until(
  condition: () => boolean,
  timeoutMs: number,
  { intervalMs = 5, message = "condition not met in time" }: UntilOptions = {},
): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
