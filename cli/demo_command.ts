/**
 * `mcast demo`: three listeners and a sender on loopback, in one process,
 * so a fresh checkout shows what mcast does without touching any network.
 *
 * @module
 */

import { formatEndpoint } from "../lib/address.ts";
import { DEFAULT_GROUP } from "../lib/defaults.ts";
import { DEFAULT_MESSAGE } from "./default_message.ts";
import { parseGroup } from "../lib/group.ts";
import { listen, type Listener } from "../lib/listener/listen.ts";
import { send } from "../lib/sender/send.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { echo } from "../plugins/responders/echo.ts";
import { status } from "../plugins/responders/status.ts";
import { DEMO_PAD as PAD, DEMO_TABLE } from "./demo_flags.ts";
import { helpText, parseFlags } from "./flag_table.ts";
import { type Io, showText } from "./io.ts";

/** Help for `demo`, from its flag table. */
export const DEMO_HELP: string = helpText(DEMO_TABLE);

const LOOPBACK = "127.0.0.1";

/** Runs the loopback demo; returns 0 when every listener answered. */
export async function demoCommand(
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  if (parseFlags(DEMO_TABLE, args).help) {
    io.out(DEMO_HELP);
    return 0;
  }
  // Parsed once, here; the listeners and the sender take the value.
  const group = parseGroup(DEFAULT_GROUP);
  const responders = [ack(), echo(), status({ name: "demo" })];
  const listeners: Listener[] = [];
  try {
    let port = 0;
    for (const responder of responders) {
      const listener = await listen({
        group,
        port,
        interface: LOOPBACK,
        responder,
        codec: text(),
        signal,
      });
      // The first listener takes an ephemeral port; the others share it.
      port = listener.port;
      listeners.push(listener);
      io.out(
        `listener ${listeners.length}: ${responder.name} on ${DEFAULT_GROUP} port ${port} via ${LOOPBACK}`,
      );
    }
    io.out(
      `sending "${DEFAULT_MESSAGE}" with TTL 1 through ${LOOPBACK}, padded to ${PAD} bytes (send --pad ${PAD}: room for the status reply)`,
    );
    let replies = 0;
    for await (
      const event of send(DEFAULT_MESSAGE, {
        group,
        port,
        ttl: 1,
        interface: LOOPBACK,
        timeout: "500ms",
        codec: text(),
        pad: PAD,
        signal,
      })
    ) {
      if (event.event === "reply") {
        replies++;
        io.out(
          `reply from ${formatEndpoint(event.from, event.port)}  rtt=${
            event.rttMs.toFixed(3)
          } ms  ${event.size} bytes  ${showText(event.payload)}`,
        );
      } else {
        io.out(
          `${event.sent} sent, ${event.replies} ${
            event.replies === 1 ? "reply" : "replies"
          } from ${event.responders} responder ${
            event.responders === 1 ? "address" : "addresses"
          }`,
        );
      }
    }
    return replies === responders.length ? 0 : 1;
  } finally {
    for (const listener of listeners) await listener.close();
  }
}
