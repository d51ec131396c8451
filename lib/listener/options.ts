/**
 * The first step of a listener: its options, checked before any socket
 * opens, and the plan the other steps follow.
 *
 * @module
 */

import { addressFamily } from "../address.ts";
import { Authenticator } from "../safety/auth.ts";
import {
  denoTransportAvailable,
  openDenoTransport,
} from "../transports/deno_udp.ts";
import {
  DEFAULT_AUTH_WINDOW_MS,
  DEFAULT_PORT,
  DEFAULT_RESPOND_TIMEOUT_MS,
} from "../defaults.ts";
import { openDgramTransport } from "../transports/node_dgram.ts";
import { type Duration, parseDuration } from "../duration.ts";
import { McastRangeError, McastTypeError } from "../errors.ts";
import type { MulticastGroup } from "../group.ts";
import { resolveInterface } from "../interface.ts";
import { validatePort } from "../numbers.ts";
import type { Codec, Responder } from "../plugin.ts";
import { RateLimiter, type RateLimitOptions } from "../safety/rate_limiter.ts";
import { SourceFilter } from "../safety/source_filter.ts";
import type { TransportFactory } from "../transports/transport.ts";
import type { EventSink, ListenEvent } from "./events.ts";

/** Options for {@linkcode listen}. */
export interface ListenOptions {
  /** Decides the reply to each message. */
  responder: Responder;
  /** Decodes requests and encodes replies; without one, payloads are raw bytes. */
  codec?: Codec;
  /**
   * The multicast group to join: an address, or a group `parseGroup`
   * made. @default {"224.3.29.71"}
   */
  group?: string | MulticastGroup;
  /**
   * Several groups to join instead of one (give `group` or `groups`), on
   * one port with one responder, like mcjoin: on one socket per address
   * family where the `transport` tells each datagram's destination (the
   * FFI transport), else on a socket per group (bound to the group
   * address on Linux); `Listener.perGroup` counts each group's datagrams
   * and replies exactly either way. IPv4 and IPv6 groups may be mixed on
   * transports that serve both (`dgram`, `ffi`).
   * Events carry the `group` they came to. The responder's `setup` and
   * `teardown` run once.
   */
  groups?: readonly (string | MulticastGroup)[];
  /** The UDP port to listen on; 0 picks a free one (see `Listener.port`). @default {10000} */
  port?: number;
  /** Join on this interface (address or name). @default the OS's choice */
  interface?: string;
  /**
   * Source-specific join: accept the group's traffic from this source only
   * (with `groups`, each group's). A group made by `parseGroup` with a
   * source carries it already.
   */
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
  /**
   * While datagrams keep coming and no reply is pending, wait for the next
   * one blocking this thread, on transports that can (`waitOnThread`:
   * ffi, one group): each request wakes the listener itself, as it wakes
   * a C server blocked in `recvfrom`, and its reply leaves with no thread
   * hand-over in between. The event loop gets a turn every few
   * milliseconds, and after a quiet spell of 10 ms the listener waits as
   * usual. For a process with nothing else to do, such as
   * `deno task listen`. @default {false}
   */
  blockingWait?: boolean;
}

/** A listener's checked options: what the other steps work from. */
export interface ListenPlan {
  /** The group, and its source for a source-specific join. */
  group: MulticastGroup;
  port: number;
  iface: string | undefined;
  responder: Responder;
  codec: Codec | undefined;
  bindAddress: string;
  loopback: boolean;
  respondTimeoutMs: number;
  jitterMs: number;
  maxReplyBytes: number;
  filter: SourceFilter;
  limiter: RateLimiter | undefined;
  auth: Authenticator | undefined;
  open: TransportFactory;
  onEvent: EventSink;
  signal: AbortSignal | undefined;
  blockingWait: boolean;
}

/**
 * The rate limiter of a listener's replies, checked; `undefined` when
 * every limit is off (`false`, or both rates 0), so that no reply pays for
 * a clock read and a bucket look-up that can refuse nothing.
 */
function replyLimiter(
  options: RateLimitOptions | false | undefined,
): RateLimiter | undefined {
  if (options === false) return undefined;
  const limiter = new RateLimiter(options);
  const { perSource, global } = limiter.limits;
  return perSource === 0 && global === 0 ? undefined : limiter;
}

/**
 * Where a listener binds by default. On Linux, the group address: the
 * socket then gets only this group's datagrams. An IPv6 interface- or
 * link-local group (ffx1::, ffx2::) can only be bound with a zone, taken
 * from the interface; without one, the wildcard.
 */
function defaultBindAddress(
  group: MulticastGroup,
  iface: string | undefined,
): string {
  const any = group.family === "IPv4" ? "0.0.0.0" : "::";
  if (Deno.build.os !== "linux") return any;
  if (
    group.family === "IPv6" &&
    (group.scope === "interface-local" || group.scope === "link-local")
  ) {
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
function defaultTransport(group: MulticastGroup): TransportFactory {
  return group.family === "IPv4" && group.source === undefined &&
      denoTransportAvailable()
    ? openDenoTransport
    : openDgramTransport;
}

function checkResponder(responder: Responder): Responder {
  if (
    typeof responder !== "object" || responder === null ||
    typeof responder.respond !== "function"
  ) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      "Invalid responder: expected an object with a respond() function",
    );
  }
  return responder;
}

function checkBindAddress(address: string, group: MulticastGroup): string {
  if (addressFamily(address) !== group.family) {
    throw new McastTypeError(
      "ERR_INVALID_OPTION",
      `Invalid bind address "${address}": not an ${group.family} address`,
    );
  }
  return address;
}

function checkMaxReplyBytes(value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new McastRangeError(
      "ERR_INVALID_OPTION",
      `Invalid max reply bytes ${value}: must be an integer >= 0`,
    );
  }
  return value;
}

/**
 * Checks every other option of {@linkcode listen} and resolves the
 * defaults, before any socket opens, for one group already parsed (its
 * `group`, `groups` and `source` are not read again).
 *
 * @throws {McastTypeError|McastRangeError} for a bad option, naming the value.
 */
export function planListen(
  group: MulticastGroup,
  options: ListenOptions,
): ListenPlan {
  const iface = options.interface === undefined
    ? undefined
    : resolveInterface(options.interface, group.family);
  const windowMs = parseDuration(
    options.authWindow ?? DEFAULT_AUTH_WINDOW_MS,
    "auth window",
  );
  return {
    group,
    port: validatePort(options.port ?? DEFAULT_PORT, { allowZero: true }),
    iface,
    responder: checkResponder(options.responder),
    codec: options.codec,
    bindAddress: checkBindAddress(
      options.bindAddress ?? defaultBindAddress(group, iface),
      group,
    ),
    loopback: options.loopback ?? true,
    respondTimeoutMs: parseDuration(
      options.respondTimeout ?? DEFAULT_RESPOND_TIMEOUT_MS,
      "respond timeout",
    ),
    jitterMs: parseDuration(options.jitter ?? 0, "jitter"),
    maxReplyBytes: checkMaxReplyBytes(options.maxReplyBytes ?? 0),
    filter: new SourceFilter(options.allowFrom),
    limiter: replyLimiter(options.rateLimit),
    auth: options.key === undefined
      ? undefined
      : new Authenticator(options.key, { windowMs }),
    open: options.transport ?? defaultTransport(group),
    onEvent: options.onEvent,
    signal: options.signal,
    blockingWait: options.blockingWait === true,
  };
}
