/**
 * A listener's drops, said as they happen: for each reason a `drop` event
 * naming the sender, what happened and what would change it, at most one
 * per reason a second (with the count since the previous one), so a flood
 * cannot flood the log. The counters stay exact; this only reports.
 *
 * It also polls the kernel's drop count for the socket, once a second
 * (never per datagram), into `stats.kernelDrops`, and reports its growth.
 *
 * @module
 */

import { formatEndpoint, parseIPv4, parseIPv6 } from "../address.ts";
import { REPLY_AMPLIFICATION_LIMIT } from "../defaults.ts";
import type { ListenerStats } from "../plugin.ts";
import type { Peer, Transport } from "../transports/transport.ts";
import type { ListenDropEvent } from "./events.ts";
import type { ListenPlan } from "./options.ts";

/** Why a datagram (or its reply) was dropped. */
export type DropReason = ListenDropEvent["reason"];

/** What a drop knows beyond its sender, for its sentence. */
export interface DropDetail {
  /** An oversize reply's size and its request's. */
  replyBytes?: number;
  /** The oversize reply's request size. */
  requestBytes?: number;
}

/** How long each reason stays quiet after an event: one a second at most. */
const QUIET_MS = 1000;

/** The reporting step of a listener. */
export interface Drops {
  /**
   * Reports `count` drops for `reason` (the caller has counted them),
   * as an event now or with the next one within a second.
   */
  report(
    reason: DropReason,
    from: Peer | undefined,
    detail?: DropDetail,
    count?: number,
  ): void;
  /**
   * Reads the kernel's count a last time (the socket is still open),
   * reports what is still waiting and stops the timers.
   */
  stop(): void;
}

/**
 * The range `--allow-from` would take to let `address` in: its /24 for
 * IPv4, its /64 for IPv6 (an IPv4-mapped IPv6 address as IPv4).
 *
 * @param address A sender's address.
 * @returns A CIDR block, or the address itself when it does not parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { allowFromBlock } from "./drops.ts";
 * assert.equal(allowFromBlock("10.77.2.11"), "10.77.2.0/24");
 * assert.equal(allowFromBlock("fd77:2::11"), "fd77:2::/64");
 * assert.equal(allowFromBlock("::ffff:10.1.2.3"), "10.1.2.0/24");
 * ```
 */
export function allowFromBlock(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const v4 = mapped ?? address;
  if (parseIPv4(v4) !== undefined) {
    return `${v4.split(".").slice(0, 3).join(".")}.0/24`;
  }
  const prefix = parseIPv6(address)?.slice(0, 4);
  if (prefix === undefined) return address;
  while (prefix.length > 0 && prefix.at(-1) === 0) prefix.pop();
  return `${prefix.map((group) => group.toString(16)).join(":")}::/64`;
}

function datagrams(count: number): string {
  return count === 1 ? "1 datagram" : `${count} datagrams`;
}

function replies(count: number): string {
  return count === 1 ? "1 reply" : `${count} replies`;
}

/** The sentence and the hint of a drop event. */
function explain(
  plan: ListenPlan,
  transport: Transport,
  reason: DropReason,
  count: number,
  from: Peer | undefined,
  detail: DropDetail,
): { message: string; hint: string } {
  const who = from === undefined ? "" : formatEndpoint(from.address, from.port);
  switch (reason) {
    case "refused":
      return {
        message: `Refused ${
          datagrams(count)
        }, the latest from ${who}: not a sender this listener answers (it answers ${
          plan.filter.ranges.join(", ") || "nobody"
        }); refused datagrams are not decoded or answered`,
        hint: `--allow-from ${allowFromBlock(from?.address ?? "")}`,
      };
    case "rateLimited":
      return rateLimited(plan, count, who);
    case "oversize": {
      const size = detail.replyBytes ?? 0;
      return {
        message: `Dropped ${
          replies(count)
        } from "${plan.responder.name}", the latest to ${who}: ${size} bytes, more than ${REPLY_AMPLIFICATION_LIMIT}x the ${
          detail.requestBytes ?? 0
        }-byte request (pad requests with send --pad ${
          Math.ceil(size / REPLY_AMPLIFICATION_LIMIT)
        }, or raise this listener's cap with --max-reply-bytes ${size})`,
        hint: `send --pad ${
          Math.ceil(size / REPLY_AMPLIFICATION_LIMIT)
        } (or --max-reply-bytes ${size} here)`,
      };
    }
    case "unsigned":
      return {
        message: `Dropped ${
          datagrams(count)
        } without a signature, the latest from ${who}: this listener answers only requests signed with its key`,
        hint: "send --key-file FILE, with this listener's key",
      };
    case "badSignature":
      return {
        message: `Dropped ${
          datagrams(count)
        } whose signature does not verify, the latest from ${who}: signed with another key, or changed on the way`,
        hint: "the same --key-file on both sides",
      };
    case "stale":
      return {
        message: `Dropped ${
          datagrams(count)
        } signed too long ago, the latest from ${who}: its timestamp is outside this listener's window, so the two clocks disagree (or it was held up)`,
        hint: "synchronise both hosts' clocks (NTP)",
      };
    case "replayed":
      return {
        message: `Dropped ${
          datagrams(count)
        } seen before, the latest from ${who}: a signed request is answered once (a replay, or a copy made on the way)`,
        hint: "send a new request rather than the same datagram again",
      };
    case "kernel":
      return {
        message: `The kernel dropped ${
          datagrams(count)
        } for this socket: its receive buffer was full, the listener fell behind`,
        hint: transport.name === "ffi"
          ? `${
            largerBuffer(transport)
          } (above net.core.rmem_max only as root), or a faster responder`
          : "--transport ffi (a larger receive buffer, a faster receive), or a faster responder",
      };
  }
}

/**
 * `--recv-buffer` twice what the socket has: the kernel reports twice what
 * it granted, so that figure itself.
 */
function largerBuffer(transport: Transport): string {
  const reported = transport.receiveBufferBytes?.() ?? 0;
  if (reported <= 0) return "a larger --recv-buffer";
  return reported >= 1 << 20
    ? `--recv-buffer ${Math.ceil(reported / (1 << 20))}M`
    : `--recv-buffer ${Math.ceil(reported / 1024)}K`;
}

function rateLimited(
  plan: ListenPlan,
  count: number,
  who: string,
): { message: string; hint: string } {
  const limiter = plan.limiter;
  const limits = limiter?.limits;
  if (limiter?.refusedBy === "global") {
    return {
      message: `Dropped ${
        replies(count)
      }, the latest to ${who}: over this listener's global rate limit (${limits?.global}/s, burst ${limits?.globalBurst})`,
      hint: "--global-rate R (0 turns it off)",
    };
  }
  return {
    message: `Dropped ${
      replies(count)
    }, the latest to ${who}: over the rate limit for one sender (${limits?.perSource}/s, burst ${limits?.perSourceBurst})`,
    hint: "--rate-limit R and --burst B (0 turns it off)",
  };
}

/** One reason's drops waiting for their event. */
interface Pending {
  count: number;
  from: Peer | undefined;
  detail: DropDetail;
  lastAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Builds the reporting step of a listener and starts polling the
 * kernel's drop count when the transport can read it.
 *
 * @param plan The listener's checked options (`onEvent` receives the events).
 * @param transport Its socket.
 * @param stats Its counters: `kernelDrops` is kept here.
 * @returns The step.
 */
export function createDrops(
  plan: ListenPlan,
  transport: Transport,
  stats: ListenerStats,
): Drops {
  const { onEvent } = plan;
  const pending = new Map<DropReason, Pending>();
  const emit = (reason: DropReason, state: Pending) => {
    clearTimeout(state.timer);
    state.timer = undefined;
    if (state.count === 0) return;
    const { from, count, detail } = state;
    state.count = 0;
    state.lastAt = performance.now();
    onEvent?.({
      event: "drop",
      reason,
      count,
      ...(from === undefined ? {} : { from: from.address, port: from.port }),
      ...explain(plan, transport, reason, count, from, detail),
    });
  };
  const report: Drops["report"] = (reason, from, detail = {}, count = 1) => {
    if (onEvent === undefined) return;
    let state = pending.get(reason);
    if (state === undefined) {
      state = { count: 0, from, detail, lastAt: -Infinity, timer: undefined };
      pending.set(reason, state);
    }
    state.count += count;
    state.from = from;
    state.detail = detail;
    later(reason, state);
  };
  // Now if the reason's second is over, else once it is (timers may fire
  // a little early: never before).
  const later = (reason: DropReason, state: Pending) => {
    const wait = state.lastAt + QUIET_MS - performance.now();
    if (wait <= 0) return emit(reason, state);
    state.timer ??= setTimeout(() => {
      state.timer = undefined;
      later(reason, state);
    }, Math.ceil(wait));
  };
  const poll = kernelPoll(transport, stats, report);
  return {
    report,
    stop() {
      poll.stop();
      for (const [reason, state] of pending) emit(reason, state);
    },
  };
}

/**
 * Reads the kernel's drop count into `stats.kernelDrops` once a second
 * (and once more on `stop`), reporting its growth; nothing where the
 * transport cannot read it.
 */
function kernelPoll(
  transport: Transport,
  stats: ListenerStats,
  report: Drops["report"],
): { stop(): void } {
  const first = transport.droppedByKernel?.();
  if (first === undefined) return { stop() {} };
  stats.kernelDrops = first;
  const read = () => {
    const now = transport.droppedByKernel?.();
    if (now === undefined || now <= (stats.kernelDrops ?? 0)) return;
    const grown = now - (stats.kernelDrops ?? 0);
    stats.kernelDrops = now;
    report("kernel", undefined, {}, grown);
  };
  const timer = setInterval(read, QUIET_MS);
  // The socket keeps a listener running; this timer alone need not.
  Deno.unrefTimer(timer);
  return {
    stop() {
      clearInterval(timer);
      read();
    },
  };
}
