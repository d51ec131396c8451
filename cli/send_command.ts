/**
 * `mcast send [message]`: multicast a message and report the replies; with
 * `--count`, `--rate` and `--seq` a multicast ping that reports loss,
 * duplicates, reordering and round-trip times per responder.
 *
 * @module
 */

import { formatEndpoint } from "../lib/address.ts";
import { resolve } from "node:path";
import { readKeyFile } from "../lib/safety/auth.ts";
import {
  DEFAULT_GROUP,
  DEFAULT_MESSAGE,
  DEFAULT_PORT,
  DEFAULT_RECEIVE_BYTES,
} from "../lib/defaults.ts";
import { loadCodec } from "../lib/loader.ts";
import { validateCount, validatePort, validateTtl } from "../lib/numbers.ts";
import type { Codec } from "../lib/plugin.ts";
import type { ResponderSummary } from "../lib/sender/round_trip_stats.ts";
import { send } from "../lib/sender/send.ts";
import type { SendReply, SendSummary } from "../lib/sender/sender.ts";
import { builtins } from "../plugins/builtins.ts";
import { type Flags, numberFlag, parse } from "./args.ts";
import { type Io, jsonValue, ndjson, showText } from "./io.ts";
import { Progress } from "./progress.ts";
import { chooseTransport, SEND_TRANSPORT_HELP } from "./transport_choice.ts";

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
      --rate R           messages per second (instead of --interval)
      --seq              number the requests: per-responder loss, duplicates,
                         reordering and RTT min/avg/p50/p99/max in the summary
      --pad N            pad each request to N bytes (0-65507): a listener
                         answers with at most 3x its request's size, so ask for
                         a larger reply (status: --pad 512) by padding
  -q, --quiet            print only the summary (and the progress line)
      --codec NAME       payload codec: text, json, binary, a path or a URL (default text)
      --allow-import HOST  let a plugin or codec import modules from HOST[:PORT]
                         too (repeatable; deno task allows the host of a
                         plugin URL and mcast's own files by itself)
      --allow-read PATH  let a plugin or codec read (and import) this file or
                         folder too (repeatable)
      --no-loopback      do not deliver to listeners on this host (no effect
                         when sending through lo: the kernel loops lo anyway)
      --key-file FILE    sign requests with this key (HMAC-SHA256), verify replies
      --reply-buffer N   bytes set aside for each reply: the largest reply taken
                         whole, 1-65536 (default ${DEFAULT_RECEIVE_BYTES}); a larger one is shown
                         cut, later ones arrive whole (old name: --max-reply-bytes)
      --json             NDJSON output, one event per line
${SEND_TRANSPORT_HELP}
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
  rate: { type: "string" },
  seq: { type: "boolean" },
  pad: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  codec: { type: "string" },
  "no-loopback": { type: "boolean" },
  json: { type: "boolean" },
  transport: { type: "string" },
  "key-file": { type: "string" },
  // Read by cli/launch.ts (the permissions it grants); nothing to do here.
  "allow-import": { type: "string", multiple: true },
  "allow-read": { type: "string", multiple: true },
  "reply-buffer": { type: "string" },
  // The old name of --reply-buffer (a listener's --max-reply-bytes is its reply cap).
  "max-reply-bytes": { type: "string" },
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
  const text = (name: string) => values[name] as string | undefined;
  const codec = await loadCodec(text("codec") ?? "text", {
    builtins: builtins.codecs,
    cwd: io.cwd,
  });
  const message = messageValue(codec, positionals);
  const json = values.json === true;
  const quiet = values.quiet === true;
  const group = text("group") ?? DEFAULT_GROUP;
  const port = validatePort(values.port ?? DEFAULT_PORT);
  const show = (value: unknown) => codec.show ? codec.show(value) : value;
  const keyFile = text("key-file");
  const key = keyFile === undefined
    ? undefined
    : await readKeyFile(resolve(io.cwd, keyFile));
  const rate = numberFlag("rate", text("rate"));
  const iface = text("interface");
  if (values["no-loopback"] === true && throughLoopback(iface)) {
    io.err(
      `note: --no-loopback has no effect through ${iface}: the kernel delivers everything sent on lo to this host's listeners`,
    );
  }
  const progress = new Progress(io, !json && io.isTerminal);

  const events = send(message, {
    group,
    port,
    ttl: values.ttl === undefined ? undefined : validateTtl(values.ttl),
    interface: iface,
    timeout: text("timeout"),
    count: values.count === undefined ? undefined : validateCount(values.count),
    interval: text("interval"),
    rate,
    sequence: values.seq === true,
    pad: numberFlag("pad", text("pad"), true),
    loopback: values["no-loopback"] !== true,
    codec,
    key,
    replyBufferBytes: numberFlag(
      text("reply-buffer") === undefined ? "max-reply-bytes" : "reply-buffer",
      text("reply-buffer") ?? text("max-reply-bytes"),
      true,
    ),
    signal,
    transport: chooseTransport(text("transport"), "send"),
    onSent: (sent) => progress.sent(sent),
  });
  let answers = 0;
  try {
    for await (const event of events) {
      if (event.event === "reply") {
        // With a key, only a reply that verified counts as an answer.
        if (event.verified !== false) answers++;
        progress.reply();
        if (json) io.out(replyJson(event, show));
        else if (!quiet) progress.print(replyLine(event, show));
      } else {
        progress.stop();
        if (json) io.out(ndjson({ ...event }));
        else for (const line of summaryLines(event, group, port)) io.out(line);
      }
    }
  } finally {
    progress.stop();
  }
  return answers > 0 ? 0 : 1;
}

/** Whether `iface` names the loopback interface, by name or address. */
function throughLoopback(iface: string | undefined): boolean {
  if (iface === undefined) return false;
  if (iface === "lo" || iface === "::1" || iface.startsWith("127.")) {
    return true;
  }
  try {
    return Deno.networkInterfaces().some((entry) =>
      entry.name === iface &&
      (entry.address === "::1" || entry.address.startsWith("127."))
    );
  } catch {
    return false; // no --allow-sys=networkInterfaces: the name stays unknown
  }
}

function replyJson(reply: SendReply, show: (v: unknown) => unknown): string {
  const { decodeError, ...rest } = reply;
  const readable = decodeError === undefined && reply.authError === undefined;
  return ndjson({
    ...rest,
    payload: jsonValue(readable ? show(reply.payload) : reply.payload),
    ...(decodeError === undefined ? {} : { decodeError }),
  });
}

function replyLine(reply: SendReply, show: (v: unknown) => unknown): string {
  const seq = reply.seq === undefined ? "" : `  seq=${reply.seq}`;
  const check = reply.verified === undefined
    ? ""
    : reply.verified
    ? "  verified"
    : `  NOT VERIFIED (${reply.authError})`;
  const head = `reply from ${
    formatEndpoint(reply.from, reply.port)
  }${seq}  rtt=${reply.rttMs.toFixed(3)} ms  ${reply.size} bytes${check}`;
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

function responderLine(responder: ResponderSummary): string {
  const rtt = responder.rttMs === null
    ? "no rtt"
    : `rtt min/avg/p50/p99/max = ${responder.rttMs.min}/${responder.rttMs.avg}/${responder.rttMs.p50}/${responder.rttMs.p99}/${responder.rttMs.max} ms`;
  return `${
    formatEndpoint(responder.from, responder.port)
  }  ${responder.replies} replies, ${responder.lossPercent}% loss, ${responder.duplicates} duplicates, ${responder.reordered} reordered, ${rtt}`;
}

function summaryLines(
  summary: SendSummary,
  group: string,
  port: number,
): string[] {
  const plural = (n: number, one: string, many: string) =>
    `${n} ${n === 1 ? one : many}`;
  const lines = [
    `--- ${group} port ${port} ---`,
    `${summary.sent} sent, ${
      plural(summary.replies, "reply", "replies")
    } from ${plural(summary.responders, "responder", "responders")}${
      summary.verified === undefined ? "" : `, ${summary.verified} verified`
    }`,
  ];
  for (const responder of summary.perResponder ?? []) {
    lines.push(responderLine(responder));
  }
  return lines;
}
