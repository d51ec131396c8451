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
 * import assert from "node:assert/strict";
 * import { DEFAULT_GROUP } from "./defaults.ts";
 * assert.equal(DEFAULT_GROUP, "224.3.29.71");
 * ```
 */
export const DEFAULT_GROUP: string = "224.3.29.71";

/**
 * The UDP port used when none is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_PORT } from "./defaults.ts";
 * assert.equal(DEFAULT_PORT, 10000);
 * ```
 */
export const DEFAULT_PORT: number = 10000;

/**
 * The multicast TTL used when none is given: 1 keeps datagrams on the local segment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TTL } from "./defaults.ts";
 * assert.equal(DEFAULT_TTL, 1);
 * ```
 */
export const DEFAULT_TTL: number = 1;

/**
 * How long a sender waits for replies after its last send, in milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TIMEOUT_MS } from "./defaults.ts";
 * assert.equal(DEFAULT_TIMEOUT_MS, 1000);
 * ```
 */
export const DEFAULT_TIMEOUT_MS: number = 1000;

/**
 * The largest datagram a sender or listener expects whole, in bytes, where
 * the transport allocates a buffer per datagram (`node:dgram` on Deno).
 * 16 KiB holds any datagram that fits one Ethernet frame, jumbo frames
 * included; a larger one arrives cut once, and the socket then takes up to
 * 64 KiB. Allocating the full 64 KiB for every datagram made a kept-open
 * sender's round trips 1.4x slower (docs/performance.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_RECEIVE_BYTES } from "./defaults.ts";
 * assert.equal(DEFAULT_RECEIVE_BYTES, 16384);
 * ```
 */
export const DEFAULT_RECEIVE_BYTES: number = 16_384;

/**
 * The kernel receive buffer the ffi transport asks for (`SO_RCVBUFFORCE`
 * as root, else `SO_RCVBUF`, which `net.core.rmem_max` caps): 32 MiB. It
 * is a limit, not an allocation: the kernel charges only what is queued.
 * A listener started cold (before its JavaScript is compiled) falls behind
 * a full-speed flood for its first tens of milliseconds: with 8 MiB, a
 * flood of 1,400-byte datagrams at ~520,000/s into `listen -q` lost
 * 7,000-15,000 of its first 500,000; with 32 MiB none (docs/performance.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SOCKET_RECEIVE_BUFFER_BYTES } from "./defaults.ts";
 * assert.equal(SOCKET_RECEIVE_BUFFER_BYTES, 32 * 1024 * 1024);
 * ```
 */
export const SOCKET_RECEIVE_BUFFER_BYTES: number = 32 << 20;

/**
 * How many times the size of its request a listener's reply may be, unless
 * the listener allows more (`maxReplyBytes`): the bound QUIC sets for
 * addresses it has not validated (RFC 9000, section 8.1), so a listener
 * cannot be used to amplify a spoofed request. A client that wants a
 * larger reply pads its request (`send --pad`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPLY_AMPLIFICATION_LIMIT } from "./defaults.ts";
 * assert.equal(REPLY_AMPLIFICATION_LIMIT, 3);
 * ```
 */
export const REPLY_AMPLIFICATION_LIMIT: number = 3;

/**
 * How long an asynchronous `respond` may take before it counts as a plugin
 * error, in milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_RESPOND_TIMEOUT_MS } from "./defaults.ts";
 * assert.equal(DEFAULT_RESPOND_TIMEOUT_MS, 5000);
 * ```
 */
export const DEFAULT_RESPOND_TIMEOUT_MS: number = 5000;

/**
 * How long a responder's `teardown` may take when a listener closes, in
 * milliseconds; the listener closes without it after that, so a stop
 * always completes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TEARDOWN_LIMIT_MS } from "./defaults.ts";
 * assert.equal(TEARDOWN_LIMIT_MS, 500);
 * ```
 */
export const TEARDOWN_LIMIT_MS: number = 500;

/**
 * How far a signed datagram's timestamp may be from this host's clock, in
 * milliseconds, with a key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_AUTH_WINDOW_MS } from "./defaults.ts";
 * assert.equal(DEFAULT_AUTH_WINDOW_MS, 30_000);
 * ```
 */
export const DEFAULT_AUTH_WINDOW_MS: number = 30_000;

/**
 * The most bytes one UDP datagram can carry to a socket (the 16-bit length
 * field): the size of a buffer that never cuts a datagram.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_DATAGRAM_BYTES } from "./defaults.ts";
 * assert.equal(MAX_DATAGRAM_BYTES, 65_536);
 * ```
 */
export const MAX_DATAGRAM_BYTES: number = 65_536;

/**
 * The time between two sends of a run that sends more than one message,
 * in milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_INTERVAL_MS } from "./defaults.ts";
 * assert.equal(DEFAULT_INTERVAL_MS, 1000);
 * ```
 */
export const DEFAULT_INTERVAL_MS: number = 1000;
