/**
 * What a send run yields: every reply as it arrives, then one summary.
 *
 * @module
 */

import type { AuthFailure } from "../safety/auth.ts";
import type { ResponderSummary } from "./round_trip_stats.ts";

/** One reply, as it arrived. */
export interface SendReply {
  /** Always `"reply"`. */
  event: "reply";
  /** The responder's address. */
  from: string;
  /** The responder's port. */
  port: number;
  /**
   * Time from its request's send to this reply, in milliseconds: with
   * `sequence`, the request it answers (for one more than 524,288
   * requests old, a lower bound); else the latest.
   */
  rttMs: number;
  /**
   * Which clock timed `rttMs`: `"kernel"` when the transport stamps
   * (ffi): from just before the request's send system call to the
   * kernel's receive time stamp of the reply, so the event loop at either
   * end is left out; `"user"` (`dgram`, `deno`, or a reply that came
   * without a stamp): from the send call to when the run read the reply.
   */
  clock: "kernel" | "user";
  /** Reply size in bytes. */
  size: number;
  /** The decoded reply, or raw bytes when there is no codec or it did not decode. */
  payload: unknown;
  /** Why the reply did not decode, when it did not. */
  decodeError?: string;
  /**
   * The reply was larger than the sender's `replyBufferBytes`: `payload` holds
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
  /**
   * With `sequence`: true when its responder had answered that request
   * already (not an answer: its round trip is not counted).
   */
  duplicate?: true;
}

/** The end of a run. */
export interface SendSummary {
  /** Always `"summary"`. */
  event: "summary";
  /**
   * Messages sent: those that left. Loss figures (`perResponder`) count
   * only these; `sendErrors` counts those that did not.
   */
  sent: number;
  /**
   * Requests that did not leave, by errno (`{"EPERM": 12}`): the OS
   * refused them (a firewall rule: `EPERM`; a full queue: `ENOBUFS`; no
   * route: `ENETUNREACH`, `EHOSTUNREACH`; Deno's node:dgram says
   * `UNKNOWN`) and the run went on. Absent when every request left.
   */
  sendErrors?: Record<string, number>;
  /** Replies received. */
  replies: number;
  /** Distinct responder addresses. */
  responders: number;
  /**
   * The clock of the run's round-trip times: `"kernel"` on a transport
   * that stamps (ffi), else `"user"` (each reply says its own).
   */
  clock: "kernel" | "user";
  /**
   * From the run's first send to its summary, in milliseconds (absent
   * when nothing was sent): with `replies`, the rate a ping-pong
   * (`expect: 1`, `count`) reached, as `ping` says `time 9013ms`.
   */
  durationMs?: number;
  /** With a key: replies whose signature verified. */
  verified?: number;
  /**
   * Replies the kernel dropped at this sender's socket (its receive
   * buffer was full) since it opened, read at most once a second; absent
   * when none were, or where this process cannot read the count.
   */
  kernelDrops?: number;
  /**
   * One row per responder (address and port), in order of first reply:
   * replies, loss, duplicates, reordering and round-trip times. Exact with
   * `sequence`; without it each reply is taken to answer the latest
   * request (no duplicates or reordering can be told).
   */
  perResponder?: ResponderSummary[];
  /**
   * With `expect` or `expectFrom`: how many responders were expected, how
   * many distinct ones answered, the expected hosts that did not, whether
   * the expectation was met, and in how many rounds.
   */
  expect?: {
    /** Responders expected: `expect`, or the number of `expectFrom` hosts when larger. */
    responders: number;
    /** Distinct responder addresses that answered during the run. */
    answered: number;
    /** The `expectFrom` hosts that never answered, as given. */
    missing: string[];
    /** Whether enough responders, and every `expectFrom` host, answered. */
    met: boolean;
    /** Rounds (requests) whose expectation was met before the next one left. */
    roundsMet: number;
  };
}

/** What a send run yields: every reply, then one summary. */
export type SendEvent = SendReply | SendSummary;
