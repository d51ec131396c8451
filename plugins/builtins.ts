/**
 * The built-in plugins, by name. Each loads through a literal `import()`,
 * so it needs no extra permission and resolves wherever this file came
 * from (disk or URL).
 *
 * @module
 */

import type { PluginCatalog } from "../lib/loader.ts";

/**
 * The built-in responders and codecs.
 *
 * @example List the built-in responders
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtins } from "./builtins.ts";
 * assert.ok(Object.keys(builtins.responders).includes("echo"));
 * ```
 */
export const builtins: PluginCatalog = {
  responders: {
    ack: () => import("./responders/ack.ts"),
    echo: () => import("./responders/echo.ts"),
    silent: () => import("./responders/silent.ts"),
    status: () => import("./responders/status.ts"),
  },
  codecs: {
    text: () => import("./codecs/text.ts"),
    json: () => import("./codecs/json.ts"),
    binary: () => import("./codecs/binary.ts"),
  },
};
