/**
 * What a listener reports through `onEvent`: every message, reply and
 * error, for logging.
 *
 * @module
 */

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

/** Something failed for one datagram, or in a hook; the listener goes on. */
export interface ListenErrorEvent {
  /** Always `"error"`. */
  event: "error";
  /** Which stage failed. */
  kind:
    | "decode"
    | "plugin"
    | "oversize"
    | "auth"
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
  | ListenErrorEvent;

/** Where a listener's steps report events: `onEvent`, or nowhere. */
export type EventSink = ((event: ListenEvent) => void) | undefined;
