/**
 * The message `mcast send` and `mcast demo` send when none is given: the
 * Python socket example's, which mcast grew from. Only the command line
 * has a default message; the library's `send()` always takes one.
 *
 * @module
 */

/**
 * The message sent when none is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_MESSAGE } from "./default_message.ts";
 * assert.equal(DEFAULT_MESSAGE, "very important data");
 * ```
 */
export const DEFAULT_MESSAGE: string = "very important data";
