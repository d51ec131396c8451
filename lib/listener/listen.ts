/**
 * The listening half: bind a port, join a group, and answer each datagram
 * with a responder. The listener never dies from a bad datagram or a
 * failing plugin: every datagram ends in exactly one counter.
 *
 * `listen()` runs named steps: the options ({@linkcode planListen}), the
 * socket (open, join), the responder's setup, the intake and egress of
 * datagrams (`intake.ts`, `egress.ts`), and the close.
 *
 * @module
 */

import { DEFAULT_RECEIVE_BYTES, TEARDOWN_LIMIT_MS } from "../defaults.ts";
import { errorCode, errorText, PluginError } from "../errors.ts";
import {
  type ListenerStats,
  newListenerStats,
  type ResponderContext,
} from "../plugin.ts";
import type { MulticastGroup } from "../group.ts";
import type { Transport } from "../transports/transport.ts";
import { createDrops, type Drops } from "./drops.ts";
import { createEgress, type Egress } from "./egress.ts";
import { createIntake, type Intake } from "./intake.ts";
import type { Listener } from "./listener.ts";
import { type ListenOptions, type ListenPlan, planListen } from "./options.ts";
import { listenGroups, listenToGroups } from "./groups.ts";

export type { Listener } from "./listener.ts";
export type { ListenOptions } from "./options.ts";
export type {
  ListenDropEvent,
  ListenErrorEvent,
  ListenEvent,
  ListenMessageEvent,
  ListenReplyEvent,
} from "./events.ts";

/** The socket step: open, bind, join, loopback; closed again on failure. */
async function openAndJoin(plan: ListenPlan): Promise<Transport> {
  const { group, iface } = plan;
  const transport = await plan.open({
    family: group.family,
    address: plan.bindAddress,
    port: plan.port,
    reuseAddress: true,
    receiveBytes: DEFAULT_RECEIVE_BYTES,
  });
  try {
    if (group.source === undefined) await transport.join(group.address, iface);
    else transport.joinSource(group.source, group.address, iface);
    transport.setLoopback(plan.loopback);
    // No outgoing interface to set: a listener's replies are unicast.
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}

/** The setup step: the responder's `setup` hook, the socket closed on failure. */
async function setUp(
  plan: ListenPlan,
  context: ResponderContext,
  transport: Transport,
): Promise<void> {
  const { responder } = plan;
  try {
    await responder.setup?.(context);
  } catch (error) {
    await transport.close();
    throw new PluginError(
      "ERR_PLUGIN_HOOK",
      responder.name,
      `Plugin "${responder.name}" failed in setup(): ${errorText(error)}`,
      { hook: "setup", cause: error },
    );
  }
}

/** Runs the responder's teardown for {@linkcode TEARDOWN_LIMIT_MS} at most. */
async function tearDown(plan: ListenPlan): Promise<void> {
  const { responder, onEvent } = plan;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // A teardown gets a bounded time, so a stop always completes.
    await Promise.race([
      responder.teardown?.(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`did not finish within ${TEARDOWN_LIMIT_MS} ms`)),
          TEARDOWN_LIMIT_MS,
        );
      }),
    ]);
  } catch (error) {
    onEvent?.({
      event: "error",
      kind: "teardown",
      message: `Plugin "${responder.name}" failed in teardown(): ${
        errorText(error)
      }`,
      code: "ERR_PLUGIN_HOOK",
    });
  }
  clearTimeout(timer);
}

/** The close step: stop taking datagrams, leave, close, tear down; once. */
function closer(
  plan: ListenPlan,
  transport: Transport,
  stats: ListenerStats,
  steps: { intake: Intake; egress: Egress; drops: Drops },
): { close(): Promise<ListenerStats>; closed: Promise<ListenerStats> } {
  const { group, iface, onEvent, signal } = plan;
  let resolveClosed!: (stats: ListenerStats) => void;
  const closed = new Promise<ListenerStats>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<ListenerStats> | undefined;
  const close = (): Promise<ListenerStats> => {
    closing ??= (async () => {
      steps.intake.stop();
      // The kernel's last count, while the socket is open.
      steps.drops.stop();
      signal?.removeEventListener("abort", abort);
      steps.egress.cancel();
      try {
        if (group.source === undefined) {
          await transport.leave(group.address, iface);
        } else transport.leaveSource(group.source, group.address, iface);
      } catch (error) {
        onEvent?.({ event: "error", kind: "leave", message: errorText(error) });
      }
      await transport.close();
      await tearDown(plan);
      const final = { ...stats };
      resolveClosed(final);
      return final;
    })();
    return closing;
  };
  const abort = () => void close();
  signal?.addEventListener("abort", abort, { once: true });
  return { close, closed };
}

/**
 * Joins a group and answers every datagram with `responder`. All options
 * are checked before any socket opens; the group (or each of `groups`) is
 * parsed once, here, and passed on as a {@linkcode MulticastGroup}.
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
  const groups = listenGroups(options);
  return await (groups.length === 1
    ? listenToGroup(groups[0], options)
    : listenToGroups(groups, options, listenToGroup));
}

/** Listens on one parsed group: every step after the options. */
async function listenToGroup(
  group: MulticastGroup,
  options: ListenOptions,
): Promise<Listener> {
  const plan = planListen(group, options);
  const transport = await openAndJoin(plan);
  const joinedAt = performance.now();
  const stats = newListenerStats();
  const context: ResponderContext = {
    group: plan.group.address,
    port: transport.localAddress().port,
    interface: plan.iface,
    startedAt: Date.now(),
    stats,
  };
  await setUp(plan, context, transport);
  const drops = createDrops(plan, transport, stats);
  const egress = createEgress(plan, transport, stats, drops);
  const intake = createIntake(plan, transport, context, stats, {
    egress,
    drops,
  });
  transport.onError((error) => {
    plan.onEvent?.({
      event: "error",
      kind: "socket",
      message: errorText(error),
      code: errorCode(error),
    });
  });
  transport.onDatagram(intake.receive);
  // Replies pending (an asynchronous responder, jitter): the event loop's.
  if (plan.blockingWait) transport.waitOnThread?.(() => stats.pending === 0);
  const { close, closed } = closer(plan, transport, stats, {
    intake,
    egress,
    drops,
  });
  if (plan.signal?.aborted) await close();
  return {
    group: plan.group.address,
    groups: [plan.group.address],
    port: context.port,
    interface: plan.iface,
    transport: transport.name ?? "custom",
    stats,
    get firstDatagramAfterMs() {
      const { firstAt } = intake;
      return firstAt === undefined
        ? undefined
        : Math.round((firstAt - joinedAt) * 1000) / 1000;
    },
    closed,
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}
