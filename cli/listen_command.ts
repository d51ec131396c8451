/**
 * `mcast listen`: join a group and answer each datagram with a responder.
 *
 * @module
 */

import { DEFAULT_GROUP, DEFAULT_PORT } from "../lib/defaults.ts";
import { listen, type ListenEvent } from "../lib/listen.ts";
import { loadCodec, loadResponder } from "../lib/loader.ts";
import { validatePort } from "../lib/numbers.ts";
import { builtins } from "../plugins/builtins.ts";
import { type Flags, keyValues, parse } from "./args.ts";
import { type Io, ndjson, showText } from "./io.ts";
import { UsageError } from "./usage_error.ts";

/** Help for `listen`. */
export const LISTEN_HELP = `Usage: mcast listen [options]

Join a multicast group and answer every datagram with a responder plugin.
Ctrl-C or SIGTERM leaves the group, closes the socket and prints a summary.

Options:
  -g, --group ADDR       multicast group (default ${DEFAULT_GROUP})
  -p, --port N           UDP port (default ${DEFAULT_PORT})
  -i, --interface IF     join on this interface, address or name (default: OS choice)
      --source ADDR      source-specific join: only this sender's datagrams
      --plugin NAME      responder: ack, echo, status, silent, a path or a URL (default ack)
      --option KEY=VALUE option for the responder (repeatable)
      --codec NAME       payload codec: text, json, binary, a path or a URL (default text)
      --json             NDJSON output, one event per line
  -h, --help             show this help`;

const FLAGS: Flags = {
  group: { type: "string", short: "g" },
  port: { type: "string", short: "p" },
  interface: { type: "string", short: "i" },
  source: { type: "string" },
  plugin: { type: "string" },
  option: { type: "string", multiple: true },
  codec: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

function eventLine(event: ListenEvent): string {
  switch (event.event) {
    case "message":
      return `message from ${event.from}:${event.port}  ${event.size} bytes  ${
        showText(event.payload)
      }`;
    case "reply":
      return `reply to ${event.to}:${event.port}  ${event.size} bytes`;
    case "error":
      return `error (${event.kind})${
        event.from === undefined ? "" : ` from ${event.from}:${event.port}`
      }: ${event.message}`;
  }
}

/** Runs `listen` until `signal` aborts; returns the exit code. */
export async function listenCommand(
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const { values, positionals } = parse(args, FLAGS);
  if (values.help) {
    io.out(LISTEN_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `listen: unexpected argument "${
        positionals[0]
      }" (listen takes only options)`,
    );
  }
  const text = (name: string) => values[name] as string | undefined;
  const group = text("group") ?? DEFAULT_GROUP;
  const port = validatePort(values.port ?? DEFAULT_PORT);
  const pluginName = text("plugin") ?? "ack";
  const codecName = text("codec") ?? "text";
  const options = keyValues(values.option as string[] | undefined);
  const codec = await loadCodec(codecName, {
    builtins: builtins.codecs,
    cwd: io.cwd,
  });
  const responder = await loadResponder(pluginName, {
    builtins: builtins.responders,
    cwd: io.cwd,
    options,
  });
  const json = values.json === true;
  const listener = await listen({
    group,
    port,
    interface: text("interface"),
    source: text("source"),
    responder,
    codec,
    signal,
    onEvent: (event) => {
      if (json) io.out(ndjson({ ...event }));
      else if (event.event === "error") io.err(eventLine(event));
      else io.out(eventLine(event));
    },
  });
  const ready = {
    event: "ready",
    group: listener.group,
    port: listener.port,
    interface: listener.interface ?? null,
    source: text("source") ?? null,
    plugin: responder.name,
    codec: codec.name,
    pid: Deno.pid,
  };
  if (json) io.out(ndjson(ready));
  else {
    io.out(
      `listening on ${listener.group} port ${listener.port} (interface ${
        listener.interface ?? "chosen by the OS"
      }), responder ${responder.name}, codec ${codec.name}; Ctrl-C to stop`,
    );
  }
  const stats = await listener.closed;
  if (json) io.out(ndjson({ event: "summary", ...stats }));
  else {
    io.out(`--- ${listener.group} port ${listener.port} ---`);
    io.out(
      `${stats.received} received, ${stats.replied} replied, ${stats.unanswered} unanswered, ` +
        `${stats.decodeErrors} undecodable, ${stats.pluginErrors} plugin errors, ${stats.sendErrors} send errors`,
    );
  }
  return 0;
}
