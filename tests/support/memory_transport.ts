/**
 * A transport in memory for listener tests, and the bench's hot-path row,
 * that need no socket: it joins, leaves and sets options as no-ops, keeps
 * the listener's datagram handler for the caller to call, and sends as the
 * caller says (by default every send resolves at once).
 *
 * @module
 */

import type {
  DatagramHandler,
  Transport,
} from "../../lib/transports/transport.ts";

/** A {@linkcode Transport} in memory, and the handler the listener gave it. */
export interface MemoryTransport {
  /** The transport, to hand to `listen` (`transport: () => ...`). */
  transport: Transport;
  /** The listener's datagram handler: call it to deliver a datagram. */
  deliver(): DatagramHandler;
}

/**
 * Makes a transport in memory bound to `group` port `port`; `sends`
 * replaces its `send` (and may add `sendNow`).
 *
 * @example
 * ```ts ignore
 * const memory = memoryTransport("239.1.2.3", 50000);
 * const listener = await listen({ group: "239.1.2.3", transport: () => Promise.resolve(memory.transport) });
 * memory.deliver()(new TextEncoder().encode("hi"), { address: "127.0.0.1", port: 40000, family: "IPv4" });
 * ```
 */
export function memoryTransport(
  group: string,
  port: number,
  sends: Pick<Transport, "send" | "sendNow"> = {
    send: () => Promise.resolve(),
  },
): MemoryTransport {
  let handler: DatagramHandler | undefined;
  const transport: Transport = {
    family: "IPv4",
    reusesBuffers: false,
    localAddress: () => ({ address: group, port }),
    join: () => {},
    joinSource: () => {},
    leave: () => {},
    leaveSource: () => {},
    setTtl: () => {},
    setLoopback: () => {},
    setInterface: () => {},
    ...sends,
    onDatagram: (h) => {
      handler = h;
    },
    onError: () => {},
    close: () => Promise.resolve(),
  };
  return {
    transport,
    deliver: () => {
      if (handler === undefined) throw new Error("no listener on it yet");
      return handler;
    },
  };
}
