/**
 * The `silent` responder: takes every message (the listener still reports
 * it) and never replies. Useful to watch a group without being seen.
 *
 * @module
 */

import {
  checkPluginOptions,
  type PluginOptions,
  type Responder,
} from "../../lib/plugin.ts";

/**
 * Makes the `silent` responder.
 *
 * @param options None are taken.
 * @returns A responder that never answers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { silent } from "./silent.ts";
 * assert.equal(silent().name, "silent");
 * ```
 */
export function silent(options: PluginOptions = {}): Responder {
  checkPluginOptions("silent", options, []);
  return { name: "silent", respond: () => undefined };
}

export default silent;
