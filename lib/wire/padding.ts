/**
 * Padding for requests that want a larger reply (`send --pad N`). A
 * listener answers with at most three times the bytes it received (QUIC's
 * anti-amplification bound, RFC 9000 section 8.1), so a client that wants a
 * larger reply pads its request, as QUIC pads its Initial packets.
 *
 * @module
 */

import { FRAME_BYTES, FrameKind, frameValue, writeFrame } from "./frame.ts";

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
 * import { padRequest, unpadRequest } from "./padding.ts";
 * const padded = padRequest(new TextEncoder().encode("ping"), 64);
 * assert.equal(padded.byteLength, 64);
 * assert.equal(new TextDecoder().decode(unpadRequest(padded)), "ping");
 * ```
 */
export function padRequest(datagram: Uint8Array, size: number): Uint8Array {
  if (datagram.byteLength >= size) return datagram;
  const out = new Uint8Array(Math.max(size, FRAME_BYTES + datagram.byteLength));
  writeFrame(out, FrameKind.pad, datagram.byteLength);
  out.set(datagram, FRAME_BYTES);
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
 * import { unpadRequest } from "./padding.ts";
 * const plain = new TextEncoder().encode("plain");
 * assert.equal(unpadRequest(plain), plain);
 * ```
 */
export function unpadRequest(bytes: Uint8Array): Uint8Array {
  const length = frameValue(bytes, FrameKind.pad);
  if (length === undefined) return bytes;
  const carried = bytes.byteLength - FRAME_BYTES;
  if (length > carried) {
    throw new SyntaxError(
      `Pad frame claims ${length} bytes but carries ${carried}`,
    );
  }
  return bytes.subarray(FRAME_BYTES, FRAME_BYTES + length);
}
