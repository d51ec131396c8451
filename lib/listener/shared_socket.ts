/**
 * One socket for several groups of one address family, where the
 * transport tells each datagram's destination (`IP_PKTINFO`: the FFI
 * transport). It is bound to the wildcard address and joins every group;
 * each group's listener gets a view of it that receives only the
 * datagrams sent to that group, so the per-group counts stay exact and
 * unicast to the port is never answered (no view has its address).
 *
 * @module
 */

import { addressKey } from "../address.ts";
import { DEFAULT_RECEIVE_BYTES } from "../defaults.ts";
import type {
  DatagramHandler,
  Family,
  Transport,
  TransportFactory,
} from "../transports/transport.ts";

/** A socket shared by several groups' listeners; closed with the last view. */
export class SharedSocket {
  readonly #transport: Transport;
  readonly #handlers = new Map<string, DatagramHandler>();
  #views = 0;
  #open = 0;

  private constructor(transport: Transport) {
    this.#transport = transport;
    transport.onDatagram((data, from, truncated, to) => {
      if (to === undefined) return;
      this.#handlers.get(addressKey(to))?.(data, from, truncated, to);
    });
  }

  /**
   * Opens a wildcard-bound socket that reports destinations; `undefined`
   * (and nothing left open) when the transport cannot report them.
   */
  static async open(
    factory: TransportFactory,
    family: Family,
    port: number,
  ): Promise<SharedSocket | undefined> {
    const transport = await factory({
      family,
      address: family === "IPv4" ? "0.0.0.0" : "::",
      port,
      reuseAddress: true,
      receiveBytes: DEFAULT_RECEIVE_BYTES,
      destinations: true,
    });
    if (transport.reportsDestination === true) {
      return new SharedSocket(transport);
    }
    await transport.close();
    return undefined;
  }

  /** The port the socket is bound to. */
  get port(): number {
    return this.#transport.localAddress().port;
  }

  /** Closes the socket if no view was ever handed out (a failed start). */
  async closeIfUnused(): Promise<void> {
    if (this.#views === 0) await this.#transport.close();
  }

  /**
   * A view for one group's listener: the socket's calls, with only the
   * datagrams sent to `group`; the first view also reports the socket's
   * errors and kernel drops (once for the socket, not once per group).
   */
  view(group: string): Transport {
    const real = this.#transport;
    const first = this.#views++ === 0;
    this.#open++;
    let closed = false;
    const view: Transport = {
      family: real.family,
      name: real.name,
      reusesBuffers: real.reusesBuffers,
      localAddress: () => real.localAddress(),
      join: (g, iface) => real.join(g, iface),
      joinSource: (source, g, iface) => real.joinSource(source, g, iface),
      leave: (g, iface) => real.leave(g, iface),
      leaveSource: (source, g, iface) => real.leaveSource(source, g, iface),
      setTtl: (ttl) => real.setTtl(ttl),
      setLoopback: (on) => real.setLoopback(on),
      setInterface: (iface) => real.setInterface(iface),
      send: (data, port, address) => real.send(data, port, address),
      onDatagram: (handler) => {
        this.#handlers.set(addressKey(group), handler);
      },
      onError: (handler) => {
        if (first) real.onError(handler);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        this.#handlers.delete(addressKey(group));
        if (--this.#open === 0) await real.close();
      },
    };
    if (first && real.droppedByKernel !== undefined) {
      view.droppedByKernel = () => real.droppedByKernel!();
    }
    if (real.receiveBufferBytes !== undefined) {
      view.receiveBufferBytes = () => real.receiveBufferBytes!();
    }
    return view;
  }
}
