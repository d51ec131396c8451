/**
 * A responder that answers `sockperf ping-pong` as `sockperf server`
 * does, so that sockperf's C client can measure mcast's listener against
 * sockperf's own server on the same path (bench row 2s):
 *
 * ```sh
 * deno task listen --plugin ./examples/sockperf_reflector.ts --codec binary \
 *   -g 239.1.2.3 -p 11111 -i 127.0.0.1 --rate-limit 0 --global-rate 0 -q
 * sockperf ping-pong -i 239.1.2.3 -p 11111 --mc-rx-if 127.0.0.1 --mc-tx-if 127.0.0.1 -m 64 -t 5
 * ```
 *
 * sockperf's messages (3.7, read from its `message.h` and seen on the
 * wire) start with a 14-byte header in network byte order: an 8-byte
 * sequence number, 2 bytes of flags (1: sent by a client, 2: asks for a
 * reply, 4: warm-up) and the message's 4-byte length. Its server answers a
 * client's request that asks for a reply, warm-up excepted, with the same
 * bytes and the client flag cleared, to the sender (as with
 * `--force-unicast-reply`; mcast always answers the sender). Everything
 * else (its own replies looped back, warm-up, other traffic) gets no
 * answer. The `binary` codec hands the payload over as it came.
 *
 * @module
 */

import {
  checkPluginOptions,
  type PluginOptions,
  type Responder,
} from "../plugin.ts";

/** The header's size: sequence (8), flags (2), length (4). */
export const SOCKPERF_HEADER_BYTES = 14;
/** Flag: sent by a client (cleared in the server's reply). */
const CLIENT = 1;
/** Flag: the client asks for a reply. */
const PONG_REQUEST = 2;
/** Flag: a warm-up message, never answered. */
const WARMUP = 4;

/**
 * sockperf's answer to `bytes`, or `undefined` when sockperf's server
 * would not answer it.
 *
 * @param bytes A datagram's payload.
 * @returns The reply: a copy with the client flag cleared.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sockperfReply } from "./sockperf_reflector.ts";
 * const request = new Uint8Array(64);
 * request[7] = 5; // sequence 5
 * request[9] = 3; // client, asks for a reply
 * request[13] = 64; // 64 bytes
 * const reply = sockperfReply(request)!;
 * assert.equal(reply[9], 2);
 * assert.equal(reply[7], 5);
 * assert.equal(sockperfReply(reply), undefined); // a server's reply
 * ```
 */
export function sockperfReply(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.byteLength < SOCKPERF_HEADER_BYTES) return undefined;
  const flags = (bytes[8] << 8) | bytes[9];
  if ((flags & CLIENT) === 0 || (flags & WARMUP) !== 0) return undefined;
  if ((flags & PONG_REQUEST) === 0) return undefined;
  const length = ((bytes[10] << 24) | (bytes[11] << 16) | (bytes[12] << 8) |
    bytes[13]) >>> 0;
  if (length !== bytes.byteLength) return undefined;
  const reply = bytes.slice();
  reply[9] &= ~CLIENT;
  return reply;
}

/**
 * Makes the `sockperf-reflector` responder (no options).
 *
 * @param options None are taken.
 * @returns A responder that answers as `sockperf server` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sockperfReflector } from "./sockperf_reflector.ts";
 * assert.equal(sockperfReflector().name, "sockperf-reflector");
 * ```
 */
export function sockperfReflector(options: PluginOptions = {}): Responder {
  checkPluginOptions("sockperf-reflector", options, []);
  return {
    name: "sockperf-reflector",
    respond: (message) => sockperfReply(message.bytes),
  };
}

export default sockperfReflector;
