/**
 * The `ack` responder: answers every message with `ack`, as the Python
 * socket example this project grew from does.
 *
 * @module
 */

import {
  checkPluginOptions,
  type PluginOptions,
  type Responder,
} from "../../lib/plugin.ts";

/**
 * Makes the `ack` responder.
 *
 * @param options `text`: the reply. @default {"ack"}
 * @returns A responder that answers every message with the same text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ack } from "./ack.ts";
 * const responder = ack({ text: "pong" });
 * assert.equal(responder.name, "ack");
 * ```
 */
export function ack(options: PluginOptions = {}): Responder<unknown, string> {
  checkPluginOptions("ack", options, ["text"]);
  const text = options.text ?? "ack";
  return { name: "ack", respond: () => text };
}

export default ack;
