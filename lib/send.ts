/**
 * The sending half: multicast a message, then report every reply that
 * arrives before the timeout, since nobody knows how many peers will answer.
 *
 * @module
 */

import { validateGroup } from "./address.ts";
import { Authenticator, type AuthFailure } from "./auth.ts";
import {
  DEFAULT_GROUP,
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TTL,
} from "./defaults.ts";
import { openDgramTransport } from "./dgram_transport.ts";
import { type Duration, parseDuration } from "./duration.ts";
import { McastRangeError, McastTypeError } from "./errors.ts";
import { resolveInterface } from "./interface.ts";
import { validateCount, validatePort, validateTtl } from "./numbers.ts";
import type { Codec } from "./plugin.ts";
import type { Peer, TransportFactory } from "./transport.ts";
import { type ResponderSummary, RoundTripStats } from "./round_trip_stats.ts";
import { frameRequest, unframeReply } from "./sequence.ts";

/** Send times remembered to match sequenced replies (a power of two). */
const SENT_WINDOW = 65_536;
/** Request nonces a signed reply may answer. */
const NONCES_KEPT = 256;

/** Options for {@linkcode send}. */
export interface SendOptions {
  /** The multicast group. @default {"224.3.29.71"} */
  group?: string;
  /** The group's UDP port. @default {10000} */
  port?: number;
  /** Multicast TTL (IPv6: hop limit), 0-255. @default {1} */
  ttl?: number;
  /** Outgoing interface, by address or name. @default the OS's route */
  interface?: string;
  /** Whether this host's own listeners receive the message. @default {true} */
  loopback?: boolean;
  /** How long to wait for replies after the last send. @default {1000} */
  timeout?: Duration;
  /** How many messages to send; 0 sends until `signal` aborts. @default {1} */
  count?: number;
  /** Time between two sends. @default {1000} */
  interval?: Duration;
  /** Messages per second; sets the interval (give one or the other). */
  rate?: number;
  /**
   * Frame each request with a sequence number (listeners frame their reply
   * with it): exact round-trip times and, in the summary, loss,
   * duplicates and reordering per responder. @default {false}
   */
  sequence?: boolean;
  /** Called after each send with the number sent so far (for progress displays). */
  onSent?: (sent: number) => void;
  /** Encodes the message and decodes replies; without one, replies are raw bytes. */
  codec?: Codec;
  /** Shared key: requests are signed (HMAC-SHA256) and replies verified. */
  key?: Uint8Array;
  /** How far a signed reply's timestamp may be from this host's clock. @default {30000} */
  authWindow?: Duration;
  /** Stops sending and waiting; the summary still comes. */
  signal?: AbortSignal;
  /** Opens the socket. @default the `node:dgram` transport */
  transport?: TransportFactory;
}

/** One reply, as it arrived. */
export interface SendReply {
  /** Always `"reply"`. */
  event: "reply";
  /** The responder's address. */
  from: string;
  /** The responder's port. */
  port: number;
  /** Time from the latest send to this reply, in milliseconds. */
  rttMs: number;
  /** Reply size in bytes. */
  size: number;
  /** The decoded reply, or raw bytes when there is no codec or it did not decode. */
  payload: unknown;
  /** Why the reply did not decode, when it did not. */
  decodeError?: string;
  /** With a key: whether the reply's signature verified against one of this run's requests. */
  verified?: boolean;
  /** With a key: why verification failed. */
  authError?: AuthFailure;
  /** With `sequence`: the sequence number of the request this reply answers. */
  seq?: number;
}

/** The end of a run. */
export interface SendSummary {
  /** Always `"summary"`. */
  event: "summary";
  /** Messages sent. */
  sent: number;
  /** Replies received. */
  replies: number;
  /** Distinct responder addresses. */
  responders: number;
  /** With a key: replies whose signature verified. */
  verified?: number;
  /** With `sequence`: loss, duplicates, reordering and round-trip times per responder. */
  perResponder?: ResponderSummary[];
}

/** What {@linkcode send} yields: every reply, then one summary. */
export type SendEvent = SendReply | SendSummary;

function encodeMessage(message: unknown, codec: Codec | undefined): Uint8Array {
  if (codec !== undefined) {
    const bytes = codec.encode(message);
    if (!(bytes instanceof Uint8Array)) {
      throw new McastTypeError(
        "ERR_INVALID_OPTION",
        `Codec "${codec.name}" returned no bytes for the message`,
      );
    }
    return bytes;
  }
  if (message instanceof Uint8Array) return message;
  if (typeof message === "string") return new TextEncoder().encode(message);
  throw new McastTypeError(
    "ERR_INVALID_OPTION",
    `Invalid message: without a codec it must be a string or a Uint8Array, got ${typeof message}`,
  );
}

/**
 * Sends `count` messages to a group, `interval` apart, and yields each
 * reply as it arrives until `timeout` after the last send; then yields a
 * summary. All options are checked before any socket opens. Breaking out
 * of the loop closes the socket.
 *
 * @param message The message: a value for the codec, or a string / bytes without one.
 * @param options Group, port, TTL, interface, timing and codec.
 * @returns An async iterator of replies followed by one summary.
 * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
 * @throws {SocketError} when the socket cannot be opened or the send fails.
 *
 * @example Ask a group on loopback who is there
 * ```ts ignore
 * import { send } from "./send.ts";
 * for await (const event of send("hello", { group: "239.1.2.3", interface: "127.0.0.1" })) {
 *   if (event.event === "reply") console.log(event.from, event.rttMs, event.payload);
 *   else console.log(`${event.replies} replies`);
 * }
 * ```
 */
export async function* send(
  message: unknown,
  options: SendOptions = {},
): AsyncGenerator<SendEvent, void, undefined> {
  const group = validateGroup(options.group ?? DEFAULT_GROUP);
  const port = validatePort(options.port ?? DEFAULT_PORT);
  const ttl = validateTtl(options.ttl ?? DEFAULT_TTL);
  const count = validateCount(options.count ?? 1);
  const timeoutMs = parseDuration(
    options.timeout ?? DEFAULT_TIMEOUT_MS,
    "timeout",
  );
  if (options.rate !== undefined && options.interval !== undefined) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      "Give a rate or an interval, not both",
    );
  }
  const rate = options.rate;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid rate ${rate}: must be a number of messages per second > 0`,
    );
  }
  const intervalMs = rate !== undefined
    ? 1000 / rate
    : parseDuration(options.interval ?? 1000, "interval");
  const sequence = options.sequence === true;
  const onSent = options.onSent;
  const iface = options.interface === undefined
    ? undefined
    : resolveInterface(options.interface, group.family);
  const codec = options.codec;
  const bytes = encodeMessage(message, codec);
  const signal = options.signal;
  const auth = options.key === undefined ? undefined : new Authenticator(
    options.key,
    { windowMs: parseDuration(options.authWindow ?? 30_000, "auth window") },
  );
  // Nonces of the latest requests, newest first: a reply must answer one.
  const nonces: Uint8Array[] = [];
  // With sequence numbers: when each of the latest requests left.
  const sentAt = new Float64Array(sequence ? SENT_WINDOW : 0);
  const rounds = sequence ? new RoundTripStats() : undefined;

  const open = options.transport ?? openDgramTransport;
  const transport = await open({
    family: group.family,
    address: group.family === "IPv4" ? "0.0.0.0" : "::",
    port: 0,
    reuseAddress: false,
  });
  const queue: SendReply[] = [];
  let wake: (() => void) | undefined;
  let lastSentAt = 0;
  let sent = 0;
  let replies = 0;
  let verified = 0;
  const responders = new Set<string>();
  let socketError: Error | undefined;

  try {
    transport.setTtl(ttl);
    transport.setLoopback(options.loopback ?? true);
    if (iface !== undefined) transport.setInterface(iface);
    transport.onError((error) => {
      socketError = error;
      wake?.();
    });
    transport.onDatagram((data: Uint8Array, from: Peer) => {
      const arrived = performance.now();
      const rttMs = Math.round((arrived - lastSentAt) * 1000) / 1000;
      let copy = transport.reusesBuffers ? data.slice() : data;
      const reply: SendReply = {
        event: "reply",
        from: from.address,
        port: from.port,
        rttMs,
        size: data.byteLength,
        payload: copy,
      };
      let decodable = true;
      if (auth !== undefined) {
        const opened = auth.openReply(copy, nonces);
        reply.verified = opened.ok;
        if (opened.ok) verified++;
        if (opened.ok) copy = reply.payload = opened.payload;
        else {
          reply.authError = opened.reason;
          decodable = false;
        }
      }
      if (rounds !== undefined && decodable) {
        const framed = unframeReply(copy);
        if (framed !== undefined) {
          copy = reply.payload = framed.payload;
          reply.seq = framed.seq;
          if (sent - framed.seq <= SENT_WINDOW && framed.seq < sent) {
            reply.rttMs = Math.round(
              (arrived - sentAt[framed.seq % SENT_WINDOW]) * 1000,
            ) / 1000;
            rounds.reply(from.address, from.port, framed.seq, reply.rttMs);
          }
        }
      }
      if (codec !== undefined && decodable) {
        try {
          reply.payload = codec.decode(copy);
        } catch (error) {
          reply.decodeError = error instanceof Error
            ? error.message
            : String(error);
        }
      }
      queue.push(reply);
      wake?.();
    });

    let nextSendAt = performance.now();
    let deadline = Infinity;
    while (true) {
      while (queue.length > 0) {
        const reply = queue.shift()!;
        replies++;
        responders.add(reply.from);
        yield reply;
      }
      if (socketError !== undefined) throw socketError;
      if (signal?.aborted) break;
      const now = performance.now();
      if ((count === 0 || sent < count) && now >= nextSendAt) {
        let datagram = sequence ? frameRequest(sent, bytes) : bytes;
        if (auth !== undefined) {
          const signed = auth.signRequest(datagram);
          datagram = signed.datagram;
          nonces.unshift(signed.nonce);
          if (nonces.length > NONCES_KEPT) nonces.pop();
        }
        lastSentAt = performance.now();
        sentAt[sent % SENT_WINDOW] = lastSentAt;
        await transport.send(datagram, port, group.address);
        sent++;
        onSent?.(sent);
        // On schedule, not from the last send: no drift at high rates; but
        // after a stall, no burst of more than a second's worth.
        nextSendAt = Math.max(nextSendAt + intervalMs, lastSentAt - 1000);
        if (sent === count) deadline = performance.now() + timeoutMs;
        continue;
      }
      if (count !== 0 && sent >= count && now >= deadline) break;
      const wakeAt = count === 0 || sent < count ? nextSendAt : deadline;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, wakeAt - now));
        signal?.addEventListener("abort", done);
        wake = done;
      });
    }
    while (queue.length > 0) {
      const reply = queue.shift()!;
      replies++;
      responders.add(reply.from);
      yield reply;
    }
    const summary: SendSummary = {
      event: "summary",
      sent,
      replies,
      responders: responders.size,
    };
    if (auth !== undefined) summary.verified = verified;
    if (rounds !== undefined) summary.perResponder = rounds.summary(sent);
    yield summary;
  } finally {
    await transport.close();
  }
}
