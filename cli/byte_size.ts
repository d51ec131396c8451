/**
 * Sizes on the command line: `--recv-buffer 8M`, as `mdump -r` and
 * `iperf -w` take them.
 *
 * @module
 */

import { UsageError } from "./usage_error.ts";

const UNITS: Record<string, number> = {
  "": 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/**
 * Parses a byte count: digits with an optional binary suffix K, M or G
 * (`65536`, `64K`, `8M`).
 *
 * @param flag The flag's name, for the message.
 * @param text What the user typed.
 * @param max The largest size allowed, in bytes.
 * @returns The size in bytes, from 1 to `max`.
 * @throws {UsageError} naming the flag and the value when it is not such a size.
 */
export function parseByteSize(flag: string, text: string, max: number): number {
  const match = /^(\d+)([kmg]?)$/i.exec(text.trim());
  const bytes = match === null
    ? NaN
    : Number(match[1]) * UNITS[match[2].toLowerCase()];
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > max) {
    throw new UsageError(
      `Invalid --${flag} "${text}": expected a size from 1 byte to ${max} bytes, such as 65536, 512K or 8M`,
    );
  }
  return bytes;
}
