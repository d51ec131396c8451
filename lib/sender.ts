/**
 * A sender that keeps one socket open between messages: for a client that
 * asks a group again and again (discovery every few seconds, a
 * request/reply loop), one socket, one interface lookup and one set of
 * socket options serve every message, where {@linkcode send} opens and
 * closes them on each call.
 *
 * @module
 */

import { validateGroup } from "./address.ts";
import { Authenticator, type AuthFailure } from "./auth.ts";
import {
  DEFAULT_AUTH_WINDOW_MS,
  DEFAULT_GROUP,
  DEFAULT_PORT,
  DEFAULT_RECEIVE_BYTES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TTL,
} from "./defaults.ts";
import { openDgramTransport } from "./dgram_transport.ts";
import { type Duration, parseDuration } from "./duration.ts";
import { McastRangeError, McastTypeError } from "./errors.ts";
import { resolveInterface } from "./interface.ts";
import { validateCount, validatePort, validateTtl } from "./numbers.ts";
import type { Codec } from "./plugin.ts";
import type { Peer, Transport, TransportFactory } from "./transport.ts";
import { type ResponderSummary, RoundTripStats } from "./round_trip_stats.ts";
import { frameRequest, padRequest, unframeReply } from "./sequence.ts";
import { encodeUtf8 } from "./utf8.ts";

/** Send times remembered to match sequenced replies (a power of two). */
const SENT_WINDOW = 65_536;
/** Request nonces a signed reply may answer. */
const NONCES_KEPT = 256;

/** How a {@linkcode Sender} reaches its group: fixed for the sender's life. */
export interface SenderOptions {
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
  /** Encodes messages and decodes replies; without one, replies are raw bytes. */
  codec?: Codec;
  /** Shared key: requests are signed (HMAC-SHA256) and replies verified. */
  key?: Uint8Array;
  /** How far a signed reply's timestamp may be from this host's clock. @default {30000} */
  authWindow?: Duration;
  /**
   * The largest reply expected whole, in bytes (1-65536). The `node:dgram`
   * transport allocates this much for every reply it receives, so smaller
   * is faster. A larger reply is yielded cut, with `truncated`, and the
   * socket then takes replies up to 64 KiB. Transports that reuse one
   * buffer never cut. @default {16384}
   */
  maxReplyBytes?: number;
  /** Opens the socket. @default the `node:dgram` transport */
  transport?: TransportFactory;
}

/** How one run of {@linkcode Sender.send} sends and how long it waits. */
export interface SendRunOptions {
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
  /**
   * Pad each request to at least this many bytes (0-65507), in a frame
   * mcast listeners strip before decoding. A listener answers with at most
   * three times its request's size (unless it allows more), so a client
   * that wants a larger reply, such as a `status` document, pads its
   * request. Peers that are not mcast see a longer datagram. @default {0}
   */
  pad?: number;
  /** Called after each send with the number sent so far (for progress displays). */
  onSent?: (sent: number) => void;
  /** Stops sending and waiting; the summary still comes. */
  signal?: AbortSignal;
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
  /**
   * The reply was larger than the sender's `maxReplyBytes`: `payload` holds
   * its first bytes, undecoded and unverified. Later replies on the same
   * socket arrive whole.
   */
  truncated?: boolean;
  /** With a key: whether the reply's signature verified against one of this run's requests. */
  verified?: boolean;
  /** With a key: why verification failed. */
  authError?: AuthFailure;
  /**
   * With `sequence`: the request this reply answers, counted from 0 in
   * this run (absent when it answers none of this run's requests).
   */
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

/** What a send run yields: every reply, then one summary. */
export type SendEvent = SendReply | SendSummary;

/** The checked timing of one run. */
interface RunPlan {
  count: number;
  intervalMs: number;
  timeoutMs: number;
  sequence: boolean;
  pad: number;
}

/** The largest UDP payload over IPv4, the most a request can be padded to. */
const MAX_PAD = 65_507;

function planRun(options: SendRunOptions): RunPlan {
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
  const pad = options.pad ?? 0;
  if (!Number.isInteger(pad) || pad < 0 || pad > MAX_PAD) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid pad ${pad}: must be an integer 0-${MAX_PAD} (bytes)`,
    );
  }
  return {
    count,
    intervalMs,
    timeoutMs,
    sequence: options.sequence === true,
    pad,
  };
}

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
  if (typeof message === "string") return encodeUtf8(message);
  throw new McastTypeError(
    "ERR_INVALID_OPTION",
    `Invalid message: without a codec it must be a string or a Uint8Array, got ${typeof message}`,
  );
}

/** The checked, socket-independent part of {@linkcode SenderOptions}. */
interface SenderSetup {
  group: { address: string; family: "IPv4" | "IPv6" };
  port: number;
  ttl: number;
  iface: string | undefined;
  loopback: boolean;
  codec: Codec | undefined;
  auth: Authenticator | undefined;
  maxReplyBytes: number;
  open: TransportFactory;
}

function checkMaxReplyBytes(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65_536) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid max reply bytes ${value}: must be an integer 1-65536`,
    );
  }
  return value;
}

function checkSenderOptions(options: SenderOptions): SenderSetup {
  const group = validateGroup(options.group ?? DEFAULT_GROUP);
  return {
    group,
    port: validatePort(options.port ?? DEFAULT_PORT),
    ttl: validateTtl(options.ttl ?? DEFAULT_TTL),
    iface: options.interface === undefined
      ? undefined
      : resolveInterface(options.interface, group.family),
    loopback: options.loopback ?? true,
    codec: options.codec,
    auth: options.key === undefined ? undefined : new Authenticator(
      options.key,
      {
        windowMs: parseDuration(
          options.authWindow ?? DEFAULT_AUTH_WINDOW_MS,
          "auth window",
        ),
      },
    ),
    maxReplyBytes: checkMaxReplyBytes(
      options.maxReplyBytes ?? DEFAULT_RECEIVE_BYTES,
    ),
    open: options.transport ?? openDgramTransport,
  };
}

/**
 * A socket for sending to one group, kept open between messages. Each
 * {@linkcode Sender.send} call is a run: it sends, yields every reply that
 * arrives before its timeout, then a summary. One run at a time; replies
 * that arrive between runs are dropped. With `sequence`, the numbers go
 * on from run to run, so a late reply to an earlier run is never taken
 * for an answer to this one; with a key, only this run's requests can be
 * answered.
 *
 * @example Ask a group on loopback three times over one socket
 * ```ts ignore
 * import { Sender } from "./sender.ts";
 * await using sender = await Sender.open({ group: "239.1.2.3", interface: "127.0.0.1" });
 * for (let round = 0; round < 3; round++) {
 *   for await (const event of sender.send("who is there?", { timeout: 200 })) {
 *     if (event.event === "reply") console.log(round, event.from, event.rttMs);
 *   }
 * }
 * ```
 */
export class Sender implements AsyncDisposable {
  /** The group's address. */
  readonly group: string;
  /** The group's port. */
  readonly port: number;
  #setup: SenderSetup;
  #transport: Transport;
  #deliver:
    | ((data: Uint8Array, from: Peer, truncated: boolean) => void)
    | undefined;
  #socketError: Error | undefined;
  #wake: (() => void) | undefined;
  #running = false;
  #closed = false;
  /** The next sequence number on the wire (uint32, goes on across runs). */
  #nextSeq = 0;

  private constructor(setup: SenderSetup, transport: Transport) {
    this.#setup = setup;
    this.#transport = transport;
    this.group = setup.group.address;
    this.port = setup.port;
    transport.onError((error) => {
      this.#socketError = error;
      this.#wake?.();
    });
    transport.onDatagram((data, from, truncated) =>
      this.#deliver?.(data, from, truncated === true)
    );
  }

  /**
   * Checks the options, opens the socket and sets its TTL, loopback and
   * interface.
   *
   * @param options Group, port, TTL, interface, codec, key and transport.
   * @returns The open sender; close it (or `await using` it) when done.
   * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
   * @throws {SocketError} when the socket cannot be opened or configured.
   *
   * @example
   * ```ts ignore
   * import { Sender } from "./sender.ts";
   * const sender = await Sender.open({ group: "239.1.2.3", interface: "127.0.0.1" });
   * await sender.close();
   * ```
   */
  static async open(options: SenderOptions = {}): Promise<Sender> {
    const setup = checkSenderOptions(options);
    const transport = await setup.open({
      family: setup.group.family,
      address: setup.group.family === "IPv4" ? "0.0.0.0" : "::",
      port: 0,
      reuseAddress: false,
      receiveBytes: setup.maxReplyBytes,
    });
    try {
      transport.setTtl(setup.ttl);
      transport.setLoopback(setup.loopback);
      if (setup.iface !== undefined) transport.setInterface(setup.iface);
    } catch (error) {
      await transport.close();
      throw error;
    }
    return new Sender(setup, transport);
  }

  /**
   * Sends `count` messages, `interval` apart, and yields each reply as it
   * arrives until `timeout` after the last send; then yields a summary.
   * The options and the message are checked before anything is sent.
   * Breaking out of the loop ends the run; the socket stays open.
   *
   * @param message A value for the codec, or a string / bytes without one.
   * @param options Count, interval or rate, timeout, sequence numbers, abort signal.
   * @returns An async iterator of replies followed by one summary.
   * @throws {McastTypeError} `ERR_SENDER_BUSY` while another run is going
   *   on, `ERR_SENDER_CLOSED` after {@linkcode Sender.close}, or a bad
   *   option or message.
   * @throws {SocketError} when a send fails or the socket reports an error.
   *
   * @example One request, the replies that come within 200 ms
   * ```ts ignore
   * import { Sender } from "./sender.ts";
   * await using sender = await Sender.open({ group: "239.1.2.3", interface: "127.0.0.1" });
   * for await (const event of sender.send("ping", { timeout: 200 })) console.log(event);
   * ```
   */
  async *send(
    message: unknown,
    options: SendRunOptions = {},
  ): AsyncGenerator<SendEvent, void, undefined> {
    if (this.#closed) {
      throw new McastTypeError(
        "ERR_SENDER_CLOSED",
        `The sender to ${this.group} port ${this.port} is closed`,
      );
    }
    if (this.#running) {
      throw new McastTypeError(
        "ERR_SENDER_BUSY",
        `The sender to ${this.group} port ${this.port} is already running a send; wait for its summary`,
      );
    }
    const { count, intervalMs, timeoutMs, sequence, pad } = planRun(options);
    const { codec, auth, group, port } = this.#setup;
    const bytes = encodeMessage(message, codec);
    const { onSent, signal } = options;
    const transport = this.#transport;
    // Nonces of the latest requests, newest first: a reply must answer one.
    const nonces: Uint8Array[] = [];
    // With sequence numbers: when each of the latest requests left.
    const sentAt = new Float64Array(sequence ? SENT_WINDOW : 0);
    const rounds = sequence ? new RoundTripStats() : undefined;
    const firstSeq = this.#nextSeq;
    const queue: SendReply[] = [];
    let lastSentAt = 0;
    let sent = 0;
    let replies = 0;
    let verified = 0;
    const responders = new Set<string>();

    this.#running = true;
    this.#deliver = (data: Uint8Array, from: Peer, truncated: boolean) => {
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
      if (truncated) {
        // Its end is missing: no signature, no frame, no decoding.
        reply.truncated = true;
        if (auth !== undefined) reply.verified = false;
        reply.decodeError =
          `Reply cut at ${data.byteLength} bytes: larger than maxReplyBytes (${this.#setup.maxReplyBytes}); later replies on this socket arrive whole`;
        decodable = false;
      } else if (auth !== undefined) {
        const opened = auth.openReply(copy, nonces);
        reply.verified = opened.ok;
        if (opened.ok) {
          verified++;
          copy = reply.payload = opened.payload;
        } else {
          reply.authError = opened.reason;
          decodable = false;
        }
      }
      if (rounds !== undefined && decodable) {
        const framed = unframeReply(copy);
        if (framed !== undefined) {
          copy = reply.payload = framed.payload;
          const seq = (framed.seq - firstSeq) >>> 0;
          if (seq < sent && sent - seq <= SENT_WINDOW) {
            reply.seq = seq;
            reply.rttMs = Math.round(
              (arrived - sentAt[seq % SENT_WINDOW]) * 1000,
            ) / 1000;
            rounds.reply(from.address, from.port, seq, reply.rttMs);
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
      this.#wake?.();
    };

    try {
      let nextSendAt = performance.now();
      let deadline = Infinity;
      while (true) {
        while (queue.length > 0) {
          const reply = queue.shift()!;
          replies++;
          responders.add(reply.from);
          yield reply;
        }
        this.#throwSocketError();
        if (signal?.aborted || this.#closed) break;
        const now = performance.now();
        if ((count === 0 || sent < count) && now >= nextSendAt) {
          let datagram = sequence
            ? frameRequest((firstSeq + sent) >>> 0, bytes)
            : bytes;
          if (pad > 0) datagram = padRequest(datagram, pad);
          if (auth !== undefined) {
            const signed = auth.signRequest(datagram);
            datagram = signed.datagram;
            nonces.unshift(signed.nonce);
            if (nonces.length > NONCES_KEPT) nonces.pop();
          }
          lastSentAt = performance.now();
          sentAt[sent % SENT_WINDOW] = lastSentAt;
          try {
            await transport.send(datagram, port, group.address);
          } catch (error) {
            if (this.#closed) break;
            throw error;
          }
          sent++;
          if (sequence) this.#nextSeq = (firstSeq + sent) >>> 0;
          onSent?.(sent);
          // On schedule, not from the last send: no drift at high rates;
          // but after a stall, no burst of more than a second's worth.
          nextSendAt = Math.max(nextSendAt + intervalMs, lastSentAt - 1000);
          if (sent === count) deadline = performance.now() + timeoutMs;
          continue;
        }
        if (count !== 0 && sent >= count && now >= deadline) break;
        const wakeAt = count === 0 || sent < count ? nextSendAt : deadline;
        await this.#sleep(Math.max(0, wakeAt - now), signal);
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
      this.#deliver = undefined;
      this.#running = false;
    }
  }

  /**
   * Closes the socket; idempotent. A run still going on stops sending and
   * waiting, and yields its summary.
   *
   * @example
   * ```ts ignore
   * import { Sender } from "./sender.ts";
   * const sender = await Sender.open({ interface: "127.0.0.1" });
   * await sender.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#deliver = undefined;
    this.#wake?.();
    await this.#transport.close();
  }

  /**
   * Same as {@linkcode Sender.close}, for `await using`.
   *
   * @example
   * ```ts ignore
   * import { Sender } from "./sender.ts";
   * await using sender = await Sender.open({ interface: "127.0.0.1" });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #throwSocketError(): void {
    const error = this.#socketError;
    if (error === undefined) return;
    this.#socketError = undefined;
    throw error;
  }

  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done);
      this.#wake = done;
    });
  }
}

/**
 * Checks the options of a run without sending: `send()` uses it to refuse
 * bad timing before it opens a socket.
 *
 * @param options The run's options.
 * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
 *
 * @example
 * ```ts
 * import { checkSendRunOptions } from "./sender.ts";
 * checkSendRunOptions({ count: 3, rate: 10 });
 * ```
 */
export function checkSendRunOptions(options: SendRunOptions): void {
  planRun(options);
}
