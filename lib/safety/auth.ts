/**
 * Optional authentication: HMAC-SHA256 over every request and reply, with
 * a timestamp and a nonce, so a listener drops unsigned, forged, stale and
 * replayed datagrams, and a sender knows which replies are genuine.
 *
 * Wire format (all integers big-endian):
 *
 * ```text
 * request: "MCQ1" | time ms (8) | nonce (16) | payload | HMAC (32)
 * reply:   "MCR1" | time ms (8) | nonce (16) | payload | HMAC (32)
 * ```
 *
 * The request HMAC covers everything before it. The reply HMAC covers
 * everything before it and then the request's nonce (not sent again), so a
 * reply only verifies against the request it answers. Both add 60 bytes:
 * a reply is as large as its request when the payloads are.
 *
 * HMAC comes from `node:crypto`, which is synchronous: no promise per
 * datagram on the receive path.
 *
 * @module
 */

import { DEFAULT_AUTH_WINDOW_MS } from "../defaults.ts";
import { createHmac, randomFillSync, timingSafeEqual } from "node:crypto";
import { McastRangeError, McastTypeError } from "../errors.ts";

/** Why a datagram failed authentication. */
export type AuthFailure = "unsigned" | "bad-signature" | "stale" | "replayed";

/** Options for {@linkcode Authenticator}. */
export interface AuthOptions {
  /** How far a timestamp may be from this host's clock, in milliseconds. @default {30000} */
  windowMs?: number;
  /** Nonces remembered to catch replays; the oldest are forgotten first. @default {100000} */
  maxNonces?: number;
}

/** A verified datagram's content. */
export interface Opened {
  /** Always true. */
  ok: true;
  /** The payload inside the envelope. */
  payload: Uint8Array;
  /** The envelope's nonce (a reply must be bound to it). */
  nonce: Uint8Array;
}

/** A datagram that failed. */
export interface Refused {
  /** Always false. */
  ok: false;
  /** Why. */
  reason: AuthFailure;
}

const REQUEST = new TextEncoder().encode("MCQ1");
const REPLY = new TextEncoder().encode("MCR1");
const HEADER = 4 + 8 + 16;
const MAC = 32;

/** Bytes an envelope adds to a payload. */
export const AUTH_OVERHEAD: number = HEADER + MAC;

function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  return bytes[0] === magic[0] && bytes[1] === magic[1] &&
    bytes[2] === magic[2] && bytes[3] === magic[3];
}

/**
 * Whether a datagram looks like a request signed by an mcast sender with
 * a key (`--key-file`): its magic `MCQ1` and room for the envelope. For a
 * listener without a key, which can only say so.
 *
 * @param datagram A received datagram.
 * @returns True when it carries mcast's signature format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Authenticator, isSignedRequest } from "./auth.ts";
 * const sender = new Authenticator(new TextEncoder().encode("a shared secret of 16+ bytes"));
 * assert.ok(isSignedRequest(sender.signRequest(new Uint8Array(3)).datagram));
 * assert.equal(isSignedRequest(new TextEncoder().encode("MCQ1 hello")), false);
 * ```
 */
export function isSignedRequest(datagram: Uint8Array): boolean {
  return datagram.byteLength >= AUTH_OVERHEAD && startsWith(datagram, REQUEST);
}

/**
 * Signs and verifies datagrams with a shared key.
 *
 * @example Sign a request, open it, bind a reply to it
 * ```ts
 * import assert from "node:assert/strict";
 * import { Authenticator } from "./auth.ts";
 * const key = new TextEncoder().encode("a shared secret of 16+ bytes");
 * const listener = new Authenticator(key);
 * const sender = new Authenticator(key);
 * const { datagram, nonce } = sender.signRequest(new TextEncoder().encode("hi"));
 * const opened = listener.openRequest(datagram);
 * assert.ok(opened.ok);
 * assert.deepEqual(opened.payload, new TextEncoder().encode("hi"));
 * assert.deepEqual(listener.openRequest(datagram), { ok: false, reason: "replayed" });
 * const reply = listener.signReply(new TextEncoder().encode("ack"), opened.nonce);
 * assert.ok(sender.openReply(reply, [nonce]).ok);
 * ```
 */
export class Authenticator {
  readonly #key: Uint8Array;
  readonly #windowMs: number;
  readonly #maxNonces: number;
  readonly #seen = new Map<string, number>();

  /**
   * Creates an authenticator.
   *
   * @param key The shared secret, at least 16 bytes.
   * @param options Time window and replay memory.
   * @throws {McastRangeError} `ERR_INVALID_OPTION` for a key shorter than 16 bytes.
   */
  constructor(key: Uint8Array, options: AuthOptions = {}) {
    if (key.byteLength < 16) {
      throw new McastRangeError(
        "ERR_INVALID_OPTION",
        `Invalid key: ${key.byteLength} bytes, need at least 16`,
      );
    }
    this.#key = key;
    this.#windowMs = options.windowMs ?? DEFAULT_AUTH_WINDOW_MS;
    this.#maxNonces = options.maxNonces ?? 100_000;
  }

  #mac(...parts: Uint8Array[]): Uint8Array {
    const hmac = createHmac("sha256", this.#key);
    for (const part of parts) hmac.update(part);
    return new Uint8Array(hmac.digest());
  }

  #seal(magic: Uint8Array, payload: Uint8Array, bound?: Uint8Array) {
    const datagram = new Uint8Array(HEADER + payload.byteLength + MAC);
    datagram.set(magic, 0);
    new DataView(datagram.buffer).setBigUint64(4, BigInt(Date.now()));
    const nonce = datagram.subarray(12, HEADER);
    randomFillSync(nonce);
    datagram.set(payload, HEADER);
    const body = datagram.subarray(0, HEADER + payload.byteLength);
    const mac = bound === undefined ? this.#mac(body) : this.#mac(body, bound);
    datagram.set(mac, HEADER + payload.byteLength);
    return { datagram, nonce: nonce.slice() };
  }

  #check(
    datagram: Uint8Array,
    magic: Uint8Array,
    bound: Uint8Array[] | undefined,
    now: number,
  ): Opened | Refused {
    if (datagram.byteLength < AUTH_OVERHEAD || !startsWith(datagram, magic)) {
      return { ok: false, reason: "unsigned" };
    }
    const end = datagram.byteLength - MAC;
    const body = datagram.subarray(0, end);
    const mac = datagram.subarray(end);
    const valid = bound === undefined
      ? timingSafeEqual(this.#mac(body), mac)
      : bound.some((nonce) => timingSafeEqual(this.#mac(body, nonce), mac));
    if (!valid) return { ok: false, reason: "bad-signature" };
    const view = new DataView(
      datagram.buffer,
      datagram.byteOffset,
      datagram.byteLength,
    );
    const sentAt = Number(view.getBigUint64(4));
    if (Math.abs(now - sentAt) > this.#windowMs) {
      return { ok: false, reason: "stale" };
    }
    const nonce = datagram.slice(12, HEADER);
    return { ok: true, payload: datagram.slice(HEADER, end), nonce };
  }

  /**
   * Wraps a request payload in a signed envelope.
   *
   * @param payload The encoded message.
   * @returns The datagram and its nonce (to verify replies with).
   */
  signRequest(
    payload: Uint8Array,
  ): { datagram: Uint8Array; nonce: Uint8Array } {
    return this.#seal(REQUEST, payload);
  }

  /**
   * Verifies a request: signature, time window, and that its nonce was not
   * seen before.
   *
   * @param datagram What arrived.
   * @param now This host's clock in milliseconds since the epoch.
   * @returns The payload, or why it was refused.
   */
  openRequest(
    datagram: Uint8Array,
    now: number = Date.now(),
  ): Opened | Refused {
    const opened = this.#check(datagram, REQUEST, undefined, now);
    if (!opened.ok) return opened;
    const id = Array.from(opened.nonce, (b) => b.toString(16).padStart(2, "0"))
      .join("");
    // Forget nonces that are out of the window anyway (oldest first).
    for (const [old, at] of this.#seen) {
      if (at >= now - 2 * this.#windowMs && this.#seen.size < this.#maxNonces) {
        break;
      }
      this.#seen.delete(old);
    }
    if (this.#seen.has(id)) return { ok: false, reason: "replayed" };
    this.#seen.set(id, now);
    return opened;
  }

  /**
   * Wraps a reply payload in a signed envelope bound to the request's nonce.
   *
   * @param payload The encoded reply.
   * @param requestNonce The nonce of the request it answers.
   * @returns The datagram.
   */
  signReply(payload: Uint8Array, requestNonce: Uint8Array): Uint8Array {
    return this.#seal(REPLY, payload, requestNonce).datagram;
  }

  /**
   * Verifies a reply against the nonces of the requests it may answer.
   *
   * @param datagram What arrived.
   * @param requestNonces Nonces of this sender's requests, newest first.
   * @param now This host's clock in milliseconds since the epoch.
   * @returns The payload, or why it was refused.
   */
  openReply(
    datagram: Uint8Array,
    requestNonces: Uint8Array[],
    now: number = Date.now(),
  ): Opened | Refused {
    return this.#check(datagram, REPLY, requestNonces, now);
  }
}

/**
 * Reads a shared key from a file; surrounding white space is dropped.
 *
 * @param path The key file.
 * @returns The key bytes.
 * @throws {McastTypeError} `ERR_INVALID_OPTION` naming the file when it cannot be read or is too short.
 *
 * @example
 * ```ts ignore
 * import { readKeyFile } from "./auth.ts";
 * const key = await readKeyFile("./mcast.key");
 * ```
 */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      `Cannot read key file "${path}": ${(error as Error).message}`,
    );
  }
  let start = 0;
  let end = bytes.byteLength;
  const space = (b: number) =>
    b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
  while (start < end && space(bytes[start])) start++;
  while (end > start && space(bytes[end - 1])) end--;
  if (end - start < 16) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      `Key file "${path}" holds ${end - start} bytes; a key needs at least 16`,
    );
  }
  return bytes.slice(start, end);
}
