/**
 * An example custom responder: answers each text message in upper case.
 *
 * Run it with:
 *
 * ```sh
 * deno task listen --plugin ./examples/uppercase.ts --option prefix=">> "
 * ```
 *
 * A plugin module's default export is a responder object or, as here, a
 * factory that takes the `--option key=value` pairs and returns one.
 *
 * @module
 */

// mcast's plugin.ts, the entry point for plugin authors, by relative path
// here; a plugin elsewhere may import it by path, by file URL or by the URL
// mcast is served from.
import {
  checkPluginOptions,
  type PluginOptions,
  type Responder,
} from "../plugin.ts";

/**
 * Makes the `uppercase` responder.
 *
 * @param options `prefix`: text put before each reply. @default {""}
 * @returns A responder that upper-cases text payloads and ignores others.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { uppercase } from "./uppercase.ts";
 * assert.equal(uppercase({ prefix: "> " }).name, "uppercase");
 * ```
 */
export function uppercase(options: PluginOptions = {}): Responder {
  checkPluginOptions("uppercase", options, ["prefix"]);
  const prefix = options.prefix ?? "";
  return {
    name: "uppercase",
    respond(message) {
      // Only answer text; stay silent for anything else (json objects, bytes).
      if (typeof message.payload !== "string") return undefined;
      return prefix + message.payload.toUpperCase();
    },
  };
}

export default uppercase;
