/**
 * One run of a `Sender`: the requests it sends (framed, padded, signed)
 * and the replies it reads back (cut, verified, matched to a request,
 * decoded), with the counters its summary reports.
 *
 * @module
 */

import type { Authenticator } from "../safety/auth.ts";
import { errorText } from "../errors.ts";
import type { Codec } from "../plugin.ts";
import { RoundTripStats } from "./round_trip_stats.ts";
import { padRequest } from "../wire/padding.ts";
import { frameRequest, unframeReply } from "../wire/sequence.ts";
import { NumberedBurst } from "./numbered_burst.ts";
import type { Peer } from "../transports/transport.ts";
import type { SendReply, SendSummary } from "./events.ts";
import type { Expectation } from "./expectation.ts";

/** Send times remembered to match sequenced replies (a power of two). */
const SENT_WINDOW = 65_536;
/** Request nonces a signed reply may answer. */
const NONCES_KEPT = 256;

/** What a run needs from its sender and its options. */
export interface RunSetup {
  /** The encoded message. */
  bytes: Uint8Array;
  /** Decodes replies. */
  codec: Codec | undefined;
  /** Signs requests and verifies replies. */
  auth: Authenticator | undefined;
  /** Whether requests carry sequence numbers. */
  sequence: boolean;
  /** The size requests are padded to (0: none). */
  pad: number;
  /** The first sequence number on the wire. */
  firstSeq: number;
  /** The receive size of the socket, for the message of a cut reply. */
  replyBytes: number;
  /** Who must answer (`expect`, `expectFrom`), when anyone must. */
  expectation?: Expectation;
}

/** The state of one run; the sender drives it. */
export class SendRun {
  /** Replies read and not yet yielded, oldest first. */
  readonly queue: SendReply[] = [];
  /** Requests sent. */
  sent = 0;
  #setup: RunSetup;
  // Nonces of the latest requests, newest first: a reply must answer one.
  #nonces: Uint8Array[] = [];
  // With sequence numbers: when each of the latest requests left.
  #sentAt: Float64Array;
  #rounds = new RoundTripStats();
  #lastSentAt = 0;
  #numbered: NumberedBurst | undefined;
  #replies = 0;
  #verified = 0;
  #responders = new Set<string>();

  /** Starts a run. */
  constructor(setup: RunSetup) {
    this.#setup = setup;
    this.#sentAt = new Float64Array(setup.sequence ? SENT_WINDOW : 0);
  }

  /** The next request's datagram: framed, padded and signed as asked. */
  nextRequest(): Uint8Array {
    const { bytes, sequence, pad, auth, firstSeq } = this.#setup;
    let datagram = sequence
      ? frameRequest((firstSeq + this.sent) >>> 0, bytes)
      : bytes;
    if (pad > 0) datagram = padRequest(datagram, pad);
    if (auth === undefined) return datagram;
    const signed = auth.signRequest(datagram);
    this.#nonces.unshift(signed.nonce);
    if (this.#nonces.length > NONCES_KEPT) this.#nonces.pop();
    return signed.datagram;
  }

  /**
   * The next `count` requests, noted as leaving at `now` (as
   * {@linkcode SendRun.sending} and {@linkcode SendRun.nextRequest} one
   * by one would); `sent` is left as it was, for the caller to add what
   * left. Without padding or signature nothing is built per request: the
   * message itself, `count` times, or numbered requests from one reused
   * buffer ({@linkcode NumberedBurst}), valid until the next call.
   */
  nextBurst(count: number, now: number): Uint8Array[] {
    const { bytes, sequence, pad, auth, firstSeq } = this.#setup;
    const first = this.sent;
    if (pad === 0 && auth === undefined) {
      // Nothing reads the state between these requests: one round for all.
      this.#setup.expectation?.newRound();
      this.#lastSentAt = now;
      if (!sequence) return new Array<Uint8Array>(count).fill(bytes);
      const sentAt = this.#sentAt;
      for (let i = 0; i < count; i++) {
        sentAt[(first + i) & (SENT_WINDOW - 1)] = now;
      }
      this.#numbered ??= new NumberedBurst(bytes);
      return this.#numbered.next(firstSeq + first, count);
    }
    const requests: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) {
      this.sent = first + i;
      this.sending(now);
      requests[i] = this.nextRequest();
    }
    this.sent = first;
    return requests;
  }

  /** Notes that a request is about to leave, now. */
  sending(now: number): void {
    this.#setup.expectation?.newRound();
    this.#lastSentAt = now;
    this.#sentAt[this.sent % SENT_WINDOW] = now;
  }

  /**
   * Reads one reply into the queue.
   *
   * @param data The datagram (a copy when the transport reuses buffers).
   * @param from Who sent it.
   * @param truncated Whether the transport cut it.
   */
  read(data: Uint8Array, from: Peer, truncated: boolean): void {
    const arrived = performance.now();
    const reply: SendReply = {
      event: "reply",
      from: from.address,
      port: from.port,
      rttMs: Math.round((arrived - this.#lastSentAt) * 1000) / 1000,
      size: data.byteLength,
      payload: data,
    };
    const payload = this.#open(reply, data, truncated);
    if (payload !== undefined) {
      this.#decode(reply, this.#unframe(reply, payload, arrived));
    }
    this.queue.push(reply);
  }

  /** Counts a reply as yielded. */
  yielded(reply: SendReply): void {
    this.#replies++;
    this.#responders.add(reply.from);
    // With a key, only a verified reply is an answer. Without sequence
    // numbers a reply answers the latest request.
    if (!this.#setup.sequence) {
      this.#rounds.answer(reply.from, reply.port, reply.rttMs);
    }
    if (reply.verified === false) return;
    this.#setup.expectation?.answered(
      reply.from,
      reply.seq === undefined || reply.seq === this.sent - 1,
    );
  }

  /** Whether the latest request's expected responders have all answered it. */
  get roundMet(): boolean {
    return this.#setup.expectation?.roundMet === true;
  }

  /** The run's summary. */
  summary(): SendSummary {
    const summary: SendSummary = {
      event: "summary",
      sent: this.sent,
      replies: this.#replies,
      responders: this.#responders.size,
    };
    if (this.#setup.auth !== undefined) summary.verified = this.#verified;
    summary.perResponder = this.#rounds.summary(this.sent);
    const { expectation } = this.#setup;
    if (expectation !== undefined) summary.expect = expectation.summary();
    return summary;
  }

  /** Cut and signature checks: the payload to read on, or `undefined`. */
  #open(
    reply: SendReply,
    data: Uint8Array,
    truncated: boolean,
  ): Uint8Array | undefined {
    const { auth } = this.#setup;
    if (truncated) {
      // Its end is missing: no signature, no frame, no decoding.
      reply.truncated = true;
      if (auth !== undefined) reply.verified = false;
      reply.decodeError =
        `Reply cut at ${data.byteLength} bytes: larger than the reply buffer (${this.#setup.replyBytes} bytes); later replies on this socket arrive whole`;
      return undefined;
    }
    if (auth === undefined) return data;
    const opened = auth.openReply(data, this.#nonces);
    reply.verified = opened.ok;
    if (!opened.ok) {
      reply.authError = opened.reason;
      return undefined;
    }
    this.#verified++;
    reply.payload = opened.payload;
    return opened.payload;
  }

  /** Takes a sequence frame off; times the reply against its request. */
  #unframe(
    reply: SendReply,
    payload: Uint8Array,
    arrived: number,
  ): Uint8Array {
    if (!this.#setup.sequence) return payload;
    const framed = unframeReply(payload);
    if (framed === undefined) return payload;
    reply.payload = framed.payload;
    const seq = (framed.seq - this.#setup.firstSeq) >>> 0;
    if (seq < this.sent && this.sent - seq <= SENT_WINDOW) {
      reply.seq = seq;
      reply.rttMs = Math.round(
        (arrived - this.#sentAt[seq % SENT_WINDOW]) * 1000,
      ) / 1000;
      this.#rounds.reply(reply.from, reply.port, seq, reply.rttMs);
    }
    return framed.payload;
  }

  /** Decodes the payload with the codec, noting why when it cannot. */
  #decode(reply: SendReply, payload: Uint8Array): void {
    const { codec } = this.#setup;
    if (codec === undefined) return;
    try {
      reply.payload = codec.decode(payload);
    } catch (error) {
      reply.decodeError = errorText(error);
    }
  }
}
