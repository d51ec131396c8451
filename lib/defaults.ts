/**
 * The defaults mcast shares with the Python socket example it grew from.
 *
 * @module
 */

/**
 * The group used when none is given.
 *
 * @example
 * ```ts
 * import { DEFAULT_GROUP } from "./defaults.ts";
 * console.assert(DEFAULT_GROUP === "224.3.29.71");
 * ```
 */
export const DEFAULT_GROUP: string = "224.3.29.71";

/**
 * The UDP port used when none is given.
 *
 * @example
 * ```ts
 * import { DEFAULT_PORT } from "./defaults.ts";
 * console.assert(DEFAULT_PORT === 10000);
 * ```
 */
export const DEFAULT_PORT: number = 10000;

/**
 * The multicast TTL used when none is given: 1 keeps datagrams on the local segment.
 *
 * @example
 * ```ts
 * import { DEFAULT_TTL } from "./defaults.ts";
 * console.assert(DEFAULT_TTL === 1);
 * ```
 */
export const DEFAULT_TTL: number = 1;

/**
 * How long a sender waits for replies after its last send, in milliseconds.
 *
 * @example
 * ```ts
 * import { DEFAULT_TIMEOUT_MS } from "./defaults.ts";
 * console.assert(DEFAULT_TIMEOUT_MS === 1000);
 * ```
 */
export const DEFAULT_TIMEOUT_MS: number = 1000;

/**
 * The message sent when none is given.
 *
 * @example
 * ```ts
 * import { DEFAULT_MESSAGE } from "./defaults.ts";
 * console.assert(DEFAULT_MESSAGE === "very important data");
 * ```
 */
export const DEFAULT_MESSAGE: string = "very important data";
