/**
 * The listening half: bind a port, join a group, and answer each datagram
 * with a responder. The listener never dies from a bad datagram or a
 * failing plugin: every datagram ends in exactly one counter.
 *
 * @module
 */

import { addressFamily, validateGroup, validateUnicast } from "./address.ts";
import { DEFAULT_GROUP, DEFAULT_PORT } from "./defaults.ts";
import { openDgramTransport } from "./dgram_transport.ts";
import { dispatch, type Outcome, type Pipeline } from "./dispatch.ts";
import { type Duration, parseDuration } from "./duration.ts";
import { McastTypeError, PluginError } from "./errors.ts";
import { resolveInterface } from "./interface.ts";
import { validatePort } from "./numbers.ts";
import type {
  Codec,
  ListenerStats,
  Responder,
  ResponderContext,
} from "./plugin.ts";
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
  /** Closes the listener when aborted. */
  signal?: AbortSignal;
  /** Opens the socket. @default the `node:dgram` transport */
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
  kind: "decode" | "plugin" | "send" | "socket" | "teardown" | "leave";
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
  /** Live counters. */
  readonly stats: Readonly<ListenerStats>;
  /** Resolves with the final counters once the listener has closed. */
  readonly closed: Promise<ListenerStats>;
  /** Leaves the group, closes the socket, runs the responder's teardown; idempotent. */
  close(): Promise<ListenerStats>;
}

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
  const bindAddress = options.bindAddress ??
    (Deno.build.os === "linux"
      ? group.address
      : group.family === "IPv4"
      ? "0.0.0.0"
      : "::");
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
  const onEvent = options.onEvent;

  const open = options.transport ?? openDgramTransport;
  const transport: Transport = await open({
    family: group.family,
    address: bindAddress,
    port,
    reuseAddress: true,
  });
  const boundPort = transport.localAddress().port;
  const leaveGroup = () =>
    source === undefined
      ? transport.leave(group.address, iface)
      : transport.leaveSource(source, group.address, iface);
  try {
    if (source === undefined) transport.join(group.address, iface);
    else transport.joinSource(source, group.address, iface);
    transport.setLoopback(options.loopback ?? true);
    if (iface !== undefined) transport.setInterface(iface);
  } catch (error) {
    await transport.close();
    throw error;
  }

  const stats: ListenerStats = {
    received: 0,
    replied: 0,
    unanswered: 0,
    decodeErrors: 0,
    pluginErrors: 0,
    sendErrors: 0,
    pending: 0,
  };
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

  const finish = (outcome: Outcome, from: Peer) => {
    switch (outcome.kind) {
      case "reply": {
        const size = outcome.reply.byteLength;
        transport.send(outcome.reply, from.port, from.address).then(
          () => {
            stats.replied++;
            onEvent?.({
              event: "reply",
              to: from.address,
              port: from.port,
              size,
            });
          },
          (error) => {
            stats.sendErrors++;
            onEvent?.({
              event: "error",
              kind: "send",
              from: from.address,
              port: from.port,
              message: message(error),
              code: codeOf(error),
            });
          },
        );
        break;
      }
      case "unanswered":
        stats.unanswered++;
        break;
      case "decode-error":
        stats.decodeErrors++;
        onEvent?.({
          event: "error",
          kind: "decode",
          from: from.address,
          port: from.port,
          message: message(outcome.error),
        });
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

  transport.onError((error) => {
    onEvent?.({
      event: "error",
      kind: "socket",
      message: message(error),
      code: codeOf(error),
    });
  });
  transport.onDatagram((data: Uint8Array, from: Peer) => {
    if (closing) return;
    stats.received++;
    const bytes = transport.reusesBuffers ? data.slice() : data;
    const outcome = dispatch(bytes, from, pipeline);
    if (onEvent !== undefined && !(outcome instanceof Promise)) {
      if (outcome.kind !== "decode-error") {
        onEvent({
          event: "message",
          from: from.address,
          port: from.port,
          size: bytes.byteLength,
          payload: show ? show(outcome.payload) : outcome.payload,
        });
      }
    }
    if (outcome instanceof Promise) {
      stats.pending++;
      outcome.then((settled) => {
        if (closing) return;
        stats.pending--;
        if (onEvent !== undefined && settled.kind !== "decode-error") {
          onEvent({
            event: "message",
            from: from.address,
            port: from.port,
            size: bytes.byteLength,
            payload: show ? show(settled.payload) : settled.payload,
          });
        }
        finish(settled, from);
      });
    } else {
      finish(outcome, from);
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
      try {
        leaveGroup();
      } catch (error) {
        onEvent?.({ event: "error", kind: "leave", message: message(error) });
      }
      await transport.close();
      try {
        await responder.teardown?.();
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
    stats,
    closed,
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}
