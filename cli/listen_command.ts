/**
 * `mcast listen`: join a group and answer each datagram with a responder.
 *
 * @module
 */

import { resolve } from "node:path";
import { formatEndpoint } from "../lib/address.ts";
import { DEFAULT_GROUP } from "../lib/defaults.ts";
import { errorText } from "../lib/errors.ts";
import { type MulticastGroup, parseGroup } from "../lib/group.ts";
import { resolveInterface } from "../lib/interface.ts";
import {
  listen,
  type Listener,
  type ListenEvent,
  type ListenOptions,
} from "../lib/listener/listen.ts";
import { loadCodec, loadResponder } from "../lib/loader.ts";
import type { Codec, ListenerStats, Responder } from "../lib/plugin.ts";
import { readKeyFile } from "../lib/safety/auth.ts";
import type { Transport } from "../lib/transports/transport.ts";
import { builtins } from "../plugins/builtins.ts";
import { keyValues } from "./args.ts";
import { painter, type Tone } from "./colour.ts";
import { helpText, type ParsedFlags, parseFlags } from "./flag_table.ts";
import { type Io, ndjson, showText } from "./io.ts";
import { LISTEN_TABLE } from "./listen_flags.ts";
import { joinTimeLine } from "./join_time_text.ts";
import { ListenOutput } from "./listen_output.ts";
import {
  receiveBufferAsked,
  receiveBufferText,
} from "./receive_buffer_text.ts";
import { stamped } from "./wall_clock.ts";
import type { MetricsAddress } from "./metrics/address.ts";
import { MetricsEndpoint } from "./metrics/endpoint.ts";
import {
  type ListenMetricsSource,
  listenPage,
} from "./metrics/listen_metrics.ts";
import { chooseTransport } from "./transport_choice.ts";
import { UsageError } from "./usage_error.ts";

/** Help for `listen`, from its flag table. */
export const LISTEN_HELP: string = helpText(LISTEN_TABLE);

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

/** What one `mcast listen` runs with, every flag checked before the join. */
interface ListenPlan {
  /** The groups, parsed once (with `--source`), here; one at least. */
  groups: MulticastGroup[];
  responder: Responder;
  codec: Codec;
  json: boolean;
  /** `--metrics`, checked. */
  metricsAt: MetricsAddress | undefined;
  /** `--recv-buffer`, when given. */
  recvBuffer: number | undefined;
  /** What the listener is started with (but its events and its signal). */
  options: Omit<ListenOptions, "onEvent" | "signal">;
}

/**
 * The groups of `-g` (by default {@linkcode DEFAULT_GROUP}), parsed once
 * with `--source`; with several, `-i` must serve each group's family:
 * checked before any socket opens, naming the group.
 */
function listenGroups(flags: ParsedFlags): MulticastGroup[] {
  const source = flags.text("source");
  const given = [...new Set(flags.list("group"))];
  const groups = (given.length === 0 ? [DEFAULT_GROUP] : given)
    .map((group) => parseGroup(group, { source }));
  const iface = flags.text("interface");
  if (groups.length < 2 || iface === undefined) return groups;
  for (const group of groups) {
    try {
      resolveInterface(iface, group.family);
    } catch (error) {
      throw new UsageError(`${errorText(error)} (group ${group.address})`);
    }
  }
  return groups;
}

/** Reads the flags into a plan: plugins loaded, key read, every check done. */
async function planListen(flags: ParsedFlags, io: Io): Promise<ListenPlan> {
  const groups = listenGroups(flags);
  const codec = await loadCodec(flags.value<string>("codec")!, {
    builtins: builtins.codecs,
    cwd: io.cwd,
  });
  const responder = await loadResponder(flags.value<string>("plugin")!, {
    builtins: builtins.responders,
    cwd: io.cwd,
    options: keyValues(flags.list("option")),
  });
  const keyFile = flags.text("key-file");
  const several = groups.length > 1;
  return {
    groups,
    responder,
    codec,
    json: flags.on("json"),
    metricsAt: flags.value<MetricsAddress>("metrics"),
    recvBuffer: flags.value<number>("recv-buffer"),
    options: {
      group: several ? undefined : groups[0],
      groups: several ? groups : undefined,
      port: flags.value<number>("port"),
      interface: flags.text("interface"),
      responder,
      codec,
      transport: chooseTransport(flags.text("transport"), "listen", {
        receiveBufferBytes: flags.value<number>("recv-buffer"),
      }),
      allowFrom: flags.given("allow-from")
        ? flags.list("allow-from")
        : undefined,
      maxReplyBytes: flags.value<number>("max-reply-bytes"),
      rateLimit: {
        perSource: flags.value<number>("rate-limit"),
        perSourceBurst: flags.value<number>("burst"),
        global: flags.value<number>("global-rate"),
      },
      jitter: flags.value<number>("jitter"),
      key: keyFile === undefined
        ? undefined
        : await readKeyFile(resolve(io.cwd, keyFile)),
    },
  };
}

/** Where events go: a line each (coloured on a terminal), or NDJSON. */
function listenOutput(
  io: Io,
  flags: ParsedFlags,
  stop: () => void,
): ListenOutput {
  const json = flags.on("json");
  const paintOut = painter(!json && io.colourOut === true);
  const paintErr = painter(!json && io.colourErr === true);
  return new ListenOutput(io, {
    json,
    // "text" is always the built-in codec (a module is named by a path).
    textPayloads: flags.value<string>("codec") === "text",
    quiet: flags.on("quiet"),
    reportEveryMs: flags.value<number>("report-every"),
    durationMs: flags.value<number>("duration"),
    count: flags.value<number>("count"),
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
    stop,
  });
}

/**
 * Starts the listener; returns it and the socket it opened (to report
 * what the kernel granted). A failed start ends the output first.
 */
async function startListener(
  plan: ListenPlan,
  output: ListenOutput,
  signal: AbortSignal,
): Promise<{ listener: Listener; opened: Transport | undefined }> {
  const factory = plan.options.transport;
  let opened: Transport | undefined;
  const listener = await listen({
    ...plan.options,
    signal,
    transport: factory && (async (open) => opened = await factory(open)),
    onEvent: output.onEvent,
    // This process has nothing else to do: while requests keep coming,
    // wait for each on this thread (round trips at a C server's rate);
    // not with --metrics, whose endpoint must answer meanwhile.
    blockingWait: plan.metricsAt === undefined,
  }).catch((error) => {
    output.finished();
    throw error;
  });
  return { listener, opened };
}

/** The `ready` event: what the listener joined, with what, and where. */
function readyEvent(
  plan: ListenPlan,
  listener: Listener,
  opened: Transport | undefined,
  metricsUrl: string | undefined,
) {
  return {
    event: "ready",
    group: listener.group,
    ...(plan.groups.length > 1 ? { groups: listener.groups } : {}),
    port: listener.port,
    interface: listener.interface ?? null,
    source: plan.groups[0].source ?? null,
    plugin: plan.responder.name,
    codec: plan.codec.name,
    transport: listener.transport,
    receiveBufferBytes: opened?.receiveBufferBytes?.() ?? null,
    receiveBufferAskedBytes: receiveBufferAsked(
      listener.transport,
      plan.recvBuffer,
    ),
    pid: Deno.pid,
    ...(metricsUrl === undefined ? {} : { metrics: metricsUrl }),
  };
}

/** The summary once the listener has closed: NDJSON, or lines. */
function printSummary(
  io: Io,
  json: boolean,
  listener: Listener,
  stats: ListenerStats,
): void {
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
    return;
  }
  io.out(`--- ${listener.groups.join(", ")} port ${listener.port} ---`);
  const joined = joinTimeLine(listener.firstDatagramAfterMs);
  if (joined !== undefined) io.out(joined);
  io.out(summaryLine(stats));
  for (const [name, counters] of Object.entries(perGroup ?? {})) {
    io.out(
      `${name}: ${counters.received} received, ${counters.replied} replied`,
    );
  }
}

/** Runs `listen` until `signal` aborts; returns the exit code. */
export async function listenCommand(
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const flags = parseFlags(LISTEN_TABLE, args);
  if (flags.help) {
    io.out(LISTEN_HELP);
    return 0;
  }
  const plan = await planListen(flags, io);
  const stopper = new AbortController();
  const output = listenOutput(io, flags, () => stopper.abort());
  // Bound before the join, so a taken port stops the command at once.
  const scraped: { source?: ListenMetricsSource } = {};
  await using metrics = plan.metricsAt &&
    MetricsEndpoint.start(plan.metricsAt, () => listenPage(scraped.source));
  const { listener, opened } = await startListener(
    plan,
    output,
    AbortSignal.any([signal, stopper.signal]),
  );
  const ready = readyEvent(plan, listener, opened, metrics?.url);
  scraped.source = {
    stats: listener.stats,
    groups: listener.groups,
    perGroup: listener.perGroup,
    info: ready,
  };
  output.started(
    () => listener.stats,
    plan.json ? ndjson(ready) : readyLine(ready),
  );
  let stats: ListenerStats;
  try {
    stats = await listener.closed;
  } finally {
    output.finished();
  }
  printSummary(io, plan.json, listener, stats);
  return 0;
}
