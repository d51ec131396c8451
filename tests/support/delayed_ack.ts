/**
 * A responder plugin for tests: answers `ack` after a known delay
 * (`--option ms=N`, default 0), so that a sender's reported round trips
 * can be held to it: each must be at least N ms and not much more.
 *
 * ```sh
 * deno task listen --plugin ./tests/support/delayed_ack.ts --option ms=40
 * ```
 *
 * @module
 */

import {
  checkPluginOptions,
  type PluginOptions,
  type Responder,
} from "../../plugin.ts";

/**
 * Makes the `delayed-ack` responder.
 *
 * @param options `ms`: how long to wait before answering, milliseconds.
 * @returns A responder that answers every message `ack`, `ms` later.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { delayedAck } from "./delayed_ack.ts";
 * assert.equal(delayedAck({ ms: "5" }).name, "delayed-ack");
 * ```
 */
export function delayedAck(options: PluginOptions = {}): Responder {
  checkPluginOptions("delayed-ack", options, ["ms"]);
  const ms = Number(options.ms ?? "0");
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`delayed-ack: ms must be a number >= 0, not ${ms}`);
  }
  return {
    name: "delayed-ack",
    respond: () =>
      new Promise((resolve) => setTimeout(() => resolve("ack"), ms)),
  };
}

export default delayedAck;
