/**
 * Reads what `tcpdump -w FILE` wrote (the classic pcap format, Ethernet
 * frames) into UDP datagrams with their capture times and payloads, for
 * tests that hold mcast's figures to what crossed the wire: which request
 * left when, which reply came back when, in which order.
 *
 * @module
 */

/** One IPv4 UDP datagram as captured. */
export interface CapturedDatagram {
  /** When it was captured, in milliseconds (the capture's clock). */
  atMs: number;
  /** Source address. */
  src: string;
  /** Source port. */
  srcPort: number;
  /** Destination address. */
  dst: string;
  /** Destination port. */
  dstPort: number;
  /** The UDP payload (as much as was captured). */
  payload: Uint8Array;
}

/** The pcap magic numbers: microsecond and nanosecond time stamps. */
const MICROS = 0xa1b2c3d4;
const NANOS = 0xa1b23c4d;
/** Link types: Ethernet, and Linux "cooked" captures (`-i any`). */
const ETHERNET = 1;
const LINUX_SLL = 113;

/**
 * The IPv4 UDP datagrams in a pcap file's bytes, in capture order (other
 * frames are skipped).
 *
 * @param bytes The file's contents.
 * @returns The datagrams.
 * @throws {SyntaxError} when the bytes are not a pcap file of a known link type.
 *
 * @example An empty capture
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPcap } from "./pcap.ts";
 * const header = new Uint8Array(24);
 * const view = new DataView(header.buffer);
 * view.setUint32(0, 0xa1b2c3d4, true);
 * view.setUint32(20, 1, true); // Ethernet
 * assert.deepEqual(readPcap(header), []);
 * ```
 */
export function readPcap(bytes: Uint8Array): CapturedDatagram[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 24) {
    throw new SyntaxError("Not a pcap file: too short");
  }
  let little = true;
  let magic = view.getUint32(0, true);
  if (magic !== MICROS && magic !== NANOS) {
    little = false;
    magic = view.getUint32(0, false);
  }
  if (magic !== MICROS && magic !== NANOS) {
    throw new SyntaxError(`Not a pcap file: magic ${magic.toString(16)}`);
  }
  const fraction = magic === NANOS ? 1e6 : 1e3;
  const link = view.getUint32(20, little);
  if (link !== ETHERNET && link !== LINUX_SLL) {
    throw new SyntaxError(`Unknown pcap link type ${link}`);
  }
  const datagrams: CapturedDatagram[] = [];
  let at = 24;
  while (at + 16 <= bytes.byteLength) {
    const seconds = view.getUint32(at, little);
    const part = view.getUint32(at + 4, little);
    const length = view.getUint32(at + 8, little);
    const frame = bytes.subarray(at + 16, at + 16 + length);
    at += 16 + length;
    const ip = link === ETHERNET ? ipOfEthernet(frame) : ipOfCooked(frame);
    if (ip === undefined) continue;
    const udp = udpOf(ip);
    if (udp !== undefined) {
      datagrams.push({ atMs: seconds * 1000 + part / fraction, ...udp });
    }
  }
  return datagrams;
}

/** The IPv4 packet in an Ethernet frame (one VLAN tag allowed). */
function ipOfEthernet(frame: Uint8Array): Uint8Array | undefined {
  let type = (frame[12] << 8) | frame[13];
  let start = 14;
  if (type === 0x8100) {
    type = (frame[16] << 8) | frame[17];
    start = 18;
  }
  return type === 0x0800 ? frame.subarray(start) : undefined;
}

/** The IPv4 packet in a Linux cooked frame. */
function ipOfCooked(frame: Uint8Array): Uint8Array | undefined {
  const type = (frame[14] << 8) | frame[15];
  return type === 0x0800 ? frame.subarray(16) : undefined;
}

/** The UDP datagram in an IPv4 packet, when it is one. */
function udpOf(
  ip: Uint8Array,
): Omit<CapturedDatagram, "atMs"> | undefined {
  if (ip.byteLength < 20 || ip[0] >> 4 !== 4 || ip[9] !== 17) return undefined;
  const header = (ip[0] & 0x0f) * 4;
  const udp = ip.subarray(header);
  if (udp.byteLength < 8) return undefined;
  const address = (at: number) => [...ip.subarray(at, at + 4)].join(".");
  const length = (udp[4] << 8) | udp[5];
  return {
    src: address(12),
    dst: address(16),
    srcPort: (udp[0] << 8) | udp[1],
    dstPort: (udp[2] << 8) | udp[3],
    payload: udp.subarray(8, Math.min(length, udp.byteLength)),
  };
}
