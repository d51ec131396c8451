/**
 * What a listener reports through `onEvent`: every message, reply, drop
 * and error, for logging.
 *
 * @module
 */

/**
 * The key under which the listener's message event holds its payload's
 * bytes as the codec got them (after any frames), a `Uint8Array`: a
 * symbol, so `JSON.stringify`, `Object.keys` and the event's documented
 * fields leave it out. For a writer that copies bytes instead of encoding
 * the decoded text again (`listen --json`, `cli/message_json.ts`); not
 * part of the public API.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PAYLOAD_BYTES } from "./events.ts";
 * const event = { event: "message", [PAYLOAD_BYTES]: new Uint8Array([104]) };
 * assert.equal(JSON.stringify(event), '{"event":"message"}');
 * ```
 */
export const PAYLOAD_BYTES: unique symbol = Symbol("mcast.payloadBytes");

/** A datagram arrived and decoded. */
export interface ListenMessageEvent {
  /** Always `"message"`. */
  event: "message";
  /** Sender address. */
  from: string;
  /** Sender port. */
  port: number;
  /** Size in bytes. */
  size: number;
  /** The decoded payload (raw bytes without a codec). */
  payload: unknown;
}

/** A reply was sent. */
export interface ListenReplyEvent {
  /** Always `"reply"`. */
  event: "reply";
  /** Where it went. */
  to: string;
  /** Port it went to. */
  port: number;
  /** Size in bytes. */
  size: number;
}

/**
 * Datagrams dropped for one reason, as it happens, with the flag or action
 * that would change it. At most one event per reason a second: `count`
 * has every drop of that reason since the previous event (the counters in
 * `stats` and the summary have the exact totals).
 */
export interface ListenDropEvent {
  /** Always `"drop"`. */
  event: "drop";
  /**
   * Why, named as the counter that counts it: a sender outside the
   * allowed ranges (`refused`), a reply over a rate limit
   * (`rateLimited`) or over the reply cap (`oversize`), a request without
   * a signature (`unsigned`), with a bad one (`badSignature`), too old
   * (`stale`) or seen before (`replayed`), or datagrams the kernel dropped
   * before the listener could read them (`kernel`, counted as
   * `kernelDrops`).
   */
  reason:
    | "refused"
    | "rateLimited"
    | "oversize"
    | "unsigned"
    | "badSignature"
    | "stale"
    | "replayed"
    | "kernel";
  /** Drops of this reason since the previous drop event of this reason. */
  count: number;
  /** The latest sender dropped (or whose reply was); absent for `kernel`. */
  from?: string;
  /** Its port. */
  port?: number;
  /** What happened, as a sentence. */
  message: string;
  /** What changes it: a flag (`--allow-from 10.77.2.0/24`) or an action. */
  hint: string;
}

/** Something failed for one datagram, or in a hook; the listener goes on. */
export interface ListenErrorEvent {
  /** Always `"error"`. */
  event: "error";
  /** Which stage failed. */
  kind:
    | "decode"
    | "plugin"
    | "send"
    | "socket"
    | "teardown"
    | "leave";
  /** Sender address, when a datagram was involved. */
  from?: string;
  /** Sender port, when a datagram was involved. */
  port?: number;
  /** What went wrong. */
  message: string;
  /** Stable error code, when there is one. */
  code?: string;
}

/** What a listener reports through `onEvent`. */
export type ListenEvent =
  | ListenMessageEvent
  | ListenReplyEvent
  | ListenDropEvent
  | ListenErrorEvent;

/** Where a listener's steps report events: `onEvent`, or nowhere. */
export type EventSink = ((event: ListenEvent) => void) | undefined;
