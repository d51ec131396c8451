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
 * A request may also be padded (`send --pad N`, kind 0x03, see
 * {@linkcode padRequest}) so that a listener may answer it with a larger
 * reply. The leading NUL keeps text payloads from being mistaken for
 * frames. Listeners always understand frames; senders add them only when
 * asked.
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
 * import assert from "node:assert/strict";
 * import { frameRequest, unframeRequest } from "./sequence.ts";
 * const framed = frameRequest(7, new TextEncoder().encode("ping"));
 * assert.equal(unframeRequest(framed)?.seq, 7);
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
 * import assert from "node:assert/strict";
 * import { unframeRequest } from "./sequence.ts";
 * assert.equal(unframeRequest(new TextEncoder().encode("plain")), undefined);
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
 * import assert from "node:assert/strict";
 * import { frameReply, unframeReply } from "./sequence.ts";
 * assert.equal(unframeReply(frameReply(3, new Uint8Array([1])))?.seq, 3);
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
 * import assert from "node:assert/strict";
 * import { unframeReply } from "./sequence.ts";
 * assert.equal(unframeReply(new Uint8Array(8)), undefined);
 * ```
 */
export function unframeReply(
  bytes: Uint8Array,
): { seq: number; payload: Uint8Array } | undefined {
  return unframe(bytes, REPLY);
}

/** Bytes a pad frame adds in front of the datagram it carries. */
export const PAD_HEADER_BYTES = 8;

const PAD = 0x03;

/**
 * Pads a request to at least `size` bytes, so that a listener's reply may
 * be larger: a listener answers with at most three times the bytes it
 * received (QUIC's anti-amplification bound, RFC 9000 section 8.1), so a
 * client that wants a large reply pads its request, as QUIC pads its
 * Initial packets.
 *
 * Frame: `0x00 "M" "S" 0x03 | length of the carried datagram (uint32,
 * big-endian)`, the carried datagram (a sequence frame and payload, or a
 * bare payload), then zero bytes up to `size`. mcast listeners strip it
 * before the codec sees the payload; other peers see a longer datagram. A
 * datagram already `size` bytes or longer is returned as it is.
 *
 * @param datagram The request as it would go out unpadded.
 * @param size The smallest size of the padded request, in bytes.
 * @returns The padded request: `size` bytes, or `datagram` itself when it is long enough.
 *
 * @example Pad a 4-byte request to 64 bytes, and strip the padding
 * ```ts
 * import assert from "node:assert/strict";
 * import { padRequest, unpadRequest } from "./sequence.ts";
 * const padded = padRequest(new TextEncoder().encode("ping"), 64);
 * assert.equal(padded.byteLength, 64);
 * assert.equal(new TextDecoder().decode(unpadRequest(padded)), "ping");
 * ```
 */
export function padRequest(datagram: Uint8Array, size: number): Uint8Array {
  if (datagram.byteLength >= size) return datagram;
  const out = new Uint8Array(
    Math.max(size, PAD_HEADER_BYTES + datagram.byteLength),
  );
  out[1] = 0x4d;
  out[2] = 0x53;
  out[3] = PAD;
  new DataView(out.buffer).setUint32(4, datagram.byteLength);
  out.set(datagram, PAD_HEADER_BYTES);
  return out;
}

/**
 * Strips a pad frame ({@linkcode padRequest}) from a request.
 *
 * @param bytes A datagram.
 * @returns The datagram the frame carries, or `bytes` itself when it has no pad frame.
 * @throws {SyntaxError} when the frame claims more bytes than the datagram holds.
 *
 * @example A datagram without padding comes back as it is
 * ```ts
 * import assert from "node:assert/strict";
 * import { unpadRequest } from "./sequence.ts";
 * const plain = new TextEncoder().encode("plain");
 * assert.equal(unpadRequest(plain), plain);
 * ```
 */
export function unpadRequest(bytes: Uint8Array): Uint8Array {
  if (!isFrame(bytes, PAD)) return bytes;
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4);
  if (length > bytes.byteLength - PAD_HEADER_BYTES) {
    throw new SyntaxError(
      `Pad frame claims ${length} bytes but carries ${
        bytes.byteLength - PAD_HEADER_BYTES
      }`,
    );
  }
  return bytes.subarray(PAD_HEADER_BYTES, PAD_HEADER_BYTES + length);
}
