/**
 * The datagrams of `mcast mesh`, in mcast's 8-byte frame (`lib/wire/frame.ts`)
 * with the header's number as the sequence number:
 *
 * ```text
 * probe   0x04 | seq     | version 1, flags (bit 0: unicast) | run id (8) | interval ms (u32)
 * answer  0x05 | seq     | version 1, flags (bit 0: unicast) | the prober's run id (8)
 * row     0x06 | round   | version 1, flags (bit 1: IPv6,    | run id (8) | interval ms (u32)
 *                        |   bit 2: final)
 *                        | chunk (u16), chunks (u16) | entries (rows.ts)
 * goodbye 0x07 | last seq| version 1, flags 0                | run id (8)
 * ```
 *
 * A run id is drawn at random when a node starts, so a node restarted on
 * the same address is a new run, counted afresh. An answer is smaller
 * than the probe it answers (18 bytes against 22), so a mesh node never
 * amplifies. A row is cut into chunks of at most
 * {@linkcode MAX_MESH_DATAGRAM_BYTES}.
 *
 * @module
 */

import { FRAME_BYTES, FrameKind, writeFrame } from "../wire/frame.ts";
import type { Family } from "../address.ts";
import { entryBytes, readEntry, type RowEntry, writeEntry } from "./rows.ts";

/** The version of the mesh datagrams this code speaks. */
export const MESH_VERSION = 1;

/** The largest datagram a mesh sends, signature included (rows are cut to fit). */
export const MAX_MESH_DATAGRAM_BYTES = 1400;

/** How a probe travelled: to the group, or to one peer's address. */
export type ProbeVia = "multicast" | "unicast";

/** A numbered probe. */
export interface MeshProbe {
  /** Always `"probe"`. */
  kind: "probe";
  /** Its number, from 1, per `via`. */
  seq: number;
  /** Whether it went to the group or to one peer. */
  via: ProbeVia;
  /** The sender's run. */
  runId: string;
  /** The sender's probe interval in milliseconds. */
  intervalMs: number;
}

/** An answer to a probe, sent back to the prober's address. */
export interface MeshAnswer {
  /** Always `"answer"`. */
  kind: "answer";
  /** The number of the probe it answers. */
  seq: number;
  /** How that probe travelled. */
  via: ProbeVia;
  /** The prober's run (an answer to an earlier run is not counted). */
  runId: string;
}

/** One chunk of a node's row. */
export interface MeshRowChunk {
  /** Always `"row"`. */
  kind: "row";
  /** The sender's round (its probe count) when it made the row. */
  round: number;
  /** The sender's run. */
  runId: string;
  /** The sender's probe interval in milliseconds. */
  intervalMs: number;
  /** This chunk's index, from 0. */
  chunk: number;
  /** How many chunks the row has. */
  chunks: number;
  /** The family of the entries' addresses. */
  family: Family;
  /**
   * True once the sender has sent its last probe (it waits before it
   * stops): probe `round` left an interval ago or more, so a receiver
   * that missed it counts it as lost.
   */
  final: boolean;
  /** The entries in this chunk. */
  entries: RowEntry[];
}

/** A node's last word when it stops cleanly. */
export interface MeshGoodbye {
  /** Always `"goodbye"`. */
  kind: "goodbye";
  /** The number of its last probe. */
  seq: number;
  /** The sender's run. */
  runId: string;
}

/** Any mesh datagram, decoded. */
export type MeshDatagram = MeshProbe | MeshAnswer | MeshRowChunk | MeshGoodbye;

const HEAD = FRAME_BYTES + 2 + 8;
const PROBE_BYTES = HEAD + 4;
const ANSWER_BYTES = HEAD;
const ROW_HEAD = HEAD + 4 + 2 + 2;
const UNICAST = 1;
const IPV6 = 2;
const FINAL = 4;

/**
 * A new run id: 8 random bytes as 16 hex digits.
 *
 * @returns The run id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newRunId } from "./wire.ts";
 * assert.match(newRunId(), /^[0-9a-f]{16}$/);
 * ```
 */
export function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function head(
  size: number,
  kind: number,
  seq: number,
  flags: number,
  runId: string,
) {
  const out = new Uint8Array(size);
  writeFrame(out, kind, seq);
  out[FRAME_BYTES] = MESH_VERSION;
  out[FRAME_BYTES + 1] = flags;
  for (let i = 0; i < 8; i++) {
    out[FRAME_BYTES + 2 + i] = parseInt(runId.slice(2 * i, 2 * i + 2), 16);
  }
  return { out, view: new DataView(out.buffer) };
}

/**
 * Encodes a probe.
 *
 * @param probe The probe (without `kind`).
 * @returns The datagram (22 bytes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMeshDatagram, encodeProbe } from "./wire.ts";
 * const bytes = encodeProbe({ seq: 7, via: "unicast", runId: "0123456789abcdef", intervalMs: 1000 });
 * assert.deepEqual(decodeMeshDatagram(bytes), {
 *   kind: "probe", seq: 7, via: "unicast", runId: "0123456789abcdef", intervalMs: 1000,
 * });
 * ```
 */
export function encodeProbe(probe: Omit<MeshProbe, "kind">): Uint8Array {
  const flags = probe.via === "unicast" ? UNICAST : 0;
  const { out, view } = head(
    PROBE_BYTES,
    FrameKind.meshProbe,
    probe.seq,
    flags,
    probe.runId,
  );
  view.setUint32(HEAD, Math.min(0xffff_ffff, Math.round(probe.intervalMs)));
  return out;
}

/**
 * Encodes an answer.
 *
 * @param answer The answer (without `kind`).
 * @returns The datagram (18 bytes: smaller than any probe).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMeshDatagram, encodeAnswer } from "./wire.ts";
 * const bytes = encodeAnswer({ seq: 7, via: "multicast", runId: "0123456789abcdef" });
 * assert.equal(bytes.byteLength, 18);
 * assert.equal(decodeMeshDatagram(bytes).kind, "answer");
 * ```
 */
export function encodeAnswer(answer: Omit<MeshAnswer, "kind">): Uint8Array {
  const flags = answer.via === "unicast" ? UNICAST : 0;
  return head(
    ANSWER_BYTES,
    FrameKind.meshAnswer,
    answer.seq,
    flags,
    answer.runId,
  )
    .out;
}

/**
 * Encodes a goodbye.
 *
 * @param goodbye The goodbye (without `kind`).
 * @returns The datagram.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMeshDatagram, encodeGoodbye } from "./wire.ts";
 * const bytes = encodeGoodbye({ seq: 30, runId: "0123456789abcdef" });
 * assert.deepEqual(decodeMeshDatagram(bytes), { kind: "goodbye", seq: 30, runId: "0123456789abcdef" });
 * ```
 */
export function encodeGoodbye(goodbye: Omit<MeshGoodbye, "kind">): Uint8Array {
  return head(
    ANSWER_BYTES,
    FrameKind.meshGoodbye,
    goodbye.seq,
    0,
    goodbye.runId,
  )
    .out;
}

/** What a row needs besides its entries. */
export interface RowHeader {
  /** The sender's round. */
  round: number;
  /** The sender's run. */
  runId: string;
  /** The sender's probe interval in milliseconds. */
  intervalMs: number;
  /** The family of the entries' addresses. */
  family: Family;
  /** Whether the sender has sent its last probe. */
  final: boolean;
}

/**
 * Encodes a row as chunks of at most `maxBytes` each (at least one chunk,
 * even for a row without entries: it still says the node is there).
 *
 * @param header Round, run, interval and family.
 * @param entries The row's entries.
 * @param maxBytes The largest chunk (the room a signature takes already deducted).
 * @returns The chunks.
 * @throws {RangeError} when not even one entry fits in `maxBytes`.
 *
 * @example A row of 60 IPv4 entries in chunks of at most 1,400 bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRow } from "./wire.ts";
 * import type { RowEntry } from "./rows.ts";
 * const entry = (i: number): RowEntry => ({
 *   from: `10.77.1.${i + 1}`, to: "10.77.0.1",
 *   multicast: { received: 9, expected: 10, joinMissed: 1, duplicates: 0, reordered: 0 },
 *   unicast: { received: 10, expected: 10 },
 *   probedSince: 1,
 *   rtt: { multicast: { p50: 0.2, p99: 0.5 }, unicast: null },
 *   left: null,
 * });
 * const header = {
 *   round: 10, runId: "0123456789abcdef", intervalMs: 1000, family: "IPv4" as const, final: false,
 * };
 * const chunks = encodeRow(header, Array.from({ length: 60 }, (_, i) => entry(i)), 1400);
 * assert.equal(chunks.length, 3);
 * assert.ok(chunks.every((chunk) => chunk.byteLength <= 1400));
 * ```
 */
export function encodeRow(
  header: RowHeader,
  entries: readonly RowEntry[],
  maxBytes: number,
): Uint8Array[] {
  const size = entryBytes(header.family);
  const perChunk = Math.floor((maxBytes - ROW_HEAD) / size);
  if (perChunk < 1) {
    throw new RangeError(`A row chunk of ${maxBytes} bytes holds no entry`);
  }
  const chunks = Math.max(1, Math.ceil(entries.length / perChunk));
  const out: Uint8Array[] = [];
  for (let chunk = 0; chunk < chunks; chunk++) {
    const part = entries.slice(chunk * perChunk, (chunk + 1) * perChunk);
    const { out: bytes, view } = head(
      ROW_HEAD + part.length * size,
      FrameKind.meshRow,
      header.round,
      (header.family === "IPv6" ? IPV6 : 0) | (header.final ? FINAL : 0),
      header.runId,
    );
    view.setUint32(HEAD, Math.min(0xffff_ffff, Math.round(header.intervalMs)));
    view.setUint16(HEAD + 4, chunk);
    view.setUint16(HEAD + 6, chunks);
    part.forEach((entry, i) =>
      writeEntry(view, ROW_HEAD + i * size, header.family, entry)
    );
    out.push(bytes);
  }
  return out;
}

function readRunId(bytes: Uint8Array): string {
  let text = "";
  for (let i = FRAME_BYTES + 2; i < HEAD; i++) {
    text += bytes[i].toString(16).padStart(2, "0");
  }
  return text;
}

function need(bytes: Uint8Array, size: number, what: string): void {
  if (bytes.byteLength < size) {
    throw new SyntaxError(
      `A mesh ${what} of ${bytes.byteLength} bytes is cut short: it needs ${size}`,
    );
  }
}

function decodeRow(
  bytes: Uint8Array,
  view: DataView,
  seq: number,
  runId: string,
): MeshRowChunk {
  need(bytes, ROW_HEAD, "row");
  const family: Family = (bytes[FRAME_BYTES + 1] & IPV6) !== 0
    ? "IPv6"
    : "IPv4";
  const size = entryBytes(family);
  const room = bytes.byteLength - ROW_HEAD;
  if (room % size !== 0) {
    throw new SyntaxError(
      `A mesh row of ${bytes.byteLength} bytes does not hold whole ${family} entries of ${size} bytes (cut or padded)`,
    );
  }
  const chunk = view.getUint16(HEAD + 4);
  const chunks = view.getUint16(HEAD + 6);
  if (chunk >= chunks) {
    throw new SyntaxError(`A mesh row chunk ${chunk} of ${chunks} chunks`);
  }
  const entries: RowEntry[] = [];
  for (let at = ROW_HEAD; at < bytes.byteLength; at += size) {
    entries.push(readEntry(view, at, family));
  }
  return {
    kind: "row",
    round: seq,
    runId,
    intervalMs: view.getUint32(HEAD),
    chunk,
    chunks,
    family,
    final: (bytes[FRAME_BYTES + 1] & FINAL) !== 0,
    entries,
  };
}

/**
 * Decodes a mesh datagram (after any signature envelope is opened).
 *
 * @param bytes The datagram.
 * @returns What it is.
 * @throws {SyntaxError} naming what is wrong, for anything that is not a
 *   whole mesh datagram of this version.
 *
 * @example A truncated probe is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMeshDatagram, encodeProbe } from "./wire.ts";
 * const probe = encodeProbe({ seq: 1, via: "multicast", runId: "0123456789abcdef", intervalMs: 1000 });
 * assert.throws(() => decodeMeshDatagram(probe.subarray(0, 12)), SyntaxError);
 * assert.throws(() => decodeMeshDatagram(new TextEncoder().encode("hello")), /not a mesh datagram/);
 * ```
 */
export function decodeMeshDatagram(bytes: Uint8Array): MeshDatagram {
  if (
    bytes.byteLength < FRAME_BYTES || bytes[0] !== 0 || bytes[1] !== 0x4d ||
    bytes[2] !== 0x53 || bytes[3] < FrameKind.meshProbe ||
    bytes[3] > FrameKind.meshGoodbye
  ) {
    throw new SyntaxError(
      `A datagram of ${bytes.byteLength} bytes that is not a mesh datagram`,
    );
  }
  need(bytes, HEAD, "datagram");
  if (bytes[FRAME_BYTES] !== MESH_VERSION) {
    throw new SyntaxError(
      `A mesh datagram of version ${
        bytes[FRAME_BYTES]
      }: this node speaks version ${MESH_VERSION}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getUint32(4);
  if (seq === 0) throw new SyntaxError("A mesh datagram numbered 0");
  const runId = readRunId(bytes);
  const via: ProbeVia = (bytes[FRAME_BYTES + 1] & UNICAST) !== 0
    ? "unicast"
    : "multicast";
  switch (bytes[3]) {
    case FrameKind.meshProbe:
      need(bytes, PROBE_BYTES, "probe");
      return {
        kind: "probe",
        seq,
        via,
        runId,
        intervalMs: view.getUint32(HEAD),
      };
    case FrameKind.meshAnswer:
      return { kind: "answer", seq, via, runId };
    case FrameKind.meshRow:
      return decodeRow(bytes, view, seq, runId);
    default:
      return { kind: "goodbye", seq, runId };
  }
}
