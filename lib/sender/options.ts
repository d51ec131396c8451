/**
 * A sender's options and a run's, checked before anything is sent.
 *
 * @module
 */

import { Authenticator } from "../safety/auth.ts";
import {
  DEFAULT_AUTH_WINDOW_MS,
  DEFAULT_GROUP,
  DEFAULT_INTERVAL_MS,
  DEFAULT_PORT,
  DEFAULT_RECEIVE_BYTES,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TTL,
  MAX_DATAGRAM_BYTES,
} from "../defaults.ts";
import { openDgramTransport } from "../transports/node_dgram.ts";
import { type Duration, parseDuration } from "../duration.ts";
import {
  McastRangeError,
  McastTypeError,
  type SocketError,
} from "../errors.ts";
import { type MulticastGroup, parseGroup } from "../group.ts";
import { resolveInterface } from "../interface.ts";
import { validateCount, validatePort, validateTtl } from "../numbers.ts";
import type { Codec } from "../plugin.ts";
import type { TransportFactory } from "../transports/transport.ts";
import type { SendReply } from "./events.ts";
import { encodeUtf8 } from "../utf8.ts";
import { Expectation } from "./expectation.ts";

/** How a {@linkcode Sender} reaches its group: fixed for the sender's life. */
export interface SenderOptions {
  /**
   * The multicast group: an address, or a group `parseGroup` made (its
   * source, if it has one, does not matter to a sender). @default {"224.3.29.71"}
   */
  group?: string | MulticastGroup;
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
   * The buffer set aside for each reply, in bytes (1-65536): the largest
   * reply taken whole. The `node:dgram` transport allocates this much for
   * every reply it receives, so smaller is faster. A larger reply is
   * yielded cut, with `truncated`, and the socket then takes replies up to
   * 64 KiB. Transports that reuse one buffer never cut. @default {16384}
   */
  replyBufferBytes?: number;
  /** Opens the socket. @default the `node:dgram` transport */
  transport?: TransportFactory;
  /**
   * Wait for replies by blocking this thread, in slices of at most 10 ms
   * with a turn of the event loop between them, on transports that can
   * (`waitHere`: ffi): a reply wakes the run itself, as it wakes a C
   * client blocked in `recvfrom`, and with `expect` the next request
   * leaves before the reply is yielded: round trips at a C client's rate
   * (`send --expect 1 --seq -c N`). For a process that has nothing else
   * to do meanwhile, such as a command-line tool: its timers and other
   * I/O wait up to a slice. @default {false}
   */
  blockingWait?: boolean;
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
  /**
   * Wait for this many distinct responders (by address): a round (one
   * request and the wait after it) ends as soon as that many answered it,
   * so a single request stops early, and with `count` the next request
   * leaves at once. The summary's `expect` says whether they did. Only
   * verified replies count when there is a key.
   */
  expect?: number;
  /**
   * Wait for these hosts (responder addresses) to answer, as `expect`
   * does; the summary's `expect.missing` names those that never did.
   * With `expect` too, both must be met.
   */
  expectFrom?: readonly string[];
  /** Called after each send with the number sent so far (for progress displays). */
  onSent?: (sent: number) => void;
  /**
   * Handed each reply instead of the run yielding it: the run then yields
   * only its summary. The reply comes where it would have been yielded
   * (for a ping-pong: once the next request has left), with no promise
   * and no generator step per reply, which in a ping-pong's profile were
   * the largest part of the library's own time a round. A throw ends the
   * run as a throw in a `for await` body does.
   */
  onReply?: (reply: SendReply) => void;
  /**
   * Called once as the run starts, with a live view of it, read in place
   * whenever the caller looks (`send --metrics` does at each scrape):
   * requests that left so far, and each responder heard so far (in order
   * of first reply) with its counters and the round-trip times of its
   * answers (milliseconds, as histogram slots). With sequence numbers,
   * `lost` counts the requests whose wait ran out without its reply, from
   * its first answer on. Nothing is copied or added per reply for it.
   */
  onStart?: (run: {
    readonly sent: number;
    readonly responders: () => Iterable<{
      readonly from: string;
      readonly port: number;
      readonly replies: number;
      readonly answered: number;
      readonly duplicates: number;
      readonly lost: number;
      readonly rtt: {
        readonly count: number;
        readonly mean: number;
        buckets(): Iterable<{ fromMs: number; toMs: number; count: number }>;
        /**
         * Adds the counts to `into` by bucket, without an object per slot
         * (`into[i]`: slots starting above bound i-1 and at or below bound
         * i; the last entry, those above every bound).
         */
        addCountsByBound(boundsMs: readonly number[], into: number[]): void;
      };
    }>;
  }) => void;
  /**
   * With `sequence`: called when the wait for a request (`timeout` after
   * it left) runs out and a responder that had answered it or an earlier
   * one (from its first reply on) has not answered it, once per request
   * and responder, in the order of the requests, with how long ago the
   * request left. For monitoring: a reply that comes later still counts
   * as an answer in the summary.
   */
  onLost?: (
    lost: { seq: number; from: string; port: number; waitedMs: number },
  ) => void;
  /**
   * Called when sends fail and the run goes on: a send the OS refuses
   * after the first one (a firewall rule: `EPERM`, a full queue:
   * `ENOBUFS`, no route: `ENETUNREACH`) is counted by errno in the
   * summary's `sendErrors`, and the run goes on. It gets the error (its
   * message the errno's sentence, its `errno` the name) and the counts so
   * far. Only a failure of the run's first send (at interval 0: when
   * nothing of the first burst left), or every send failing for a whole
   * second, ends the run: `send` then throws the `SocketError`.
   */
  onSendError?: (
    error: SocketError,
    counts: Readonly<Record<string, number>>,
  ) => void;
  /** Stops sending and waiting; the summary still comes. */
  signal?: AbortSignal;
}

/** The checked timing of one run. */
export interface RunPlan {
  count: number;
  intervalMs: number;
  timeoutMs: number;
  sequence: boolean;
  pad: number;
  /** Who must answer, when anyone must (`expect`, `expectFrom`). */
  expectation: Expectation | undefined;
}

/** The largest UDP payload over IPv4, the most a request can be padded to. */
const MAX_PAD = 65_507;

/** Checks the options of one run. */
export function planRun(options: SendRunOptions): RunPlan {
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
    : parseDuration(options.interval ?? DEFAULT_INTERVAL_MS, "interval");
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
    expectation: Expectation.of(options.expect, options.expectFrom),
  };
}

/** Encodes a message with the codec, or as UTF-8 / raw bytes without one. */
export function encodeMessage(
  message: unknown,
  codec: Codec | undefined,
): Uint8Array {
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
export interface SenderSetup {
  group: MulticastGroup;
  port: number;
  ttl: number;
  iface: string | undefined;
  loopback: boolean;
  codec: Codec | undefined;
  auth: Authenticator | undefined;
  replyBufferBytes: number;
  open: TransportFactory;
  blockingWait: boolean;
}

function checkReplyBufferBytes(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_DATAGRAM_BYTES) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid reply buffer bytes ${value}: must be an integer 1-${MAX_DATAGRAM_BYTES}`,
    );
  }
  return value;
}

/** Checks a sender's options and resolves the defaults. */
export function checkSenderOptions(options: SenderOptions): SenderSetup {
  const group = parseGroup(options.group ?? DEFAULT_GROUP);
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
    replyBufferBytes: checkReplyBufferBytes(
      options.replyBufferBytes ?? DEFAULT_RECEIVE_BYTES,
    ),
    open: options.transport ?? openDgramTransport,
    blockingWait: options.blockingWait === true,
  };
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
 * import { checkSendRunOptions } from "./options.ts";
 * checkSendRunOptions({ count: 3, rate: 10 });
 * ```
 */
export function checkSendRunOptions(options: SendRunOptions): void {
  planRun(options);
}
