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
import type { Drops } from "./drops.ts";
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

/**
 * Sends and counts; reports the outcome when someone listens for events.
 * Where the transport can send at once (`sendNow`: ffi), a reply leaves
 * on this thread and is counted before this returns, with no promise per
 * reply; a full send buffer (or a transport without it) sends through
 * `send`, the reply pending until it settles.
 */
function transmitter(
  transport: Transport,
  stats: ListenerStats,
  plan: ListenPlan,
): (reply: Uint8Array, to: Peer) => void {
  const { onEvent } = plan;
  const replied = onEvent === undefined
    ? () => void stats.replied++
    : (reply: Uint8Array, to: Peer) => {
      stats.replied++;
      onEvent({
        event: "reply",
        to: to.address,
        port: to.port,
        size: reply.byteLength,
      });
    };
  const failed = (error: unknown, to: Peer) => {
    stats.sendErrors++;
    onEvent?.({
      event: "error",
      kind: "send",
      from: to.address,
      port: to.port,
      message: errorText(error),
      code: errorCode(error),
    });
  };
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
  const later = onEvent === undefined
    ? (reply: Uint8Array, to: Peer) => {
      stats.pending++;
      transport.send(reply, to.port, to.address).then(sent, notSent);
    }
    : (reply: Uint8Array, to: Peer) => {
      stats.pending++;
      transport.send(reply, to.port, to.address).then(
        () => {
          stats.pending--;
          replied(reply, to);
        },
        (error) => {
          stats.pending--;
          failed(error, to);
        },
      );
    };
  if (transport.sendNow === undefined) return later;
  return (reply, to) => {
    let left: boolean;
    try {
      left = transport.sendNow!(reply, to.port, to.address);
    } catch (error) {
      failed(error, to);
      return;
    }
    if (left) replied(reply, to);
    else later(reply, to);
  };
}

/**
 * Builds the reply step of a listener.
 *
 * @param plan The listener's checked options.
 * @param transport Its socket.
 * @param stats Its counters.
 * @param drops Where replies dropped over the cap or a rate limit are reported.
 * @returns The step.
 */
export function createEgress(
  plan: ListenPlan,
  transport: Transport,
  stats: ListenerStats,
  drops: Drops,
): Egress {
  const { auth, limiter, jitterMs, maxReplyBytes } = plan;
  const transmit = transmitter(transport, stats, plan);
  const jitterTimers = new Set<ReturnType<typeof setTimeout>>();

  const oversize = (datagram: Uint8Array, from: Peer, requestSize: number) => {
    stats.oversize++;
    drops.report("oversize", from, {
      replyBytes: datagram.byteLength,
      requestBytes: requestSize,
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
        drops.report("rateLimited", from);
        return;
      }
      if (jitterMs <= 0) {
        transmit(datagram, from);
        return;
      }
      // Pending while it waits out its jitter; then as any other reply.
      stats.pending++;
      const timer = setTimeout(() => {
        jitterTimers.delete(timer);
        stats.pending--;
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
