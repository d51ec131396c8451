/**
 * The 8-byte header mcast puts in front of a datagram it frames:
 *
 * ```text
 * 0x00 "M" "S" kind | value (uint32, big-endian)
 * ```
 *
 * The kind says what the value is: a request's or a reply's sequence
 * number (`sequence.ts`), the length of a padded request (`padding.ts`),
 * or the sequence number of an `mcast mesh` datagram (`lib/mesh/`: probe,
 * answer, row, goodbye). The leading NUL keeps text payloads from being
 * mistaken for frames.
 *
 * @module
 */

/** Bytes a frame header takes. */
export const FRAME_BYTES = 8;

/** The kinds of frame. */
export const FrameKind = {
  /** A request's sequence number (`send --seq`). */
  request: 0x01,
  /** The sequence number of the request a reply answers. */
  reply: 0x02,
  /** The length of the request a padded datagram carries (`send --pad`). */
  pad: 0x03,
  /** A mesh probe's sequence number (multicast or unicast; `lib/mesh/wire.ts`). */
  meshProbe: 0x04,
  /** The sequence number of the mesh probe an answer answers. */
  meshAnswer: 0x05,
  /** The number of the round a mesh row (one chunk of it) reports. */
  meshRow: 0x06,
  /** The last probe a mesh node sent before it stopped. */
  meshGoodbye: 0x07,
} as const;

/**
 * Writes a frame header at the start of `out`.
 *
 * @param out At least {@linkcode FRAME_BYTES} long; the rest is the caller's.
 * @param kind One of {@linkcode FrameKind}.
 * @param value The header's number (wraps at 2^32).
 */
export function writeFrame(out: Uint8Array, kind: number, value: number): void {
  out[0] = 0;
  out[1] = 0x4d;
  out[2] = 0x53;
  out[3] = kind;
  // Byte by byte: a DataView made per frame cost ~200 ns here, the
  // stores ~10 (a frame is written per request and per reply).
  out[4] = value >>> 24;
  out[5] = (value >>> 16) & 0xff;
  out[6] = (value >>> 8) & 0xff;
  out[7] = value & 0xff;
}

/**
 * Reads the number of a frame of `kind` at the start of `bytes`.
 *
 * @param bytes A datagram.
 * @param kind The kind expected.
 * @returns The header's number, or `undefined` when `bytes` has no such frame.
 */
export function frameValue(
  bytes: Uint8Array,
  kind: number,
): number | undefined {
  if (
    bytes.byteLength < FRAME_BYTES || bytes[0] !== 0 || bytes[1] !== 0x4d ||
    bytes[2] !== 0x53 || bytes[3] !== kind
  ) return undefined;
  return ((bytes[4] << 24) | (bytes[5] << 16) | (bytes[6] << 8) | bytes[7]) >>>
    0;
}

/**
 * Tells whether a datagram is one of `mcast mesh`'s (a probe, answer, row
 * or goodbye), which a listener neither decodes nor answers.
 *
 * @param bytes A datagram (after any signature envelope is opened).
 * @returns True for a frame of kind 0x04-0x07.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FRAME_BYTES, FrameKind, isMeshFrame, writeFrame } from "./frame.ts";
 * const probe = new Uint8Array(FRAME_BYTES);
 * writeFrame(probe, FrameKind.meshProbe, 1);
 * assert.ok(isMeshFrame(probe));
 * writeFrame(probe, FrameKind.request, 1);
 * assert.equal(isMeshFrame(probe), false);
 * ```
 */
export function isMeshFrame(bytes: Uint8Array): boolean {
  return bytes.byteLength >= FRAME_BYTES && bytes[0] === 0 &&
    bytes[1] === 0x4d && bytes[2] === 0x53 &&
    bytes[3] >= FrameKind.meshProbe && bytes[3] <= FrameKind.meshGoodbye;
}
