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
  /** Time from the latest send to this reply, in milliseconds. */
  rttMs: number;
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
