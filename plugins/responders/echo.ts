/**
 * The `echo` responder: sends each payload back byte for byte (RFC 862).
 *
 * @module
 */

import {
  checkPluginOptions,
  type PluginOptions,
  type Responder,
} from "../../lib/plugin.ts";

/**
 * Makes the `echo` responder.
 *
 * @param options None are taken.
 * @returns A responder that answers each message with its own bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { echo } from "./echo.ts";
 * assert.equal(echo().name, "echo");
 * ```
 */
export function echo(options: PluginOptions = {}): Responder {
  checkPluginOptions("echo", options, []);
  return { name: "echo", respond: (message) => message.bytes };
}

export default echo;
