/**
 * `mcast listen`: join a group and answer each datagram with a responder.
 *
 * @module
 */

import { formatEndpoint } from "../lib/address.ts";
import { errorText } from "../lib/errors.ts";
import { type MulticastGroup, parseGroup } from "../lib/group.ts";
import { resolveInterface } from "../lib/interface.ts";
import { DEFAULT_GROUP, DEFAULT_PORT } from "../lib/defaults.ts";
import { listen, type ListenEvent } from "../lib/listener/listen.ts";
import { loadCodec, loadResponder } from "../lib/loader.ts";
import type { ListenerStats } from "../lib/plugin.ts";
import { validatePort } from "../lib/numbers.ts";
import { builtins } from "../plugins/builtins.ts";
import { resolve } from "node:path";
import { readKeyFile } from "../lib/safety/auth.ts";
import { type Flags, keyValues, numberFlag, parse } from "./args.ts";
import { type Io, ndjson, showText } from "./io.ts";
import { UsageError } from "./usage_error.ts";
import { chooseTransport, LISTEN_TRANSPORT_HELP } from "./transport_choice.ts";
import { parseByteSize } from "./byte_size.ts";
import { painter, type Tone } from "./colour.ts";
import type { Transport } from "../lib/transports/transport.ts";
import { parseDuration } from "../lib/duration.ts";
import { ListenOutput } from "./listen_output.ts";
import {
  receiveBufferAsked,
  receiveBufferText,
} from "./receive_buffer_text.ts";
import { stamped } from "./wall_clock.ts";
import { READABLE_LINES_PER_SECOND } from "./readable_rate.ts";
import {
  METRICS_EXAMPLE_ADDRESS,
  parseMetricsAddress,
} from "./metrics/address.ts";
import { MetricsEndpoint } from "./metrics/endpoint.ts";
import {
  type ListenMetricsSource,
  listenPage,
} from "./metrics/listen_metrics.ts";

/** Help for `listen`. */
export const LISTEN_HELP = `Usage: mcast listen [options]

Join a multicast group and answer every datagram with a responder plugin.
Ctrl-C, SIGTERM or SIGHUP leaves the group, closes the socket and prints a
summary (exit status 0); a second one exits at once (130 for Ctrl-C).

Options:
  -g, --group ADDR       multicast group (default ${DEFAULT_GROUP}); repeat it to
                         join several groups on one port, counted per group
  -p, --port N           UDP port (default ${DEFAULT_PORT})
  -i, --interface IF     join on this interface, address or name (default: OS choice)
      --source ADDR      source-specific join: only this sender's datagrams
      --plugin NAME      responder: ack, echo, status, silent, a path or a URL (default ack);
                         status answers with ~150 bytes of JSON: a sender asks
                         for it with send --pad 512 (replies are at most 3x the
                         request, see Safety)
      --option KEY=VALUE option for the responder (repeatable)
      --codec NAME       payload codec: text, json, binary, a path or a URL (default text)
      --allow-import HOST  let a plugin or codec import modules from HOST[:PORT]
                         too (repeatable; deno task allows the host of a
                         plugin URL and mcast's own files by itself)
      --allow-read PATH  let a plugin or codec read (and import) this file or
                         folder too (repeatable)
      --json             NDJSON output, one event per line
${LISTEN_TRANSPORT_HELP}
  -h, --help             show this help

Output and stopping (a line per message is printed while there are at most
${READABLE_LINES_PER_SECOND} lines a second; when more come, listen says so and prints a line a
second instead, every datagram still answered and counted, and goes back to a
line per message after a second with ${READABLE_LINES_PER_SECOND} or fewer; --json prints every event):
  -q, --quiet            print only the ready line and the summary (and the
                         interval lines --report-every asks for)
      --report-every D   a line per interval D (such as 1s): received and
                         replied per second, and each drop counter that grew
                         (--json: an "interval" event)
      --count N          stop after N datagrams have arrived, with the summary
      --duration D       stop after D (such as 30s or 5m), with the summary
      --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics
                         (such as ${METRICS_EXAMPLE_ADDRESS}): datagrams, replies and
                         drops by reason, read from the counters at each scrape

Safety (defaults are safe; see the README's "Safety" section):
      --allow-from CIDR  answer senders in this range (repeatable; default: the
                         subnets this host is directly connected to)
      --max-reply-bytes N  allow replies up to N bytes even when more than 3x
                         the request (default 0: never more than 3x the request)
      --rate-limit R     replies per second to one source (default 10; 0 = off)
      --burst B          replies one source may get at once, at least 1
                         (default 2 x rate)
      --global-rate R    replies per second in total (default 1000; 0 = off)
      --jitter D         delay each reply by a random 0..D (default 0)
      --key-file FILE    require requests signed with this key (HMAC-SHA256)
                         and sign replies

Receive path:
      --recv-buffer SIZE the socket's receive buffer, such as 512K or 32M
                         (ffi transport only; default 32M, which the kernel caps
                         at net.core.rmem_max unless run as root); the ready
                         line shows what the kernel granted`;

const FLAGS: Flags = {
  group: { type: "string", short: "g", multiple: true },
  port: { type: "string", short: "p" },
  interface: { type: "string", short: "i" },
  source: { type: "string" },
  plugin: { type: "string" },
  option: { type: "string", multiple: true },
  codec: { type: "string" },
  json: { type: "boolean" },
  transport: { type: "string" },
  help: { type: "boolean", short: "h" },
  "allow-from": { type: "string", multiple: true },
  "max-reply-bytes": { type: "string" },
  "rate-limit": { type: "string" },
  burst: { type: "string" },
  "global-rate": { type: "string" },
  jitter: { type: "string" },
  "key-file": { type: "string" },
  // Read by cli/launch.ts (the permissions it grants); nothing to do here.
  "allow-import": { type: "string", multiple: true },
  "allow-read": { type: "string", multiple: true },
  "recv-buffer": { type: "string" },
  quiet: { type: "boolean", short: "q" },
  "report-every": { type: "string" },
  count: { type: "string" },
  duration: { type: "string" },
  metrics: { type: "string" },
};

/** `--report-every`, `--duration` or `--count`, checked; undefined when absent. */
function stopAndReportFlags(text: (name: string) => string | undefined) {
  const duration = (flag: string, least: number, what: string) => {
    const value = text(flag);
    if (value === undefined) return undefined;
    const ms = parseDuration(value, `--${flag}`);
    if (ms < least) {
      throw new UsageError(
        `Invalid --${flag} "${value}": must be at least ${what}`,
      );
    }
    return ms;
  };
  const count = numberFlag("count", text("count"), true);
  if (count === 0) {
    throw new UsageError(
      `Invalid --count "${text("count")}": must be at least 1 datagram`,
    );
  }
  return {
    reportEveryMs: duration("report-every", 100, "100ms"),
    durationMs: duration("duration", 1, "1ms"),
    count,
  };
}

function eventLine(event: ListenEvent): string {
  switch (event.event) {
    case "message":
      return `message from ${
        formatEndpoint(event.from, event.port)
      }  ${event.size} bytes  ${showText(event.payload)}`;
    case "reply":
      return `reply to ${
        formatEndpoint(event.to, event.port)
      }  ${event.size} bytes`;
    case "drop":
      return `drop (${event.reason}): ${event.message}; to change it: ${event.hint}`;
    case "error":
      return `error (${event.kind})${
        event.from === undefined
          ? ""
          : ` from ${formatEndpoint(event.from, event.port ?? 0)}`
      }: ${event.message}`;
  }
}

/** Each counter's name in the summary: for one, and for any other number. */
const COUNTER_NAMES: [keyof ListenerStats, string, string][] = [
  [
    "refused",
    "refused (not an allowed sender)",
    "refused (not an allowed sender)",
  ],
  ["rateLimited", "rate-limited", "rate-limited"],
  ["oversize", "oversize reply dropped", "oversize replies dropped"],
  ["unsigned", "unsigned", "unsigned"],
  ["badSignature", "bad signature", "bad signatures"],
  ["stale", "stale", "stale"],
  ["replayed", "replayed", "replayed"],
  ["decodeErrors", "undecodable", "undecodable"],
  ["pluginErrors", "plugin error", "plugin errors"],
  ["sendErrors", "send error", "send errors"],
  ["pending", "still pending", "still pending"],
  [
    "kernelDrops",
    "dropped by the kernel (receive buffer full)",
    "dropped by the kernel (receive buffer full)",
  ],
];

/** The human summary: the main counters always, the others when not zero. */
function summaryLine(stats: ListenerStats): string {
  const parts = [
    `${stats.received} received`,
    `${stats.replied} replied`,
    `${stats.unanswered} unanswered`,
  ];
  for (const [key, one, many] of COUNTER_NAMES) {
    const value = stats[key] ?? 0;
    if (value > 0) parts.push(`${value} ${value === 1 ? one : many}`);
  }
  return parts.join(", ");
}

/** Each event's colour on a terminal: replies green, drops yellow, errors red. */
const TONES: Record<string, Tone> = {
  message: "plain",
  reply: "good",
  drop: "warn",
  error: "bad",
};

/** With several groups, a line starts with the group its event came to. */
function tagged<T extends object>(
  event: T,
  line: (event: T) => string,
): string {
  const group = (event as { group?: string }).group;
  return group === undefined ? line(event) : `[${group}] ${line(event)}`;
}

/**
 * With several groups, `-i ADDR` must serve each group's family: checked
 * before any socket opens, naming the group.
 */
function checkGroupInterfaces(
  groups: readonly MulticastGroup[],
  iface: string | undefined,
): void {
  if (groups.length < 2 || iface === undefined) return;
  for (const group of groups) {
    try {
      resolveInterface(iface, group.family);
    } catch (error) {
      throw new UsageError(`${errorText(error)} (group ${group.address})`);
    }
  }
}

/** The `ready` event as people read it: everything `--json` says. */
function readyLine(ready: {
  group: string;
  groups?: readonly string[];
  port: number;
  interface: string | null;
  source: string | null;
  plugin: string;
  codec: string;
  transport: string;
  receiveBufferBytes: number | null;
  receiveBufferAskedBytes: number | null;
  pid: number;
  metrics?: string;
}): string {
  const source = ready.source === null ? "" : `, source ${ready.source}`;
  const buffer = receiveBufferText(
    ready.receiveBufferBytes,
    ready.receiveBufferAskedBytes,
    ready.transport,
  );
  return `listening on ${
    (ready.groups ?? [ready.group]).join(", ")
  } port ${ready.port} (interface ${
    ready.interface ?? "chosen by the OS"
  }${source}), responder ${ready.plugin}, codec ${ready.codec}, transport ${ready.transport}, ${buffer}, pid ${ready.pid}${
    ready.metrics === undefined ? "" : `, metrics at ${ready.metrics}`
  }; Ctrl-C to stop`;
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
  // Each group parsed once (with --source), here, and passed on.
  const groups = [...new Set(values.group as string[] | undefined)]
    .map((group) => parseGroup(group, { source: text("source") }));
  const group = groups[0] ?? parseGroup(DEFAULT_GROUP, {
    source: text("source"),
  });
  const several = groups.length > 1;
  checkGroupInterfaces(groups, text("interface"));
  const port = validatePort(values.port ?? DEFAULT_PORT);
  const metricsAt = values.metrics === undefined
    ? undefined
    : parseMetricsAddress(text("metrics")!);
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
  const paintOut = painter(!json && io.colourOut === true);
  const paintErr = painter(!json && io.colourErr === true);
  const perSource = numberFlag("rate-limit", text("rate-limit"));
  const burst = numberFlag("burst", text("burst"));
  if (burst !== undefined && burst < 1) {
    throw new UsageError(
      `Invalid --burst "${
        text("burst")
      }": must be at least 1 (a burst below 1 never lets a reply through; --rate-limit 0 turns the per-source limit off)`,
    );
  }
  const global = numberFlag("global-rate", text("global-rate"));
  const keyFile = text("key-file");
  const recvBuffer = text("recv-buffer");
  const stopper = new AbortController();
  const output = new ListenOutput(io, {
    json,
    quiet: values.quiet === true,
    ...stopAndReportFlags(text),
    humanLine: (event) =>
      event.event === "message" || event.event === "reply"
        ? {
          text: paintOut(
            TONES[event.event] ?? "plain",
            tagged(event, eventLine),
          ),
          err: false,
        }
        : {
          text: paintErr(TONES[event.event] ?? "bad", tagged(event, eventLine)),
          err: true,
        },
    stop: () => stopper.abort(),
  });
  const factory = chooseTransport(text("transport"), "listen", {
    receiveBufferBytes: recvBuffer === undefined
      ? undefined
      : parseByteSize("recv-buffer", recvBuffer, 1 << 30),
  });
  // The socket the listener opened, to report what the kernel granted.
  let opened: Transport | undefined;
  // Bound before the join, so a taken port stops the command at once.
  const scraped: { source?: ListenMetricsSource } = {};
  await using metrics = metricsAt &&
    MetricsEndpoint.start(metricsAt, () => listenPage(scraped.source));
  const listener = await listen({
    group: several ? undefined : group,
    groups: several ? groups : undefined,
    port,
    interface: text("interface"),
    responder,
    codec,
    signal: AbortSignal.any([signal, stopper.signal]),
    transport: factory &&
      (async (open) => opened = await factory(open)),
    allowFrom: values["allow-from"] as string[] | undefined,
    maxReplyBytes: numberFlag("max-reply-bytes", text("max-reply-bytes"), true),
    rateLimit: {
      perSource,
      perSourceBurst: burst,
      global,
    },
    jitter: text("jitter"),
    key: keyFile === undefined
      ? undefined
      : await readKeyFile(resolve(io.cwd, keyFile)),
    onEvent: output.onEvent,
    // This process has nothing else to do: while requests keep coming,
    // wait for each on this thread (round trips at a C server's rate).
    blockingWait: true,
  }).catch((error) => {
    output.finished();
    throw error;
  });
  const ready = {
    event: "ready",
    group: listener.group,
    ...(several ? { groups: listener.groups } : {}),
    port: listener.port,
    interface: listener.interface ?? null,
    source: text("source") ?? null,
    plugin: responder.name,
    codec: codec.name,
    transport: listener.transport,
    receiveBufferBytes: opened?.receiveBufferBytes?.() ?? null,
    receiveBufferAskedBytes: receiveBufferAsked(
      listener.transport,
      recvBuffer === undefined
        ? undefined
        : parseByteSize("recv-buffer", recvBuffer, 1 << 30),
    ),
    pid: Deno.pid,
    ...(metrics ? { metrics: metrics.url } : {}),
  };
  scraped.source = {
    stats: listener.stats,
    groups: listener.groups,
    perGroup: listener.perGroup,
    info: ready,
  };
  output.started(
    () => listener.stats,
    json ? ndjson(ready) : readyLine(ready),
  );
  let stats: ListenerStats;
  try {
    stats = await listener.closed;
  } finally {
    output.finished();
  }
  const perGroup = listener.perGroup;
  if (json) {
    io.out(
      stamped(ndjson({
        event: "summary",
        ...stats,
        // How long after the join the first datagram arrived (null: none did).
        firstDatagramAfterMs: listener.firstDatagramAfterMs ?? null,
        ...(perGroup && { perGroup }),
      })),
    );
  } else {
    io.out(`--- ${listener.groups.join(", ")} port ${listener.port} ---`);
    io.out(summaryLine(stats));
    for (const [name, counters] of Object.entries(perGroup ?? {})) {
      io.out(
        `${name}: ${counters.received} received, ${counters.replied} replied`,
      );
    }
  }
  return 0;
}
