/**
 * The pure heart of a listener: one datagram in, one outcome out. Decodes
 * with the codec, asks the responder, checks and encodes its answer. No
 * sockets: tests drive it in memory.
 *
 * With a codec that has `check`, a request is checked on arrival and
 * decoded only when something reads its payload (the responder, an
 * outcome's `payload`): `ack` answers without a decode, and a datagram
 * that would not decode is still a decode error, never answered.
 *
 * @module
 */

import { DEFAULT_RESPOND_TIMEOUT_MS } from "./defaults.ts";
import { errorText, PluginError } from "./errors.ts";
import type { Codec, Message, Responder, ResponderContext } from "./plugin.ts";
import type { Peer } from "./address.ts";
import { encodeUtf8 } from "./utf8.ts";
import { LazyMessage } from "./lazy_message.ts";

/**
 * What became of one datagram. An outcome's `payload` is the decoded
 * request, read from its message when asked (so decoded then, if nothing
 * read it before).
 */
export type Outcome =
  | {
    /** The responder answered; `reply` holds the bytes to send back. */
    kind: "reply";
    /** The decoded request payload. */
    payload: unknown;
    /** The encoded reply. */
    reply: Uint8Array;
  }
  | {
    /** The responder chose not to answer. */
    kind: "unanswered";
    /** The decoded request payload. */
    payload: unknown;
  }
  | {
    /** The codec could not decode the datagram. */
    kind: "decode-error";
    /** Why. */
    error: Error;
  }
  | {
    /** The responder threw, timed out, or returned something that does not encode. */
    kind: "plugin-error";
    /** The decoded request payload. */
    payload: unknown;
    /** Why, naming the plugin and the hook. */
    error: PluginError;
  };

/** What {@linkcode dispatch} works with. */
export interface Pipeline {
  /** Decodes requests and encodes replies; without one, payloads are raw bytes. */
  codec?: Codec | undefined;
  /** Decides the reply. */
  responder: Responder;
  /** Handed to the responder. */
  context: ResponderContext;
  /** How long an asynchronous `respond` may take, in milliseconds. @default {5000} */
  respondTimeoutMs?: number;
  /**
   * Decode every request on arrival even with a codec that has `check`:
   * for a caller that reads every payload anyway (a listener reporting
   * message events), where a check first would only add to the decode.
   * @default {false}
   */
  decodeOnArrival?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? `an object` : `a ${typeof value}`;
}

function hookError(
  responder: Responder,
  hook: string,
  error: unknown,
): PluginError {
  if (error instanceof PluginError) return error;
  const why = errorText(error);
  return new PluginError(
    "ERR_PLUGIN_HOOK",
    responder.name,
    `Plugin "${responder.name}" failed in ${hook}(): ${why}`,
    { hook, cause: error },
  );
}

/** An outcome's payload, read from its message when asked. */
class Settled {
  readonly #message: Message;
  constructor(message: Message) {
    this.#message = message;
  }
  /** The decoded request payload. */
  get payload(): unknown {
    return this.#message.payload;
  }
}

class Replied extends Settled {
  readonly kind = "reply" as const;
  readonly reply: Uint8Array;
  constructor(message: Message, reply: Uint8Array) {
    super(message);
    this.reply = reply;
  }
}

class Unanswered extends Settled {
  readonly kind = "unanswered" as const;
}

class Failed extends Settled {
  readonly kind = "plugin-error" as const;
  readonly error: PluginError;
  constructor(message: Message, error: PluginError) {
    super(message);
    this.error = error;
  }
}

/** A decode error, when reading the message's payload was what failed. */
function undecoded(message: Message): Outcome | undefined {
  const error = message instanceof LazyMessage
    ? message.decodeError
    : undefined;
  return error === undefined ? undefined : { kind: "decode-error", error };
}

/** A throw from `respond`: a plugin error, or the decode it could not do. */
function respondFailed(
  message: Message,
  responder: Responder,
  error: unknown,
): Outcome {
  return undecoded(message) ??
    new Failed(message, hookError(responder, "respond", error));
}

function encodeReply(
  value: unknown,
  message: Message,
  pipeline: Pipeline,
): Outcome {
  // A responder that caught the decode's throw still answers nothing.
  const notDecoded = undecoded(message);
  if (notDecoded !== undefined) return notDecoded;
  if (value === undefined) return new Unanswered(message);
  if (value instanceof Uint8Array) return new Replied(message, value);
  const { codec, responder } = pipeline;
  if (codec === undefined) {
    if (typeof value === "string") {
      return new Replied(message, encodeUtf8(value));
    }
    return new Failed(
      message,
      new PluginError(
        "ERR_PLUGIN_HOOK",
        responder.name,
        `Plugin "${responder.name}" returned ${
          describe(value)
        } from respond(); without a codec a reply must be a string, a Uint8Array or undefined`,
        { hook: "respond" },
      ),
    );
  }
  try {
    const reply = codec.encode(value);
    if (!(reply instanceof Uint8Array)) {
      throw new TypeError(
        `encode() returned ${describe(reply)}, not a Uint8Array`,
      );
    }
    return new Replied(message, reply);
  } catch (error) {
    const why = errorText(error);
    return new Failed(
      message,
      new PluginError(
        "ERR_PLUGIN_HOOK",
        codec.name,
        `Codec "${codec.name}" cannot encode the reply of "${responder.name}": ${why}`,
        { hook: "encode", cause: error },
      ),
    );
  }
}

function withTimeout(
  pending: Promise<unknown>,
  ms: number,
  responder: Responder,
): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PluginError(
            "ERR_PLUGIN_HOOK",
            responder.name,
            `Plugin "${responder.name}" did not answer within ${ms} ms in respond()`,
            { hook: "respond" },
          ),
        ),
      ms,
    );
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Handles one datagram: decode, respond, encode. Never throws: every
 * failure becomes an {@linkcode Outcome}. Synchronous responders get a
 * synchronous answer (no promise per datagram); asynchronous ones are held
 * to `respondTimeoutMs`.
 *
 * @param bytes The datagram's payload.
 * @param from Who sent it.
 * @param pipeline Codec, responder and context.
 * @returns The outcome, or a promise of it when the responder is asynchronous.
 *
 * @example Dispatch in memory, without sockets
 * ```ts
 * import assert from "node:assert/strict";
 * import { dispatch } from "./dispatch.ts";
 * import { newListenerStats } from "./plugin.ts";
 * const outcome = dispatch(
 *   new TextEncoder().encode("ping"),
 *   { address: "127.0.0.1", port: 5000, family: "IPv4" },
 *   {
 *     responder: { name: "pong", respond: () => "pong" },
 *     context: {
 *       group: "239.1.1.1", port: 10000, interface: undefined, startedAt: 0,
 *       stats: newListenerStats(),
 *     },
 *   },
 * );
 * assert.ok(!(outcome instanceof Promise));
 * assert.equal(outcome.kind, "reply");
 * ```
 */
export function dispatch(
  bytes: Uint8Array,
  from: Peer,
  pipeline: Pipeline,
): Outcome | Promise<Outcome> {
  const { codec, responder, context } = pipeline;
  let message: Message;
  try {
    message = received(
      pipeline.decodeOnArrival === true ? undefined : codec?.check,
      codec,
      bytes,
      from,
    );
  } catch (error) {
    return {
      kind: "decode-error",
      error: error instanceof Error ? error : new SyntaxError(String(error)),
    };
  }
  let answer: unknown;
  try {
    answer = responder.respond(message, context);
  } catch (error) {
    return respondFailed(message, responder, error);
  }
  if (answer instanceof Promise) {
    return withTimeout(
      answer,
      pipeline.respondTimeoutMs ?? DEFAULT_RESPOND_TIMEOUT_MS,
      responder,
    )
      .then(
        (value) => encodeReply(value, message, pipeline),
        (error) => respondFailed(message, responder, error),
      );
  }
  return encodeReply(answer, message, pipeline);
}

/**
 * The message a responder is handed: bytes as they are without a codec;
 * checked now and decoded on first read with a codec's `check`; decoded
 * now without one (a codec that cannot check, or `decodeOnArrival`).
 *
 * @throws what the codec's `check` or `decode` throws for bad bytes.
 */
function received(
  check: Codec["check"],
  codec: Codec | undefined,
  bytes: Uint8Array,
  from: Peer,
): Message {
  if (codec === undefined) return { payload: bytes, bytes, from };
  if (check === undefined) return { payload: codec.decode(bytes), bytes, from };
  check.call(codec, bytes);
  return new LazyMessage(codec, bytes, from);
}
