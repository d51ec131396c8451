/**
 * Baseline receiver: Deno's own UDP API, `Deno.listenDatagram` with
 * `joinMulticastV4` (needs `--unstable-net`), one `receive()` loop per
 * socket into a reused buffer. Speaks `../receiver_protocol.ts`.
 *
 * Run: `deno run --allow-net --unstable-net bench/receivers/deno_datagram.ts MODE GROUP PORT MAX_SECONDS LISTENERS`
 *
 * @module
 */

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
  const conns: Deno.DatagramConn[] = [];
  const loops: Promise<void>[] = [];
  const ignore = () => {};

  async function receiveLoop(conn: Deno.DatagramConn): Promise<void> {
    const buffer = new Uint8Array(65536);
    try {
      while (true) {
        const [, from] = await conn.receive(buffer);
        tally.hit();
        if (args.mode === "ack") {
          tally.replied++;
          conn.send(ackBytes, from).catch(ignore);
        }
      }
    } catch {
      // closed
    }
  }

  for (let i = 0; i < args.listeners; i++) {
    const conn = Deno.listenDatagram({
      transport: "udp",
      hostname: args.group,
      port: args.port,
      reuseAddress: true,
    });
    await conn.joinMulticastV4(args.group, LOOPBACK);
    conns.push(conn);
  }
  for (const conn of conns) loops.push(receiveLoop(conn));

  await serveReceiverProtocol(tally, args.maxSeconds, {
    close: async () => {
      for (const conn of conns) conn.close();
      await Promise.all(loops);
    },
  });
}

if (import.meta.main) await main();
