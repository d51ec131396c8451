/**
 * A listener's way out: frame and sign a reply, hold it to the reply cap
 * and the rate limits, delay it by the jitter, and send it, counting each
 * outcome.
 *
 * @module
 */

import { REPLY_AMPLIFICATION_LIMIT } from "../defaults.ts";
import { errorCode, errorText } from "../errors.ts";
import type { ListenerStats } from "../plugin.ts";
import { frameReply } from "../wire/sequence.ts";
import type { Peer, Transport } from "../transports/transport.ts";
import type { ListenPlan } from "./options.ts";

/** The reply step of a listener. */
export interface Egress {
  /**
   * Sends `reply` to `from`, unless it is over the cap or a rate limit.
   *
   * @param reply The encoded reply.
   * @param from The request's sender.
   * @param requestSize The request datagram's size, for the reply cap.
   * @param nonce The signed request's nonce, which the reply's signature covers.
   * @param seq The request's sequence number, or -1 when it had none.
   */
  answer(
    reply: Uint8Array,
    from: Peer,
    requestSize: number,
    nonce: Uint8Array | undefined,
    seq: number,
  ): void;
  /** Drops the replies still waiting out their jitter. */
  cancel(): void;
}

/** Sends and counts; reports the outcome when someone listens for events. */
function transmitter(
  transport: Transport,
  stats: ListenerStats,
  plan: ListenPlan,
): (reply: Uint8Array, to: Peer) => void {
  const { onEvent } = plan;
  // Without an onEvent, a send's outcome touches only counters: two
  // shared callbacks, no closure per reply.
  const sent = () => {
    stats.pending--;
    stats.replied++;
  };
  const notSent = () => {
    stats.pending--;
    stats.sendErrors++;
  };
  if (onEvent === undefined) {
    return (reply, to) =>
      transport.send(reply, to.port, to.address).then(sent, notSent);
  }
  return (reply, to) =>
    transport.send(reply, to.port, to.address).then(
      () => {
        sent();
        onEvent({
          event: "reply",
          to: to.address,
          port: to.port,
          size: reply.byteLength,
        });
      },
      (error) => {
        notSent();
        onEvent({
          event: "error",
          kind: "send",
          from: to.address,
          port: to.port,
          message: errorText(error),
          code: errorCode(error),
        });
      },
    );
}

/**
 * Builds the reply step of a listener.
 *
 * @param plan The listener's checked options.
 * @param transport Its socket.
 * @param stats Its counters.
 * @returns The step.
 */
export function createEgress(
  plan: ListenPlan,
  transport: Transport,
  stats: ListenerStats,
): Egress {
  const { auth, limiter, jitterMs, maxReplyBytes, onEvent, responder } = plan;
  const transmit = transmitter(transport, stats, plan);
  const jitterTimers = new Set<ReturnType<typeof setTimeout>>();
  let oversizeLoggedAt = -Infinity;

  const oversize = (datagram: Uint8Array, from: Peer, requestSize: number) => {
    stats.oversize++;
    // One line a second at most: the counter has the exact number.
    const now = performance.now();
    if (now - oversizeLoggedAt < 1000) return;
    oversizeLoggedAt = now;
    const size = datagram.byteLength;
    onEvent?.({
      event: "error",
      kind: "oversize",
      from: from.address,
      port: from.port,
      message:
        `Reply of ${size} bytes from "${responder.name}" dropped: more than ${REPLY_AMPLIFICATION_LIMIT}x the ${requestSize}-byte request (pad requests with send --pad ${
          Math.ceil(size / REPLY_AMPLIFICATION_LIMIT)
        }, or raise this listener's cap with --max-reply-bytes ${size})`,
    });
  };

  return {
    answer(reply, from, requestSize, nonce, seq) {
      const framed = seq < 0 ? reply : frameReply(seq, reply);
      const datagram = auth === undefined || nonce === undefined
        ? framed
        : auth.signReply(framed, nonce);
      const cap = Math.max(
        REPLY_AMPLIFICATION_LIMIT * requestSize,
        maxReplyBytes,
      );
      if (datagram.byteLength > cap) {
        oversize(datagram, from, requestSize);
        return;
      }
      if (
        limiter !== undefined &&
        !limiter.allow(from.address, performance.now())
      ) {
        stats.rateLimited++;
        return;
      }
      stats.pending++;
      if (jitterMs <= 0) {
        transmit(datagram, from);
        return;
      }
      const timer = setTimeout(() => {
        jitterTimers.delete(timer);
        transmit(datagram, from);
      }, Math.random() * jitterMs);
      jitterTimers.add(timer);
    },
    cancel() {
      for (const timer of jitterTimers) clearTimeout(timer);
      jitterTimers.clear();
    },
  };
}
