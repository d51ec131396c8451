/**
 * The listening half: bind a port, join a group, and answer each datagram
 * with a responder. The listener never dies from a bad datagram or a
 * failing plugin: every datagram ends in exactly one counter.
 *
 * @module
 */

import {
  addressFamily,
  type Group,
  validateGroup,
  validateUnicast,
} from "./address.ts";
import {
  DEFAULT_GROUP,
  DEFAULT_PORT,
  DEFAULT_RECEIVE_BYTES,
  REPLY_AMPLIFICATION_LIMIT,
} from "./defaults.ts";
import {
  datagramTransportAvailable,
  openDatagramTransport,
} from "./datagram_transport.ts";
import { openDgramTransport } from "./dgram_transport.ts";
import { dispatch, type Outcome, type Pipeline } from "./dispatch.ts";
import { type Duration, parseDuration } from "./duration.ts";
import { Authenticator } from "./auth.ts";
import { McastRangeError, McastTypeError, PluginError } from "./errors.ts";
import { resolveInterface } from "./interface.ts";
import { validatePort } from "./numbers.ts";
import {
  type Codec,
  type ListenerStats,
  newListenerStats,
  type Responder,
  type ResponderContext,
} from "./plugin.ts";
import { RateLimiter, type RateLimitOptions } from "./rate_limiter.ts";
import { frameReply, unframeRequest, unpadRequest } from "./sequence.ts";
import { SourceFilter } from "./source_filter.ts";
import type { Peer, Transport, TransportFactory } from "./transport.ts";

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  /** Decides the reply to each message. */
  responder: Responder;
  /** Decodes requests and encodes replies; without one, payloads are raw bytes. */
  codec?: Codec;
  /** The multicast group to join. @default {"224.3.29.71"} */
  group?: string;
  /** The UDP port to listen on; 0 picks a free one (see `Listener.port`). @default {10000} */
  port?: number;
  /** Join on this interface (address or name). @default the OS's choice */
  interface?: string;
  /** Source-specific join: accept the group's traffic from this source only. */
  source?: string;
  /**
   * Local address to bind. The default on Linux is the group address, so
   * the socket gets only this group's traffic (not unicast to the host,
   * not other groups joined on the same port); elsewhere the wildcard.
   */
  bindAddress?: string;
  /** Whether replies multicast by this socket loop back (rarely matters). @default {true} */
  loopback?: boolean;
  /** How long an asynchronous responder may take per message. @default {5000} */
  respondTimeout?: Duration;
  /**
   * Senders answered, as CIDR blocks or addresses. Others are refused and
   * counted. @default this host's directly connected subnets (needs `--allow-sys=networkInterfaces`)
   */
  allowFrom?: readonly string[];
  /**
   * The largest reply, in bytes, beside three times the request's size: a
   * reply may be as large as the larger of the two. Larger replies are
   * dropped and counted (`oversize`), never truncated; a client that wants
   * a larger reply pads its request (`send --pad`). @default {0} (no reply
   * larger than 3x its request)
   */
  maxReplyBytes?: number;
  /** Reply rate limits per source and in total; `false` turns them off. @default 10/s per source (burst 20), 1000/s in total (burst 2000) */
  rateLimit?: RateLimitOptions | false;
  /** Delay each reply by a random time up to this (implosion control). @default {0} */
  jitter?: Duration;
  /** Shared key: requests must be signed with it (HMAC-SHA256), replies are signed. */
  key?: Uint8Array;
  /** How far a signed request's timestamp may be from this host's clock. @default {30000} */
  authWindow?: Duration;
  /** Closes the listener when aborted. */
  signal?: AbortSignal;
  /**
   * Opens the socket. @default `Deno.listenDatagram` where `--unstable-net`
   * is on and the group is IPv4 without a source filter; `node:dgram` otherwise
   */
  transport?: TransportFactory;
  /** Sees every message, reply and error, for logging. Must not throw. */
  onEvent?: (event: ListenEvent) => void;
}

/** A datagram arrived and decoded. */
export interface MessageEvent {
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
export interface ReplyEvent {
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
export interface ErrorEvent {
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
export type ListenEvent = MessageEvent | ReplyEvent | ErrorEvent;

/** A running listener. */
export interface Listener extends AsyncDisposable {
  /** The group joined. */
  readonly group: string;
  /** The UDP port bound (useful when 0 was asked for). */
  readonly port: number;
  /** The interface joined on, when one was chosen. */
  readonly interface: string | undefined;
  /** The socket layer in use: `deno`, `dgram`, `ffi`, or the custom transport's name. */
  readonly transport: string;
  /** Live counters. */
  readonly stats: Readonly<ListenerStats>;
  /** Resolves with the final counters once the listener has closed. */
  readonly closed: Promise<ListenerStats>;
  /** Leaves the group, closes the socket, runs the responder's teardown (for 500 ms at most); idempotent. */
  close(): Promise<ListenerStats>;
}

/**
 * Where a listener binds by default. On Linux, the group address: the
 * socket then gets only this group's datagrams. An IPv6 interface- or
 * link-local group (ffx1::, ffx2::) can only be bound with a zone, taken
 * from the interface; without one, the wildcard.
 */
function defaultBindAddress(group: Group, iface: string | undefined): string {
  const any = group.family === "IPv4" ? "0.0.0.0" : "::";
  if (Deno.build.os !== "linux") return any;
  if (group.family === "IPv6" && /^ff[0-9a-f][12]:/i.test(group.address)) {
    const zone = iface?.match(/%[^%]+$/)?.[0];
    return zone === undefined ? any : group.address + zone;
  }
  return group.address;
}

/**
 * The transport a listener uses unless told: Deno's own UDP API where it
 * is available (`--unstable-net`) and can serve the group (IPv4, no source
 * filter), since it receives several times faster; `node:dgram` otherwise.
 */
function defaultTransport(
  group: Group,
  source: string | undefined,
): TransportFactory {
  return group.family === "IPv4" && source === undefined &&
      datagramTransportAvailable()
    ? openDatagramTransport
    : openDgramTransport;
}

/** How long a responder's teardown may take before the listener closes without it. */
const TEARDOWN_LIMIT_MS = 500;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Joins a group and answers every datagram with `responder`. All options
 * are checked before any socket opens.
 *
 * @param options Group, port, interface, responder and codec.
 * @returns The running listener, once it has joined and the responder's `setup` has run.
 * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
 * @throws {SocketError} when the socket cannot bind or join.
 * @throws {PluginError} when the responder's `setup` throws.
 *
 * @example Answer "ack" on loopback until aborted
 * ```ts ignore
 * import { listen } from "./listen.ts";
 * const controller = new AbortController();
 * const listener = await listen({
 *   group: "239.1.2.3",
 *   interface: "127.0.0.1",
 *   responder: { name: "ack", respond: () => "ack" },
 *   signal: controller.signal,
 * });
 * controller.abort();
 * console.log(await listener.closed);
 * ```
 */
export async function listen(options: ListenOptions): Promise<Listener> {
  const group = validateGroup(options.group ?? DEFAULT_GROUP);
  const port = validatePort(options.port ?? DEFAULT_PORT, { allowZero: true });
  const iface = options.interface === undefined
    ? undefined
    : resolveInterface(options.interface, group.family);
  const source = options.source;
  if (source !== undefined) {
    const family = validateUnicast(source, "source");
    if (family !== group.family) {
      throw new McastTypeError(
        "ERR_INVALID_SOURCE",
        `Invalid source "${source}": an ${family} source cannot send to the ${group.family} group ${group.address}`,
      );
    }
  }
  const responder = options.responder;
  if (
    typeof responder !== "object" || responder === null ||
    typeof responder.respond !== "function"
  ) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      "Invalid responder: expected an object with a respond() function",
    );
  }
  const bindAddress = options.bindAddress ?? defaultBindAddress(group, iface);
  if (addressFamily(bindAddress) !== group.family) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      `Invalid bind address "${bindAddress}": not an ${group.family} address`,
    );
  }
  const respondTimeoutMs = parseDuration(
    options.respondTimeout ?? 5000,
    "respond timeout",
  );
  const jitterMs = parseDuration(options.jitter ?? 0, "jitter");
  const maxReplyBytes = options.maxReplyBytes ?? 0;
  if (!Number.isInteger(maxReplyBytes) || maxReplyBytes < 0) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid max reply bytes ${maxReplyBytes}: must be an integer >= 0`,
    );
  }
  const filter = new SourceFilter(options.allowFrom);
  const limiter = options.rateLimit === false
    ? undefined
    : new RateLimiter(options.rateLimit);
  const auth = options.key === undefined ? undefined : new Authenticator(
    options.key,
    { windowMs: parseDuration(options.authWindow ?? 30_000, "auth window") },
  );
  const onEvent = options.onEvent;

  const open = options.transport ?? defaultTransport(group, source);
  const transport: Transport = await open({
    family: group.family,
    address: bindAddress,
    port,
    reuseAddress: true,
    receiveBytes: DEFAULT_RECEIVE_BYTES,
  });
  const boundPort = transport.localAddress().port;
  const leaveGroup = () =>
    source === undefined
      ? transport.leave(group.address, iface)
      : transport.leaveSource(source, group.address, iface);
  try {
    if (source === undefined) await transport.join(group.address, iface);
    else transport.joinSource(source, group.address, iface);
    transport.setLoopback(options.loopback ?? true);
    // No outgoing interface to set: a listener's replies are unicast.
  } catch (error) {
    await transport.close();
    throw error;
  }

  const stats = newListenerStats();
  const context: ResponderContext = {
    group: group.address,
    port: boundPort,
    interface: iface,
    startedAt: Date.now(),
    stats,
  };
  const pipeline: Pipeline = {
    codec: options.codec,
    responder,
    context,
    respondTimeoutMs,
  };

  try {
    await responder.setup?.(context);
  } catch (error) {
    await transport.close();
    throw new PluginError(
      "ERR_PLUGIN_HOOK",
      responder.name,
      `Plugin "${responder.name}" failed in setup(): ${message(error)}`,
      { hook: "setup", cause: error },
    );
  }

  let closing = false;
  const show = options.codec?.show?.bind(options.codec);
  const jitterTimers = new Set<ReturnType<typeof setTimeout>>();
  let oversizeLoggedAt = -Infinity;

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
  const transmit = (reply: Uint8Array, to: Peer) => {
    const sending = transport.send(reply, to.port, to.address);
    if (onEvent === undefined) {
      sending.then(sent, notSent);
      return;
    }
    sending.then(
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
          message: message(error),
          code: codeOf(error),
        });
      },
    );
  };

  const answer = (
    reply: Uint8Array,
    from: Peer,
    requestSize: number,
    nonce: Uint8Array | undefined,
    seq: number,
  ) => {
    const framed = seq < 0 ? reply : frameReply(seq, reply);
    const datagram = auth === undefined || nonce === undefined
      ? framed
      : auth.signReply(framed, nonce);
    const cap = Math.max(
      REPLY_AMPLIFICATION_LIMIT * requestSize,
      maxReplyBytes,
    );
    if (datagram.byteLength > cap) {
      stats.oversize++;
      // One line a second at most: the counter has the exact number.
      const now = performance.now();
      if (now - oversizeLoggedAt >= 1000) {
        oversizeLoggedAt = now;
        onEvent?.({
          event: "error",
          kind: "oversize",
          from: from.address,
          port: from.port,
          message:
            `Reply of ${datagram.byteLength} bytes from "${responder.name}" dropped: more than ${REPLY_AMPLIFICATION_LIMIT}x the ${requestSize}-byte request (pad requests with send --pad ${
              Math.ceil(datagram.byteLength / REPLY_AMPLIFICATION_LIMIT)
            }, or raise this listener's cap with --max-reply-bytes ${datagram.byteLength})`,
        });
      }
      return;
    }
    if (
      limiter !== undefined && !limiter.allow(from.address, performance.now())
    ) {
      stats.rateLimited++;
      return;
    }
    stats.pending++;
    if (jitterMs > 0) {
      const timer = setTimeout(() => {
        jitterTimers.delete(timer);
        transmit(datagram, from);
      }, Math.random() * jitterMs);
      jitterTimers.add(timer);
    } else {
      transmit(datagram, from);
    }
  };

  const undecodable = (from: Peer, why: string) => {
    stats.decodeErrors++;
    onEvent?.({
      event: "error",
      kind: "decode",
      from: from.address,
      port: from.port,
      message: why,
    });
  };

  const finish = (
    outcome: Outcome,
    from: Peer,
    requestSize: number,
    nonce: Uint8Array | undefined,
    seq: number,
  ) => {
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
        answer(outcome.reply, from, requestSize, nonce, seq);
        break;
      case "unanswered":
        stats.unanswered++;
        break;
      case "decode-error":
        undecodable(from, message(outcome.error));
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

  const AUTH_COUNTERS = {
    "unsigned": "unsigned",
    "bad-signature": "badSignature",
    "stale": "stale",
    "replayed": "replayed",
  } as const;

  transport.onError((error) => {
    onEvent?.({
      event: "error",
      kind: "socket",
      message: message(error),
      code: codeOf(error),
    });
  });
  const kernelDrops = transport.droppedByKernel?.bind(transport);
  if (kernelDrops !== undefined) stats.kernelDrops = 0;
  transport.onDatagram((data: Uint8Array, from: Peer, truncated?: boolean) => {
    if (closing) return;
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
      undecodable(from, message(error));
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
    if (outcome instanceof Promise) {
      stats.pending++;
      outcome.then((settled) => {
        if (closing) return;
        stats.pending--;
        finish(settled, from, requestSize, nonce, seq);
      });
    } else {
      finish(outcome, from, requestSize, nonce, seq);
    }
  });

  let resolveClosed!: (stats: ListenerStats) => void;
  const closed = new Promise<ListenerStats>((resolve) => {
    resolveClosed = resolve;
  });
  let closingPromise: Promise<ListenerStats> | undefined;
  const close = (): Promise<ListenerStats> => {
    closingPromise ??= (async () => {
      closing = true;
      options.signal?.removeEventListener("abort", abort);
      for (const timer of jitterTimers) clearTimeout(timer);
      try {
        await leaveGroup();
      } catch (error) {
        onEvent?.({ event: "error", kind: "leave", message: message(error) });
      }
      await transport.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        // A teardown gets a bounded time, so a stop always completes.
        await Promise.race([
          responder.teardown?.(),
          new Promise((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new Error(`did not finish within ${TEARDOWN_LIMIT_MS} ms`),
                ),
              TEARDOWN_LIMIT_MS,
            );
          }),
        ]);
      } catch (error) {
        onEvent?.({
          event: "error",
          kind: "teardown",
          message: `Plugin "${responder.name}" failed in teardown(): ${
            message(error)
          }`,
          code: "ERR_PLUGIN_HOOK",
        });
      }
      clearTimeout(timer);
      const final = { ...stats };
      resolveClosed(final);
      return final;
    })();
    return closingPromise;
  };
  const abort = () => void close();
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener("abort", abort, { once: true });

  return {
    group: group.address,
    port: boundPort,
    interface: iface,
    transport: transport.name ?? "custom",
    stats,
    closed,
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}
