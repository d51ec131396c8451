/**
 * The value of `--allow-import`: a host a plugin or codec may import
 * modules from, in the form Deno's own `--allow-import` takes.
 *
 * @module
 */

import { UsageError } from "./usage_error.ts";

/**
 * Checks a `--allow-import` value: a host name or address, with an
 * optional port (`plugins.example.org`, `127.0.0.1:8000`, `[::1]:8000`).
 *
 * @param value What the user gave.
 * @returns The value, unchanged.
 * @throws {UsageError} for anything else (a URL, a path, an empty value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkImportHost } from "./import_host.ts";
 * assert.equal(checkImportHost("127.0.0.1:8000"), "127.0.0.1:8000");
 * assert.throws(() => checkImportHost("https://b.example/"), /Invalid --allow-import/);
 * ```
 */
export function checkImportHost(value: string): string {
  let host: string | undefined;
  try {
    const url = new URL(`http://${value}/`);
    if (url.pathname === "/" && url.username === "" && url.search === "") {
      host = url.host;
    }
  } catch { /* refused below */ }
  const asGiven = value.toLowerCase().replace(/:80$/, "");
  if (host === undefined || value === "" || host !== asGiven) {
    throw new UsageError(
      `Invalid --allow-import "${value}": expected HOST or HOST:PORT, such as plugins.example.org or 127.0.0.1:8000`,
    );
  }
  return value;
}
