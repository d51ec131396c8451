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
 * The leading NUL keeps text payloads from being mistaken for frames.
 * Listeners always understand frames; senders add them only when asked.
 *
 * @module
 */

/** Bytes a frame adds in front of a payload. */
export const FRAME_BYTES = 8;

const REQUEST = 0x01;
const REPLY = 0x02;

function isFrame(bytes: Uint8Array, kind: number): boolean {
  return bytes.byteLength >= FRAME_BYTES && bytes[0] === 0 &&
    bytes[1] === 0x4d && bytes[2] === 0x53 && bytes[3] === kind;
}

function frame(kind: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_BYTES + payload.byteLength);
  out[1] = 0x4d;
  out[2] = 0x53;
  out[3] = kind;
  new DataView(out.buffer).setUint32(4, seq >>> 0);
  out.set(payload, FRAME_BYTES);
  return out;
}

function unframe(
  bytes: Uint8Array,
  kind: number,
): { seq: number; payload: Uint8Array } | undefined {
  if (!isFrame(bytes, kind)) return undefined;
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .getUint32(4);
  return { seq, payload: bytes.subarray(FRAME_BYTES) };
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
 * import { frameRequest, unframeRequest } from "./sequence.ts";
 * const framed = frameRequest(7, new TextEncoder().encode("ping"));
 * console.assert(unframeRequest(framed)?.seq === 7);
 * ```
 */
export function frameRequest(seq: number, payload: Uint8Array): Uint8Array {
  return frame(REQUEST, seq, payload);
}

/**
 * Reads a framed request.
 *
 * @param bytes A datagram.
 * @returns Its sequence number and payload, or `undefined` when it has no request frame.
 *
 * @example
 * ```ts
 * import { unframeRequest } from "./sequence.ts";
 * console.assert(unframeRequest(new TextEncoder().encode("plain")) === undefined);
 * ```
 */
export function unframeRequest(
  bytes: Uint8Array,
): { seq: number; payload: Uint8Array } | undefined {
  return unframe(bytes, REQUEST);
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
 * import { frameReply, unframeReply } from "./sequence.ts";
 * console.assert(unframeReply(frameReply(3, new Uint8Array([1])))?.seq === 3);
 * ```
 */
export function frameReply(seq: number, payload: Uint8Array): Uint8Array {
  return frame(REPLY, seq, payload);
}

/**
 * Reads a framed reply.
 *
 * @param bytes A datagram.
 * @returns Its sequence number and payload, or `undefined` when it has no reply frame.
 *
 * @example
 * ```ts
 * import { unframeReply } from "./sequence.ts";
 * console.assert(unframeReply(new Uint8Array(8)) === undefined);
 * ```
 */
export function unframeReply(
  bytes: Uint8Array,
): { seq: number; payload: Uint8Array } | undefined {
  return unframe(bytes, REPLY);
}
