/**
 * A listener's way in: every datagram the socket delivers, from the source
 * filter through authentication, padding and sequence frames to the
 * dispatcher, ending in exactly one counter.
 *
 * @module
 */

import { ByteArena } from "../byte_arena.ts";
import { dispatch, type Outcome, type Pipeline } from "../dispatch.ts";
import { errorText } from "../errors.ts";
import type { ListenerStats, ResponderContext } from "../plugin.ts";
import {
  type Authenticator,
  isSignedRequest,
  type Opened,
} from "../safety/auth.ts";
import { isMeshFrame } from "../wire/frame.ts";
import { unpadRequest } from "../wire/padding.ts";
import { unframeRequest } from "../wire/sequence.ts";
import type { Peer, Transport } from "../transports/transport.ts";
import type { Drops } from "./drops.ts";
import type { Egress } from "./egress.ts";
import { type ListenMessageEvent, PAYLOAD_BYTES } from "./events.ts";
import type { ListenPlan } from "./options.ts";

/** Which counter each authentication failure goes to. */
const AUTH_COUNTERS = {
  "unsigned": "unsigned",
  "bad-signature": "badSignature",
  "stale": "stale",
  "replayed": "replayed",
} as const;

/** Why a datagram that filled the transport's buffer cannot be read. */
const CUT = (bytes: number, transport: string | undefined) =>
  `Datagram cut at ${bytes} bytes by the ${transport} transport's receive buffer; later ones up to 64 KiB arrive whole`;

/**
 * Why a listener without a key cannot read a signed request: the codec
 * sees the envelope (`--key-file` on the sender), not the payload.
 */
const SIGNED_WITHOUT_KEY = (bytes: number) =>
  `Datagram of ${bytes} bytes is a request signed with an mcast key (send --key-file), and this listener has no key: start it with --key-file and the sender's key file`;

/** The receive step of a listener. */
export interface Intake {
  /** Takes one datagram, as the transport delivers it. */
  receive(data: Uint8Array, from: Peer, truncated?: boolean): void;
  /** Stops taking datagrams and finishing outcomes (the listener is closing). */
  stop(): void;
  /** When the first datagram arrived (`performance.now()`), whatever became of it. */
  readonly firstAt: number | undefined;
}

/** Counts a datagram that cannot be read, and says why. */
function decodeFailure(
  plan: ListenPlan,
  stats: ListenerStats,
): (from: Peer, why: string) => void {
  const { onEvent } = plan;
  return (from, why) => {
    stats.decodeErrors++;
    onEvent?.({
      event: "error",
      kind: "decode",
      from: from.address,
      port: from.port,
      message: why,
    });
  };
}

/** What became of a dispatched datagram: an event, then one counter. */
function finisher(
  plan: ListenPlan,
  stats: ListenerStats,
  egress: Egress,
  undecodable: (from: Peer, why: string) => void,
) {
  const { onEvent, codec } = plan;
  const show = codec?.show?.bind(codec);
  return (
    outcome: Outcome,
    bytes: Uint8Array,
    from: Peer,
    requestSize: number,
    nonce: Uint8Array | undefined,
    seq: number,
  ): void => {
    if (onEvent !== undefined && outcome.kind !== "decode-error") {
      // Decoded here if nothing read it before (a codec with `check`):
      // bytes that pass its check yet fail to decode are undecodable.
      let payload: unknown;
      try {
        payload = outcome.payload;
      } catch (error) {
        return undecodable(from, errorText(error));
      }
      const event: ListenMessageEvent & { [PAYLOAD_BYTES]: Uint8Array } = {
        event: "message",
        from: from.address,
        port: from.port,
        size: requestSize,
        payload: show ? show(payload) : payload,
        [PAYLOAD_BYTES]: bytes,
      };
      onEvent(event);
    }
    switch (outcome.kind) {
      case "reply":
        egress.answer(outcome.reply, from, requestSize, nonce, seq);
        break;
      case "unanswered":
        stats.unanswered++;
        break;
      case "decode-error":
        undecodable(from, errorText(outcome.error));
        break;
      case "plugin-error":
        stats.pluginErrors++;
        onEvent?.({
          event: "error",
          kind: "plugin",
          from: from.address,
          port: from.port,
          message: outcome.error.message,
          code: outcome.error.code,
        });
        break;
    }
  };
}

/** Opens signed requests; counts and reports those it refuses. */
function opener(
  auth: Authenticator,
  stats: ListenerStats,
  drops: Drops,
): (bytes: Uint8Array, from: Peer) => Opened | undefined {
  return (bytes, from) => {
    const opened = auth.openRequest(bytes);
    if (opened.ok) return opened;
    const counter = AUTH_COUNTERS[opened.reason];
    stats[counter]++;
    drops.report(counter, from);
    return undefined;
  };
}

/** A request's payload under its frames, and its sequence number (-1: none). */
interface Unwrapped {
  payload: Uint8Array;
  seq: number;
}

/**
 * Takes a request out of its frames: a padded request's datagram (the
 * padding only buys reply room), a sequenced one's number (the reply
 * carries it back). `undefined` for an `mcast mesh` probe, answer, row or
 * goodbye on this port: not a request, so never decoded or answered (a
 * mesh answers its own).
 *
 * @throws {SyntaxError} for padding that claims more than it carries.
 */
function unwrapRequest(bytes: Uint8Array): Unwrapped | undefined {
  if (isMeshFrame(bytes)) return undefined;
  const unpadded = unpadRequest(bytes);
  const framed = unframeRequest(unpadded);
  return framed === undefined
    ? { payload: unpadded, seq: -1 }
    : { payload: framed.payload, seq: framed.seq };
}

/**
 * {@linkcode unwrapRequest}, with malformed frames told as undecodable:
 * `null` then.
 */
function unwrapOrReport(
  bytes: Uint8Array,
  from: Peer,
  undecodable: (from: Peer, why: string) => void,
): Unwrapped | undefined | null {
  try {
    return unwrapRequest(bytes);
  } catch (error) {
    undecodable(from, errorText(error));
    return null;
  }
}

/** What the dispatcher works with; events show every payload, so with them each is decoded on arrival, no check first. */
function pipelineOf(plan: ListenPlan, context: ResponderContext): Pipeline {
  const { codec, responder, respondTimeoutMs, onEvent } = plan;
  const decodeOnArrival = onEvent !== undefined;
  return { codec, responder, context, respondTimeoutMs, decodeOnArrival };
}

/**
 * Builds the receive step of a listener.
 *
 * @param plan The listener's checked options.
 * @param transport Its socket.
 * @param context What the responder is handed.
 * @param stats The listener's counters (the context has a read-only view).
 * @param steps Where replies go (`egress`) and drops are reported (`drops`).
 * @returns The step; hand `receive` to `transport.onDatagram`.
 */
export function createIntake(
  plan: ListenPlan,
  transport: Transport,
  context: ResponderContext,
  stats: ListenerStats,
  steps: { egress: Egress; drops: Drops },
): Intake {
  const { filter, auth } = plan;
  const { egress, drops } = steps;
  const pipeline = pipelineOf(plan, context);
  const undecodable = decodeFailure(plan, stats);
  const finish = finisher(plan, stats, egress, undecodable);
  const open = auth === undefined ? undefined : opener(auth, stats, drops);
  // Copies of the datagrams a transport's reused memory hands over.
  const arena = new ByteArena();
  let stopped = false;
  let firstAt: number | undefined;

  const receive = (data: Uint8Array, from: Peer, truncated?: boolean) => {
    if (stopped) return;
    if (stats.received++ === 0) firstAt = performance.now();
    if (!filter.allows(from.address)) {
      stats.refused++;
      drops.report("refused", from);
      return;
    }
    if (truncated === true) {
      // Its end is missing: it cannot be read, let alone answered.
      return undecodable(from, CUT(data.byteLength, transport.name));
    }
    const requestSize = data.byteLength;
    let bytes = transport.reusesBuffers ? arena.copy(data) : data;
    let nonce: Uint8Array | undefined;
    if (open !== undefined) {
      const opened = open(bytes, from);
      if (opened === undefined) return;
      bytes = opened.payload;
      nonce = opened.nonce;
    }
    const request = unwrapOrReport(bytes, from, undecodable);
    if (request === null) return;
    if (request === undefined) {
      stats.unanswered++;
      return;
    }
    const { payload, seq } = request;
    const outcome = dispatch(payload, from, pipeline);
    if (!(outcome instanceof Promise)) {
      // Only a listener without a key mistakes an envelope for a payload.
      if (
        outcome.kind === "decode-error" && open === undefined &&
        isSignedRequest(data)
      ) {
        undecodable(from, SIGNED_WITHOUT_KEY(requestSize));
        return;
      }
      finish(outcome, payload, from, requestSize, nonce, seq);
      return;
    }
    stats.pending++;
    outcome.then((settled) => {
      if (stopped) return;
      stats.pending--;
      finish(settled, payload, from, requestSize, nonce, seq);
    });
  };
  return {
    receive,
    stop() {
      stopped = true;
    },
    get firstAt() {
      return firstAt;
    },
  };
}
