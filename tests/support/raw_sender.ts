/**
 * Raw datagrams to a multicast group from a plain `node:dgram` socket bound
 * to a loopback address, with multicast going out of 127.0.0.1: for tests
 * that feed a listener bytes the library's `send` would never produce.
 *
 * @module
 */

import dgram from "node:dgram";
import { LOOPBACK } from "./loopback.ts";

/** Where raw datagrams go: a group and its port (a `Listener` is one). */
export interface RawTarget {
  /** The multicast group. */
  readonly group: string;
  /** The group's UDP port. */
  readonly port: number;
}

/** A UDP socket bound to a loopback address, sending multicast out of 127.0.0.1; disposal closes it. */
export class RawSender implements AsyncDisposable {
  readonly #socket: dgram.Socket;

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
  }

  /** Opens a socket bound to `from` (a free port), multicast interface 127.0.0.1. */
  static async open(from: string = LOOPBACK): Promise<RawSender> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, from, () => resolve()));
    socket.setMulticastInterface(LOOPBACK);
    return new RawSender(socket);
  }

  /** Calls `handler` for every datagram this socket receives (the replies). */
  onMessage(handler: (message: Uint8Array) => void): void {
    this.#socket.on("message", handler);
  }

  /** Sends one datagram to `address`:`port`; rejects when the send fails. */
  send(payload: Uint8Array, port: number, address: string): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.#socket.send(
        payload,
        port,
        address,
        (error) => error ? reject(error) : resolve(),
      )
    );
  }

  /** Closes the socket. */
  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  /** Closes the socket. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Sends `payloads` to `target`, one after another, from a socket bound to
 * `from` (127.0.0.1 unless given), then closes the socket.
 */
export async function sendRaw(
  target: RawTarget,
  payloads: Iterable<Uint8Array>,
  from: string = LOOPBACK,
): Promise<void> {
  await using sender = await RawSender.open(from);
  for (const payload of payloads) {
    await sender.send(payload, target.port, target.group);
  }
}
