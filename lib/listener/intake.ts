/**
 * A listener's way in: every datagram the socket delivers, from the source
 * filter through authentication, padding and sequence frames to the
 * dispatcher, ending in exactly one counter.
 *
 * @module
 */

import { dispatch, type Outcome, type Pipeline } from "../dispatch.ts";
import { errorText } from "../errors.ts";
import type { ListenerStats, ResponderContext } from "../plugin.ts";
import { unpadRequest } from "../wire/padding.ts";
import { unframeRequest } from "../wire/sequence.ts";
import type { Peer, Transport } from "../transports/transport.ts";
import type { Egress } from "./egress.ts";
import type { ListenPlan } from "./options.ts";

/** Which counter each authentication failure goes to. */
const AUTH_COUNTERS = {
  "unsigned": "unsigned",
  "bad-signature": "badSignature",
  "stale": "stale",
  "replayed": "replayed",
} as const;

/** The receive step of a listener. */
export interface Intake {
  /** Takes one datagram, as the transport delivers it. */
  receive(data: Uint8Array, from: Peer, truncated?: boolean): void;
  /** Stops taking datagrams and finishing outcomes (the listener is closing). */
  stop(): void;
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
    from: Peer,
    requestSize: number,
    nonce: Uint8Array | undefined,
    seq: number,
  ): void => {
    if (onEvent !== undefined && outcome.kind !== "decode-error") {
      onEvent({
        event: "message",
        from: from.address,
        port: from.port,
        size: requestSize,
        payload: show ? show(outcome.payload) : outcome.payload,
      });
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

/**
 * Builds the receive step of a listener.
 *
 * @param plan The listener's checked options.
 * @param transport Its socket.
 * @param context What the responder is handed.
 * @param stats The listener's counters (the context has a read-only view).
 * @param egress Where replies go.
 * @returns The step; hand `receive` to `transport.onDatagram`.
 */
export function createIntake(
  plan: ListenPlan,
  transport: Transport,
  context: ResponderContext,
  stats: ListenerStats,
  egress: Egress,
): Intake {
  const { filter, auth, codec, responder, respondTimeoutMs } = plan;
  const pipeline: Pipeline = { codec, responder, context, respondTimeoutMs };
  const undecodable = decodeFailure(plan, stats);
  const finish = finisher(plan, stats, egress, undecodable);
  const kernelDrops = transport.droppedByKernel?.bind(transport);
  if (kernelDrops !== undefined) stats.kernelDrops = 0;
  let stopped = false;

  const receive = (data: Uint8Array, from: Peer, truncated?: boolean) => {
    if (stopped) return;
    stats.received++;
    // A drop is reported with the next datagram the kernel queues.
    if (kernelDrops !== undefined) stats.kernelDrops = kernelDrops();
    if (!filter.allows(from.address)) {
      stats.refused++;
      return;
    }
    if (truncated === true) {
      // Its end is missing: it cannot be read, let alone answered.
      undecodable(
        from,
        `Datagram cut at ${data.byteLength} bytes by the ${transport.name} transport's receive buffer; later ones up to 64 KiB arrive whole`,
      );
      return;
    }
    const requestSize = data.byteLength;
    let bytes = transport.reusesBuffers ? data.slice() : data;
    let nonce: Uint8Array | undefined;
    if (auth !== undefined) {
      const opened = auth.openRequest(bytes);
      if (!opened.ok) {
        stats[AUTH_COUNTERS[opened.reason]]++;
        return;
      }
      bytes = opened.payload;
      nonce = opened.nonce;
    }
    // A padded request (send --pad): the padding only buys reply room.
    try {
      bytes = unpadRequest(bytes);
    } catch (error) {
      undecodable(from, errorText(error));
      return;
    }
    // A sequenced request (send --seq): the reply carries the number back.
    let seq = -1;
    const framed = unframeRequest(bytes);
    if (framed !== undefined) {
      seq = framed.seq;
      bytes = framed.payload;
    }
    const outcome = dispatch(bytes, from, pipeline);
    if (!(outcome instanceof Promise)) {
      finish(outcome, from, requestSize, nonce, seq);
      return;
    }
    stats.pending++;
    outcome.then((settled) => {
      if (stopped) return;
      stats.pending--;
      finish(settled, from, requestSize, nonce, seq);
    });
  };
  return {
    receive,
    stop() {
      stopped = true;
    },
  };
}
