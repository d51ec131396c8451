/**
 * mcast's own receiving path: `listen()` from `lib/listener/listen.ts`
 * with the built-in `silent` responder (MODE `sink`) or `ack` responder
 * (MODE `ack`), each wrapped only to count. Speaks `../receiver_protocol.ts`.
 *
 * Extra flags: `--codec=text|none` (default `text`, as the command line
 * uses); `--transport=dgram|deno|ffi` (default: `listen()`'s own choice;
 * `deno` needs `--unstable-net`; `ffi` loads
 * `lib/transports/ffi/ffi_transport.ts` when it is there and available);
 * `--rate-limit=off|default` (default `off`: `rateLimit: false`, since the
 * default reply limit of 10/s per source would be all a request/reply
 * bench measures).
 *
 * Run: `deno run --allow-net --allow-read --allow-ffi bench/receivers/mcast_listen.ts MODE GROUP PORT MAX_SECONDS LISTENERS`
 *
 * @module
 */

import { listen, type Listener } from "../../lib/listener/listen.ts";
import type { Responder } from "../../lib/plugin.ts";
import type { TransportFactory } from "../../lib/transports/transport.ts";
import { openDenoTransport } from "../../lib/transports/deno_udp.ts";
import { openDgramTransport } from "../../lib/transports/node_dgram.ts";
import { text } from "../../plugins/codecs/text.ts";
import { ack } from "../../plugins/responders/ack.ts";
import { silent } from "../../plugins/responders/silent.ts";
import { LOOPBACK } from "../addresses.ts";
import { loadFfiTransport } from "../ffi_loader.ts";
import {
  parseReceiverArgs,
  serveReceiverProtocol,
  Tally,
} from "../receiver_protocol.ts";

async function main(): Promise<void> {
  const args = parseReceiverArgs(Deno.args);
  const tally = new Tally();

  function counted(responder: Responder): Responder {
    return {
      name: responder.name,
      respond(message, context) {
        tally.hit();
        return responder.respond(message, context);
      },
    };
  }

  let transport: TransportFactory | undefined;
  if (args.flags.transport === "dgram") transport = openDgramTransport;
  else if (args.flags.transport === "deno") transport = openDenoTransport;
  else if (args.flags.transport === "ffi") {
    const ffi = await loadFfiTransport();
    if (typeof ffi === "string") throw new Error(`FFI transport: ${ffi}`);
    transport = ffi;
  }
  const codec = (args.flags.codec ?? "text") === "text" ? text() : undefined;
  const responder = counted(args.mode === "ack" ? ack() : silent());
  // Spread from a variable so the bench still compiles against a listen()
  // without the option.
  const limits = (args.flags["rate-limit"] ?? "off") === "off"
    ? { rateLimit: false as const }
    : {};
  const listeners: Listener[] = [];
  for (let i = 0; i < args.listeners; i++) {
    listeners.push(
      await listen({
        group: args.group,
        port: args.port,
        interface: LOOPBACK,
        responder,
        codec,
        transport,
        ...limits,
      }),
    );
  }

  const replied = () =>
    listeners.reduce((sum, listener) => sum + listener.stats.replied, 0);
  let repliedAtReset = 0;
  await serveReceiverProtocol(tally, args.maxSeconds, {
    reset: () => {
      repliedAtReset = replied();
    },
    close: async () => {
      tally.replied = replied() - repliedAtReset;
      await Promise.all(listeners.map((listener) => listener.close()));
    },
  });
}

if (import.meta.main) await main();
