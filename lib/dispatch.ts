/**
 * The pure heart of a listener: one datagram in, one outcome out. Decodes
 * with the codec, asks the responder, checks and encodes its answer. No
 * sockets: tests drive it in memory.
 *
 * @module
 */

import { DEFAULT_RESPOND_TIMEOUT_MS } from "./defaults.ts";
import { errorText, PluginError } from "./errors.ts";
import type { Codec, Message, Responder, ResponderContext } from "./plugin.ts";
import type { Peer } from "./address.ts";
import { encodeUtf8 } from "./utf8.ts";

/** What became of one datagram. */
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

function encodeReply(
  value: unknown,
  payload: unknown,
  pipeline: Pipeline,
): Outcome {
  if (value === undefined) return { kind: "unanswered", payload };
  if (value instanceof Uint8Array) {
    return { kind: "reply", payload, reply: value };
  }
  const { codec, responder } = pipeline;
  if (codec === undefined) {
    if (typeof value === "string") {
      return { kind: "reply", payload, reply: encodeUtf8(value) };
    }
    return {
      kind: "plugin-error",
      payload,
      error: new PluginError(
        "ERR_PLUGIN_HOOK",
        responder.name,
        `Plugin "${responder.name}" returned ${
          describe(value)
        } from respond(); without a codec a reply must be a string, a Uint8Array or undefined`,
        { hook: "respond" },
      ),
    };
  }
  try {
    const reply = codec.encode(value);
    if (!(reply instanceof Uint8Array)) {
      throw new TypeError(
        `encode() returned ${describe(reply)}, not a Uint8Array`,
      );
    }
    return { kind: "reply", payload, reply };
  } catch (error) {
    const why = errorText(error);
    return {
      kind: "plugin-error",
      payload,
      error: new PluginError(
        "ERR_PLUGIN_HOOK",
        codec.name,
        `Codec "${codec.name}" cannot encode the reply of "${responder.name}": ${why}`,
        { hook: "encode", cause: error },
      ),
    };
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
  let payload: unknown = bytes;
  if (codec !== undefined) {
    try {
      payload = codec.decode(bytes);
    } catch (error) {
      return {
        kind: "decode-error",
        error: error instanceof Error ? error : new SyntaxError(String(error)),
      };
    }
  }
  const message: Message = { payload, bytes, from };
  let answer: unknown;
  try {
    answer = responder.respond(message, context);
  } catch (error) {
    return {
      kind: "plugin-error",
      payload,
      error: hookError(responder, "respond", error),
    };
  }
  if (answer instanceof Promise) {
    return withTimeout(
      answer,
      pipeline.respondTimeoutMs ?? DEFAULT_RESPOND_TIMEOUT_MS,
      responder,
    )
      .then(
        (value) => encodeReply(value, payload, pipeline),
        (error) => ({
          kind: "plugin-error",
          payload,
          error: hookError(responder, "respond", error),
        }),
      );
  }
  return encodeReply(answer, payload, pipeline);
}
