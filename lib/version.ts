/**
 * The version of mcast (kept equal to `deno.json`'s by a test).
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.assert(/^\d+\.\d+\.\d+/.test(VERSION));
 * ```
 */
export const VERSION: string = "0.1.0";
