/**
 * Sequence framing for load runs: `send --seq` puts a sequence number in
 * front of every request, listeners put it back in front of their reply,
 * and the sender matches replies to requests. That gives exact round-trip
 * times, loss, duplicates and reordering per responder, as a multicast
 * ping.
 *
 * Frame (8 bytes, before the payload):
 *
 * ```text
 * 0x00 "M" "S" kind (0x01 request, 0x02 reply) | sequence number (uint32, big-endian)
 * ```
 *
 * A request may also be padded (`send --pad N`, kind 0x03,
 * `padding.ts`) so that a listener may answer it with a larger reply. The leading NUL keeps text payloads from being mistaken for
 * frames. Listeners always understand frames; senders add them only when
 * asked.
 *
 * @module
 */

import { FRAME_BYTES, FrameKind, frameValue, writeFrame } from "./frame.ts";

export { FRAME_BYTES } from "./frame.ts";

function frame(kind: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_BYTES + payload.byteLength);
  writeFrame(out, kind, seq);
  out.set(payload, FRAME_BYTES);
  return out;
}

function unframe(
  bytes: Uint8Array,
  kind: number,
): { seq: number; payload: Uint8Array } | undefined {
  const seq = frameValue(bytes, kind);
  return seq === undefined
    ? undefined
    : { seq, payload: bytes.subarray(FRAME_BYTES) };
}

/**
 * Frames a request payload with its sequence number.
 *
 * @param seq The sequence number (wraps at 2^32).
 * @param payload The encoded message.
 * @returns The framed bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frameRequest, unframeRequest } from "./sequence.ts";
 * const framed = frameRequest(7, new TextEncoder().encode("ping"));
 * assert.equal(unframeRequest(framed)?.seq, 7);
 * ```
 */
export function frameRequest(seq: number, payload: Uint8Array): Uint8Array {
  return frame(FrameKind.request, seq, payload);
}

/**
 * Reads a framed request.
 *
 * @param bytes A datagram.
 * @returns Its sequence number and payload, or `undefined` when it has no request frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unframeRequest } from "./sequence.ts";
 * assert.equal(unframeRequest(new TextEncoder().encode("plain")), undefined);
 * ```
 */
export function unframeRequest(
  bytes: Uint8Array,
): { seq: number; payload: Uint8Array } | undefined {
  return unframe(bytes, FrameKind.request);
}

/**
 * Frames a reply with the sequence number of the request it answers.
 *
 * @param seq The request's sequence number.
 * @param payload The encoded reply.
 * @returns The framed bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { frameReply, unframeReply } from "./sequence.ts";
 * assert.equal(unframeReply(frameReply(3, new Uint8Array([1])))?.seq, 3);
 * ```
 */
export function frameReply(seq: number, payload: Uint8Array): Uint8Array {
  return frame(FrameKind.reply, seq, payload);
}

/**
 * Reads a framed reply.
 *
 * @param bytes A datagram.
 * @returns Its sequence number and payload, or `undefined` when it has no reply frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unframeReply } from "./sequence.ts";
 * assert.equal(unframeReply(new Uint8Array(8)), undefined);
 * ```
 */
export function unframeReply(
  bytes: Uint8Array,
): { seq: number; payload: Uint8Array } | undefined {
  return unframe(bytes, FrameKind.reply);
}
