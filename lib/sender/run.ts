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
import { ByteArena } from "../byte_arena.ts";
import { NumberedBurst } from "./numbered_burst.ts";
import type { Peer } from "../transports/transport.ts";
import type { SendReply, SendSummary } from "./events.ts";
import type { Expectation } from "./expectation.ts";
import type { LiveRun } from "./live_run.ts";
import { type SendErrorHandler, SendFailures } from "./send_failures.ts";

/**
 * Send times remembered to time sequenced replies, at first (a power of
 * two); the window doubles as a run sends more, up to
 * {@linkcode MAX_SENT_WINDOW}.
 */
const FIRST_SENT_WINDOW = 65_536;
/**
 * The most send times remembered (524,288: 4 MiB). A reply that comes
 * more requests than that after its own still counts as its request's,
 * and is timed from the oldest send time remembered (a lower bound).
 */
const MAX_SENT_WINDOW = 1 << 19;
/** Request nonces a signed reply may answer. */
const NONCES_KEPT = 256;
/**
 * A request's wait runs out at the latest when this many later requests
 * were numbered: half the window in which `RoundTripStats` tells which
 * requests a responder answered.
 */
const LOST_WINDOW = 32_768;

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
  /** How many requests the run sends (0: until it is stopped). */
  count: number;
  /** The receive size of the socket, for the message of a cut reply. */
  replyBytes: number;
  /** Who must answer (`expect`, `expectFrom`), when anyone must. */
  expectation?: Expectation;
  /** How long a request waits for its replies, milliseconds. */
  timeoutMs: number;
  /** Told of each request a known responder did not answer in time (`sequence` only). */
  onLost?: (
    lost: { seq: number; from: string; port: number; waitedMs: number },
  ) => void;
  /** Told of each failed send the run goes on after. */
  onSendError?: SendErrorHandler;
  /**
   * The clock of every time the run is given and keeps (`performance.now`,
   * or the transport's kernel clock: then replies' `receivedAt` time
   * their round trips).
   */
  now: () => number;
  /** Which clock `now` is. */
  clock: "kernel" | "user";
}

/**
 * The ring of send times a run of `count` requests starts with: as many as
 * it sends, rounded up to a power of two, between
 * {@linkcode FIRST_SENT_WINDOW} and {@linkcode MAX_SENT_WINDOW}, so that
 * a run of known length does not copy its ring as it goes (each doubling
 * copied the whole ring in the middle of the run).
 */
function firstWindow(count: number): number {
  if (count <= FIRST_SENT_WINDOW) return FIRST_SENT_WINDOW;
  if (count >= MAX_SENT_WINDOW) return MAX_SENT_WINDOW;
  return 2 ** Math.ceil(Math.log2(count));
}

/** The state of one run; the sender drives it. */
export class SendRun {
  /** Replies read and not yet yielded, oldest first. */
  readonly queue: SendReply[] = [];
  /** Requests that left (the transport took them). */
  sent = 0;
  /** Requests that did not leave, by errno; when they end the run. */
  readonly failures: SendFailures;
  /**
   * Requests numbered so far (handed to the transport, or about to be):
   * the next request's index in the run. A reply can answer any of them,
   * also one whose send has not returned yet.
   */
  issued = 0;
  #setup: RunSetup;
  // Nonces of the latest requests, newest first: a reply must answer one.
  #nonces: Uint8Array[] = [];
  // With sequence numbers: when each of the latest requests left (a ring).
  #sentAt: Float64Array;
  #rounds = new RoundTripStats();
  #lastSentAt = 0;
  /** When the first request left, on the run's clock. */
  #firstSentAt = 0;
  /** Copies of what replies keep of a transport's reused memory. */
  readonly #arena = new ByteArena();
  #numbered: NumberedBurst | undefined;
  #replies = 0;
  #verified = 0;
  #responders = new Set<string>();
  /** Requests whose wait has run out (their losses told), from the first. */
  #expired = 0;
  readonly #lost = (seq: number, from: string, port: number) =>
    this.#setup.onLost?.({
      seq,
      from,
      port,
      waitedMs: this.#setup.now() - this.#sentTime(seq),
    });

  /** The run as it goes, read in place (`SendRunOptions.onStart`). */
  readonly live: LiveRun;

  /** Starts a run. */
  constructor(setup: RunSetup) {
    const sent = () => this.sent;
    this.live = {
      get sent() {
        return sent();
      },
      responders: () => this.#rounds.live(),
    };
    this.#setup = setup;
    this.failures = new SendFailures(setup.onSendError);
    this.#sentAt = new Float64Array(
      setup.sequence ? firstWindow(setup.count) : 0,
    );
  }

  /**
   * The next request's datagram (number {@linkcode SendRun.issued}):
   * framed, padded and signed as asked. {@linkcode SendRun.sending}
   * numbers the one after. With `reused`, a numbered request without
   * padding or signature comes from one reused buffer, valid until the
   * next call (for a transport that copies it at once).
   */
  nextRequest(reused = false): Uint8Array {
    const { bytes, sequence, pad, auth, firstSeq } = this.#setup;
    if (reused && sequence && pad === 0 && auth === undefined) {
      this.#numbered ??= new NumberedBurst(bytes);
      return this.#numbered.next(firstSeq + this.issued, 1)[0];
    }
    let datagram = sequence
      ? frameRequest((firstSeq + this.issued) >>> 0, bytes)
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
   * {@linkcode SendRun.nextRequest} and {@linkcode SendRun.sending} one
   * by one would): `issued` grows by `count`, `sent` is left for the
   * caller to add what left. Without padding or signature nothing is
   * built per request: the message itself, `count` times, or numbered
   * requests from one reused buffer ({@linkcode NumberedBurst}), valid
   * until the next call.
   */
  nextBurst(count: number, now: number): Uint8Array[] {
    const { bytes, sequence, pad, auth, firstSeq } = this.#setup;
    const first = this.issued;
    if (first === 0) this.#firstSentAt = now;
    if (pad === 0 && auth === undefined) {
      // Nothing reads the state between these requests: one round for all.
      this.#setup.expectation?.newRound();
      this.#lastSentAt = now;
      this.issued = first + count;
      if (!sequence) return new Array<Uint8Array>(count).fill(bytes);
      this.#remember(first, count, now);
      this.#numbered ??= new NumberedBurst(bytes);
      return this.#numbered.next(firstSeq + first, count);
    }
    const requests: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) {
      requests[i] = this.nextRequest();
      this.sending(now);
    }
    return requests;
  }

  /**
   * Notes that the request {@linkcode SendRun.nextRequest} made leaves
   * now: replies may answer it from here on, even before its send returns.
   */
  sending(now: number): void {
    if (this.issued === 0) this.#firstSentAt = now;
    this.#setup.expectation?.newRound();
    this.#lastSentAt = now;
    if (this.#setup.sequence) this.#remember(this.issued, 1, now);
    this.issued++;
  }

  /**
   * With the kernel clock: the latest request left at `at` (the
   * transport's stamp just before its system call), not when
   * {@linkcode SendRun.sending} was told.
   */
  stamped(at: number): void {
    this.#lastSentAt = at;
    if (this.#setup.sequence) this.#remember(this.issued - 1, 1, at);
  }

  /**
   * Reads one reply into the queue. A reply that completes the latest
   * request's expected answers ends its round here, before it is yielded
   * ({@linkcode SendRun.roundMet}): the next request may leave at once.
   *
   * @param data The datagram; valid only during the call when the
   *   transport reuses its buffers (`reused`): what the reply keeps of it
   *   (its bytes, when they are not decoded) is copied.
   * @param from Who sent it.
   * @param truncated Whether the transport cut it.
   * @param receivedAt The kernel's receive time, on the run's kernel clock.
   * @param reused Whether `data` is reused after the call.
   */
  read(
    data: Uint8Array,
    from: Peer,
    truncated: boolean,
    receivedAt?: number,
    reused = false,
  ): void {
    const kernel = receivedAt !== undefined && this.#setup.clock === "kernel";
    const arrived = kernel ? receivedAt : this.#setup.now();
    const reply: SendReply = {
      event: "reply",
      from: from.address,
      port: from.port,
      rttMs: Math.round((arrived - this.#lastSentAt) * 1000) / 1000,
      clock: kernel ? "kernel" : "user",
      size: data.byteLength,
      payload: data,
    };
    const payload = this.#open(reply, data, truncated);
    const body = payload === undefined
      ? undefined
      : this.#unframe(reply, payload, arrived);
    if (body !== undefined) this.#decode(reply, body);
    if (reply.verified !== false) {
      this.#setup.expectation?.answered(
        reply.from,
        reply.seq === undefined || reply.seq === this.issued - 1,
      );
    }
    if (reused) this.#keep(reply, data, body);
    this.queue.push(reply);
  }

  /**
   * Counts a reply as yielded: the summary and its rows count exactly the
   * replies yielded, each in its responder's row (an answer, a duplicate,
   * or one that answers none of this run's requests).
   */
  yielded(reply: SendReply): void {
    this.#replies++;
    this.#responders.add(reply.from);
    const { sequence } = this.#setup;
    // With a key, only a verified reply is an answer. Without sequence
    // numbers a reply answers the latest request.
    if (reply.verified === false || (sequence && reply.seq === undefined)) {
      this.#rounds.unmatched(reply.from, reply.port);
    } else if (sequence) {
      if (
        !this.#rounds.reply(reply.from, reply.port, reply.seq!, reply.rttMs)
      ) {
        reply.duplicate = true;
      }
    } else {
      this.#rounds.answer(reply.from, reply.port, reply.rttMs);
    }
  }

  /**
   * With `sequence`: tells the losses (`onLost`) of each request whose
   * wait ran out by `now` (`timeout` after it left), or that
   * {@linkcode LOST_WINDOW} later requests were numbered after; in order.
   * Call it after the replies read so far were yielded.
   *
   * @param now Now, on the run's clock (`RunSetup.now`).
   */
  expire(now: number): void {
    const { sequence, timeoutMs } = this.#setup;
    if (!sequence) return;
    while (this.#expired < this.issued) {
      const seq = this.#expired;
      if (
        this.issued - seq <= LOST_WINDOW &&
        now - this.#sentTime(seq) < timeoutMs
      ) break;
      this.#rounds.expire(seq, this.#lost);
      this.#expired++;
    }
  }

  /** When the wait of the oldest request still waiting runs out (Infinity: none is). */
  get nextExpiryAt(): number {
    if (!this.#setup.sequence || this.#expired >= this.issued) return Infinity;
    return this.#sentTime(this.#expired) + this.#setup.timeoutMs;
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
      clock: this.#setup.clock,
    };
    if (this.sent > 0) {
      summary.durationMs =
        Math.round((this.#setup.now() - this.#firstSentAt) * 1000) / 1000;
    }
    if (this.#setup.auth !== undefined) summary.verified = this.#verified;
    if (this.failures.total > 0) {
      summary.sendErrors = { ...this.failures.counts };
    }
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
    // Any request numbered in this run, also one whose send is still
    // under way (a reply can come back before its send returns).
    const seq = (framed.seq - this.#setup.firstSeq) >>> 0;
    if (seq < this.issued) {
      reply.seq = seq;
      reply.rttMs = Math.round((arrived - this.#sentTime(seq)) * 1000) / 1000;
    }
    return framed.payload;
  }

  /** Notes that requests `first` .. `first + count - 1` leave at `now`. */
  #remember(first: number, count: number, now: number): void {
    const end = first + count;
    while (end > this.#sentAt.length && this.#sentAt.length < MAX_SENT_WINDOW) {
      this.#growWindow(first);
    }
    const sentAt = this.#sentAt;
    const mask = sentAt.length - 1;
    for (let i = first; i < end; i++) sentAt[i & mask] = now;
  }

  /** Doubles the ring of send times, keeping those before `next`. */
  #growWindow(next: number): void {
    const old = this.#sentAt;
    const grown = new Float64Array(old.length * 2);
    const oldMask = old.length - 1;
    const mask = grown.length - 1;
    for (let i = Math.max(0, next - old.length); i < next; i++) {
      grown[i & mask] = old[i & oldMask];
    }
    this.#sentAt = grown;
  }

  /**
   * When request `seq` left; for one older than the window remembers, when
   * the oldest one remembered left (so its round trip is a lower bound).
   */
  #sentTime(seq: number): number {
    const sentAt = this.#sentAt;
    const oldest = Math.max(0, this.issued - sentAt.length);
    return sentAt[Math.max(seq, oldest) & (sentAt.length - 1)];
  }

  /**
   * Makes a reply of a reused buffer (`data`) keep nothing of it: its
   * bytes are copied, and an object a codec made of them (which may hold
   * views of them) is made again from a copy; a decoded text or number
   * holds none, and costs no copy.
   */
  #keep(reply: SendReply, data: Uint8Array, body: Uint8Array | undefined) {
    const kept = reply.payload;
    if (kept instanceof Uint8Array) {
      if (kept.buffer === data.buffer) reply.payload = this.#arena.copy(kept);
    } else if (typeof kept === "object" && kept !== null && body) {
      this.#decode(reply, this.#arena.copy(body));
    }
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
