/**
 * Validation of the numeric options: ports, TTL, counts. Each check names
 * the bad value and the rule it broke.
 *
 * @module
 */

import { McastRangeError, McastTypeError } from "./errors.ts";

/** Options for {@linkcode validatePort}. */
export interface PortRule {
  /** Accept 0 (an ephemeral port chosen by the OS). @default {false} */
  allowZero?: boolean;
}

function toInteger(
  value: unknown,
  code: "ERR_INVALID_PORT" | "ERR_INVALID_TTL" | "ERR_INVALID_COUNT",
  what: string,
): number {
  const number = typeof value === "string" && /^\s*-?\d+\s*$/.test(value)
    ? Number(value)
    : value;
  if (typeof number !== "number" || !Number.isInteger(number)) {
    throw new McastTypeError(
      code,
      `Invalid ${what} "${String(value)}": not an integer`,
    );
  }
  return number;
}

/**
 * Checks a UDP port: an integer 1-65535 (0 too when `allowZero`).
 *
 * @param value A number, or text from the command line.
 * @param rule Whether 0 is allowed.
 * @returns The port as a number.
 * @throws {McastTypeError} `ERR_INVALID_PORT` when it is not an integer.
 * @throws {McastRangeError} `ERR_INVALID_PORT` when it is out of range.
 *
 * @example Validate a port
 * ```ts
 * import assert from "node:assert/strict";
 * import { validatePort } from "./numbers.ts";
 * assert.equal(validatePort("10000"), 10000);
 * assert.equal(validatePort(0, { allowZero: true }), 0);
 * ```
 */
export function validatePort(value: unknown, rule: PortRule = {}): number {
  const port = toInteger(value, "ERR_INVALID_PORT", "port");
  const min = rule.allowZero ? 0 : 1;
  if (port < min || port > 65535) {
    throw new McastRangeError(
      "ERR_INVALID_PORT",
      `Invalid port ${port}: must be ${min}-65535`,
    );
  }
  return port;
}

/**
 * Checks a multicast TTL (IPv6: hop limit): an integer 0-255.
 *
 * @param value A number, or text from the command line.
 * @returns The TTL as a number.
 * @throws {McastTypeError} `ERR_INVALID_TTL` when it is not an integer.
 * @throws {McastRangeError} `ERR_INVALID_TTL` when it is out of 0-255.
 *
 * @example Validate a TTL
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateTtl } from "./numbers.ts";
 * assert.equal(validateTtl("1"), 1);
 * ```
 */
export function validateTtl(value: unknown): number {
  const ttl = toInteger(value, "ERR_INVALID_TTL", "TTL");
  if (ttl < 0 || ttl > 255) {
    throw new McastRangeError(
      "ERR_INVALID_TTL",
      `Invalid TTL ${ttl}: must be 0-255`,
    );
  }
  return ttl;
}

/**
 * Checks a message count: an integer >= 0 (0 means "until stopped").
 *
 * @param value A number, or text from the command line.
 * @returns The count as a number.
 * @throws {McastTypeError} `ERR_INVALID_COUNT` when it is not an integer.
 * @throws {McastRangeError} `ERR_INVALID_COUNT` when it is negative.
 *
 * @example Validate a count
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateCount } from "./numbers.ts";
 * assert.equal(validateCount("3"), 3);
 * ```
 */
export function validateCount(value: unknown): number {
  const count = toInteger(value, "ERR_INVALID_COUNT", "count");
  if (count < 0) {
    throw new McastRangeError(
      "ERR_INVALID_COUNT",
      `Invalid count ${count}: must be 0 or more`,
    );
  }
  return count;
}
