/**
 * `mcast demo`: three listeners and a sender on loopback, in one process,
 * so a fresh checkout shows what mcast does without touching any network.
 *
 * @module
 */

import { DEFAULT_GROUP, DEFAULT_MESSAGE } from "../lib/defaults.ts";
import { listen, type Listener } from "../lib/listen.ts";
import { send } from "../lib/send.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { echo } from "../plugins/responders/echo.ts";
import { status } from "../plugins/responders/status.ts";
import { parse } from "./args.ts";
import { type Io, showText } from "./io.ts";

/** Help for `demo`. */
export const DEMO_HELP = `Usage: mcast demo

Starts three listeners (ack, echo, status) on ${DEFAULT_GROUP}, joined on the
loopback interface 127.0.0.1 only, sends them one message with TTL 1 and
prints every reply. Nothing leaves this host.`;

const LOOPBACK = "127.0.0.1";
const STATUS_CAP = 512;

/** Runs the loopback demo; returns 0 when every listener answered. */
export async function demoCommand(
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const { values } = parse(args, {
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.out(DEMO_HELP);
    return 0;
  }
  const responders = [ack(), echo(), status({ name: "demo" })];
  const listeners: Listener[] = [];
  try {
    let port = 0;
    for (const responder of responders) {
      const listener = await listen({
        group: DEFAULT_GROUP,
        port,
        interface: LOOPBACK,
        responder,
        codec: text(),
        signal,
        // A status document is larger than the request; by default replies
        // never are (no amplification), so this listener raises its cap.
        maxReplyBytes: responder.name === "status" ? STATUS_CAP : 0,
      });
      // The first listener takes an ephemeral port; the others share it.
      port = listener.port;
      listeners.push(listener);
      io.out(
        `listener ${listeners.length}: ${responder.name} on ${DEFAULT_GROUP} port ${port} via ${LOOPBACK}${
          responder.name === "status"
            ? ` (--max-reply-bytes ${STATUS_CAP}: replies may outgrow requests)`
            : ""
        }`,
      );
    }
    io.out(`sending "${DEFAULT_MESSAGE}" with TTL 1 through ${LOOPBACK}`);
    let replies = 0;
    for await (
      const event of send(DEFAULT_MESSAGE, {
        group: DEFAULT_GROUP,
        port,
        ttl: 1,
        interface: LOOPBACK,
        timeout: "500ms",
        codec: text(),
        signal,
      })
    ) {
      if (event.event === "reply") {
        replies++;
        io.out(
          `reply from ${event.from}:${event.port}  rtt=${
            event.rttMs.toFixed(3)
          } ms  ${event.size} bytes  ${showText(event.payload)}`,
        );
      } else {
        io.out(
          `${event.sent} sent, ${event.replies} replies from ${event.responders} responder address(es)`,
        );
      }
    }
    return replies === responders.length ? 0 : 1;
  } finally {
    for (const listener of listeners) await listener.close();
  }
}
