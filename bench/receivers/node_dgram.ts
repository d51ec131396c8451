/**
 * Baseline receiver: the least code that receives a group with Deno's
 * `node:dgram` (what mcast's default transport is built on). Speaks
 * `../receiver_protocol.ts`.
 *
 * In `ack` mode it answers a request framed with a sequence number
 * (`send({ sequence: true })`) with a framed `ack`, as mcast's listener
 * does, and any other request with a bare `ack`.
 *
 * Extra flag: `--recv-buffer=BYTES` calls `setRecvBufferSize(BYTES)`, to
 * show its cost on Deno 2.9.6 (every receive then allocates that much).
 *
 * Run: `deno run --allow-net bench/receivers/node_dgram.ts MODE GROUP PORT MAX_SECONDS LISTENERS`
 *
 * @module
 */

import dgram from "node:dgram";
import { LOOPBACK } from "../addresses.ts";
import {
  parseReceiverArgs,
  serveReceiverProtocol,
  Tally,
} from "../receiver_protocol.ts";

async function main(): Promise<void> {
  const args = parseReceiverArgs(Deno.args);
  const tally = new Tally();
  const ackBytes = new TextEncoder().encode("ack");
  const recvBuffer = Number(args.flags["recv-buffer"] ?? 0);
  const sockets: dgram.Socket[] = [];

  /** Whether a request is framed by `send({ sequence: true })` (`lib/wire/sequence.ts`: 0, "M", "S", 1, seq). */
  function isFramedRequest(request: Uint8Array): boolean {
    return request[3] === 0x01 && request.byteLength >= 8 && request[0] === 0 &&
      request[1] === 0x4d && request[2] === 0x53;
  }

  /**
   * The reply to a framed request: the same header with kind 2, then
   * `ack`; what mcast's listener answers, so send's load mode can time it.
   */
  function framedAck(request: Uint8Array): Uint8Array {
    const reply = new Uint8Array(8 + ackBytes.byteLength);
    reply.set(request.subarray(0, 8));
    reply[3] = 0x02;
    reply.set(ackBytes, 8);
    return reply;
  }

  for (let i = 0; i < args.listeners; i++) {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    if (args.mode === "ack") {
      socket.on("message", (message, rinfo) => {
        tally.hit();
        tally.replied++;
        socket.send(
          isFramedRequest(message) ? framedAck(message) : ackBytes,
          rinfo.port,
          rinfo.address,
        );
      });
    } else {
      socket.on("message", () => tally.hit());
    }
    await new Promise<void>((resolve) =>
      socket.bind(args.port, args.group, resolve)
    );
    socket.addMembership(args.group, LOOPBACK);
    if (recvBuffer > 0) socket.setRecvBufferSize(recvBuffer);
    sockets.push(socket);
  }

  await serveReceiverProtocol(tally, args.maxSeconds, {
    close: () =>
      Promise.all(
        sockets.map((socket) =>
          new Promise<void>((resolve) => socket.close(() => resolve()))
        ),
      ).then(() => {}),
  });
}

if (import.meta.main) await main();
