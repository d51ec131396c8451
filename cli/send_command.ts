/**
 * `mcast send [message]`: multicast a message and report the replies.
 *
 * @module
 */

import {
  DEFAULT_GROUP,
  DEFAULT_MESSAGE,
  DEFAULT_PORT,
} from "../lib/defaults.ts";
import { resolve } from "node:path";
import { readKeyFile } from "../lib/auth.ts";
import { loadCodec } from "../lib/loader.ts";
import { validateCount, validatePort, validateTtl } from "../lib/numbers.ts";
import type { Codec } from "../lib/plugin.ts";
import { send, type SendReply } from "../lib/send.ts";
import { builtins } from "../plugins/builtins.ts";
import { type Flags, parse } from "./args.ts";
import { chooseTransport, TRANSPORT_HELP } from "./transport_choice.ts";
import { type Io, jsonValue, ndjson, showText } from "./io.ts";

/** Help for `send`. */
export const SEND_HELP = `Usage: mcast send [options] [message]

Multicast a message to a group and print every reply that arrives before the
timeout. Exit status: 0 if at least one reply came, 1 if none, 2 for bad usage.

Options:
  -g, --group ADDR       multicast group (default ${DEFAULT_GROUP})
  -p, --port N           UDP port (default ${DEFAULT_PORT})
  -t, --ttl N            multicast TTL 0-255 (default 1: stay on this segment)
  -i, --interface IF     outgoing interface, address or name (default: OS route)
  -w, --timeout D        wait this long for replies after the last send (default 1s)
  -c, --count N          messages to send (default 1; 0 = until Ctrl-C)
      --interval D       time between messages (default 1s)
      --codec NAME       payload codec: text, json, binary, a path or a URL (default text)
      --no-loopback      do not deliver to listeners on this host
      --key-file FILE    sign requests with this key (HMAC-SHA256), verify replies
      --json             NDJSON output, one event per line
${TRANSPORT_HELP}
  -h, --help             show this help

Durations: 500ms, 2s, 1m, or a bare number of milliseconds.
Message default: "${DEFAULT_MESSAGE}".`;

const FLAGS: Flags = {
  group: { type: "string", short: "g" },
  port: { type: "string", short: "p" },
  ttl: { type: "string", short: "t" },
  interface: { type: "string", short: "i" },
  timeout: { type: "string", short: "w" },
  count: { type: "string", short: "c" },
  interval: { type: "string" },
  codec: { type: "string" },
  "no-loopback": { type: "boolean" },
  json: { type: "boolean" },
  transport: { type: "string" },
  "key-file": { type: "string" },
  help: { type: "boolean", short: "h" },
};

function messageValue(codec: Codec, positionals: string[]): unknown {
  if (positionals.length === 0) return DEFAULT_MESSAGE;
  const text = positionals.join(" ");
  return codec.parse ? codec.parse(text) : text;
}

/** Runs `send`; returns the exit code. */
export async function sendCommand(
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const { values, positionals } = parse(args, FLAGS);
  if (values.help) {
    io.out(SEND_HELP);
    return 0;
  }
  const codec = await loadCodec(values.codec as string ?? "text", {
    builtins: builtins.codecs,
    cwd: io.cwd,
  });
  const message = messageValue(codec, positionals);
  const json = values.json === true;
  const group = values.group as string | undefined ?? DEFAULT_GROUP;
  const port = validatePort(values.port ?? DEFAULT_PORT);
  const text = (name: string) => values[name] as string | undefined;
  const show = (value: unknown) => codec.show ? codec.show(value) : value;

  const keyFile = text("key-file");
  const key = keyFile === undefined
    ? undefined
    : await readKeyFile(resolve(io.cwd, keyFile));
  const events = send(message, {
    key,
    group,
    port,
    ttl: values.ttl === undefined ? undefined : validateTtl(values.ttl),
    interface: text("interface"),
    timeout: text("timeout"),
    count: values.count === undefined ? undefined : validateCount(values.count),
    interval: text("interval"),
    loopback: values["no-loopback"] !== true,
    codec,
    signal,
    transport: chooseTransport(text("transport")),
  });
  let replies = 0;
  for await (const event of events) {
    if (event.event === "reply") {
      // With a key, only a reply that verified counts as an answer.
      if (event.verified !== false) replies++;
      io.out(json ? replyJson(event, show) : replyLine(event, show));
    } else if (json) {
      io.out(ndjson({ ...event }));
    } else {
      io.out(`--- ${group} port ${port} ---`);
      io.out(
        `${event.sent} sent, ${event.replies} ${
          event.replies === 1 ? "reply" : "replies"
        } from ${event.responders} ${
          event.responders === 1 ? "responder" : "responders"
        }${event.verified === undefined ? "" : `, ${event.verified} verified`}`,
      );
    }
  }
  return replies > 0 ? 0 : 1;
}

function replyJson(reply: SendReply, show: (v: unknown) => unknown): string {
  const { decodeError, ...rest } = reply;
  const payload = decodeError === undefined
    ? show(reply.payload)
    : reply.payload;
  return ndjson({
    ...rest,
    payload: jsonValue(payload),
    ...(decodeError === undefined ? {} : { decodeError }),
  });
}

function replyLine(reply: SendReply, show: (v: unknown) => unknown): string {
  const head = `reply from ${reply.from}:${reply.port}  rtt=${
    reply.rttMs.toFixed(3)
  } ms  ${reply.size} bytes${
    reply.verified === undefined
      ? ""
      : reply.verified
      ? "  verified"
      : `  NOT VERIFIED (${reply.authError})`
  }`;
  if (reply.authError !== undefined) {
    return `${head}  ${showText(reply.payload)}`;
  }
  if (reply.decodeError !== undefined) {
    return `${head}  (undecodable: ${reply.decodeError}) ${
      showText(reply.payload)
    }`;
  }
  return `${head}  ${showText(show(reply.payload))}`;
}
