/**
 * The kernel's clock as the FFI transport reads it: `CLOCK_REALTIME`, the
 * clock of the receive time stamps the kernel writes with each datagram
 * (`SO_TIMESTAMPNS`), and of `clock_gettime` taken just before a send's
 * system call. Times are milliseconds from a second fixed when this
 * module loads, so a `number` keeps them to the nanosecond (milliseconds
 * since 1970 would keep them to a quarter of a microsecond).
 *
 * Only differences of these times mean something (a round trip): one
 * clock at both ends, read by the same kernel.
 *
 * @module
 */

/** The `CLOCK_REALTIME` second that kernel-clock times count from. */
const ORIGIN_SECONDS = Math.floor(Date.now() / 1000);

/**
 * A `struct timespec` at `offset` of `view` (two 64-bit fields, seconds
 * and nanoseconds, little-endian as on x86_64 and aarch64) as
 * milliseconds on the kernel clock.
 *
 * @param view The memory the kernel wrote.
 * @param offset Where the `timespec` starts.
 * @returns Milliseconds on the kernel clock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timespecMs } from "./kernel_clock.ts";
 * const view = new DataView(new ArrayBuffer(32));
 * const now = Math.floor(Date.now() / 1000);
 * view.setUint32(0, now + 2, true);
 * view.setUint32(8, 500_000, true);
 * view.setUint32(16, now + 1, true);
 * assert.ok(Math.abs(timespecMs(view, 0) - timespecMs(view, 16) - 1000.5) < 1e-9);
 * ```
 */
export function timespecMs(view: DataView, offset: number): number {
  // Seconds since 1970 fit 32 bits until 2106; the high half is read
  // anyway, so that a wrong time is wrong and not folded.
  const seconds = view.getUint32(offset, true) +
    view.getUint32(offset + 4, true) * 4294967296;
  const nanoseconds = view.getUint32(offset + 8, true);
  return (seconds - ORIGIN_SECONDS) * 1000 + nanoseconds / 1e6;
}
