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
  DEFAULT_PORT,
  DEFAULT_RECEIVE_BYTES,
} from "../lib/defaults.ts";
import { DEFAULT_MESSAGE } from "./default_message.ts";
import { type MulticastGroup, parseGroup } from "../lib/group.ts";
import { resolveInterface } from "../lib/interface.ts";
import { loadCodec } from "../lib/loader.ts";
import { validateCount, validatePort, validateTtl } from "../lib/numbers.ts";
import type { Codec } from "../lib/plugin.ts";
import { errorText } from "../lib/errors.ts";
import { send } from "../lib/sender/send.ts";
import type {
  SendEvent,
  SendReply,
  SendSummary,
} from "../lib/sender/sender.ts";
import { builtins } from "../plugins/builtins.ts";
import { type Flags, numberFlag, parse } from "./args.ts";
import { parseByteSize } from "./byte_size.ts";
import { type Io, jsonValue, ndjson, showText } from "./io.ts";
import { painter, type Tone } from "./colour.ts";
import { mergeRuns } from "./group_runs.ts";
import { Progress } from "./progress.ts";
import { ReplyLines } from "./reply_lines.ts";
import { notSentText, SendNotes } from "./send_notes.ts";
import { reportPage, RunRecorder } from "./report_html.ts";
import {
  type ResponderRow,
  ResponderTable,
  tableLines,
} from "./responder_table.ts";
import { UsageError } from "./usage_error.ts";
import { parseDuration } from "../lib/duration.ts";
import { RunMonitor } from "./send_monitor.ts";
import { RttLog } from "./rtt_log.ts";
import { stamped } from "./wall_clock.ts";
import { chooseTransport, SEND_TRANSPORT_HELP } from "./transport_choice.ts";
import {
  METRICS_EXAMPLE_ADDRESS,
  parseMetricsAddress,
} from "./metrics/address.ts";
import { MetricsEndpoint } from "./metrics/endpoint.ts";
import { type SendMetricsSource, sendPage } from "./metrics/send_metrics.ts";

/** Help for `send`. */
export const SEND_HELP = `Usage: mcast send [options] [message]

Multicast a message to a group and print every reply that arrives before the
timeout, then a table of the responders. Exit status: 0 if at least one reply
came (from every group; as expected, with --expect), 1 if none, 2 for bad usage.

Options:
  -g, --group ADDR       multicast group (default ${DEFAULT_GROUP}); repeat it to
                         send to several groups at once, reported per group
  -p, --port N           UDP port (default ${DEFAULT_PORT})
  -t, --ttl N            multicast TTL 0-255 (default 1: stay on this segment)
  -i, --interface IF     outgoing interface, address or name (default: OS route)
  -w, --timeout D        wait this long for replies after the last send (default 1s)
  -c, --count N          messages to send (default 1; 0 = until Ctrl-C)
      --interval D       time between messages (default 1s); 0: as fast as the
                         socket takes them (ffi: sendmmsg batches), for load
      --rate R           messages per second (instead of --interval); max is
                         --interval 0
      --seq              number the requests: per-responder loss (over the run,
                         and from its first reply on, as omping's seq>=N),
                         duplicates, reordering, RTT min/p50/p90/p99/p99.9/
                         max/avg/stddev and jitter in the summary; a request
                         whose wait (-w) ran out without a known responder's
                         reply is a "lost" event with --json
      --pad N            pad each request to N bytes (0-65507): a listener
                         answers with at most 3x its request's size, so ask for
                         a larger reply (status: --pad 512) by padding
      --expect N         stop as soon as N distinct responders (addresses)
                         answered (in each group); exit 1 if fewer did. With
                         --count, each request's round ends as soon as they
                         answered it
      --expect-from ADDR wait for this responder too (repeatable); the summary
                         names those that did not answer, and the exit is 1
      --report FILE.html write one self-contained HTML page of the run: per
                         responder, RTT over time with lost requests marked, an
                         RTT histogram, and the responder table (best with --seq)
      --report-every D   a line per interval D (such as 1s) per responder, the
                         most lossy first (past 20 responders, the 10 most
                         lossy and a count of the rest): requests, replies,
                         lost (with --seq), RTT p50/p99/max in the interval
                         (--json: an "interval" event)
      --rtt-log FILE.csv write a row per request and responder as the run goes
                         (seq, send time, responder, RTT; the RTT empty when
                         the wait ran out, with --seq), like sockperf's
                         --full-log; one group only
      --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics
                         (such as ${METRICS_EXAMPLE_ADDRESS}) while the run goes on
                         (-c 0 or a long --count): requests, and per responder
                         replies, losses and the RTT histogram
  -q, --quiet            print only the summary (and the progress line); without
                         it a line per reply while at most 20 come a second,
                         then a line a second (sent, replies) until fewer do
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
      --recv-buffer SIZE the socket's receive buffer for replies, such as 512K
                         or 32M (ffi transport only; default 32M, which the
                         kernel caps at net.core.rmem_max unless run as root):
                         room for the replies of many responders at once
      --json             NDJSON output, one event per line
${SEND_TRANSPORT_HELP}
  -h, --help             show this help

Durations: 500ms, 2s, 1m, or a bare number of milliseconds.
Message default: "${DEFAULT_MESSAGE}".`;

const FLAGS: Flags = {
  group: { type: "string", short: "g", multiple: true },
  port: { type: "string", short: "p" },
  ttl: { type: "string", short: "t" },
  interface: { type: "string", short: "i" },
  timeout: { type: "string", short: "w" },
  count: { type: "string", short: "c" },
  interval: { type: "string" },
  rate: { type: "string" },
  seq: { type: "boolean" },
  pad: { type: "string" },
  expect: { type: "string" },
  "expect-from": { type: "string", multiple: true },
  report: { type: "string" },
  "report-every": { type: "string" },
  "rtt-log": { type: "string" },
  metrics: { type: "string" },
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
  "recv-buffer": { type: "string" },
  // The old name of --reply-buffer (a listener's --max-reply-bytes is its reply cap).
  "max-reply-bytes": { type: "string" },
  help: { type: "boolean", short: "h" },
};

function messageValue(codec: Codec, positionals: string[]): unknown {
  if (positionals.length === 0) return DEFAULT_MESSAGE;
  const text = positionals.join(" ");
  return codec.parse ? codec.parse(text) : text;
}

/** One group's run as the command shows it. */
interface GroupRun {
  group: string;
  events: AsyncGenerator<SendEvent, void, undefined>;
  /** Replies that count as answers (verified, with a key). */
  answers: number;
  /** Whether its expectation (--expect, --expect-from) was met; true without one. */
  met: boolean;
  table: ResponderTable;
  recorder: RunRecorder;
  /** Its lost events, interval lines and RTT log rows. */
  monitor: RunMonitor;
  /** Its refused sends as they happen, and the hints after its summary. */
  notes: SendNotes;
  rows: ResponderRow[];
  summary?: SendSummary;
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
  const groups = parseGroups(values.group as string[] | undefined);
  // Every group (and the interface for its family) is checked before any
  // run starts sending.
  for (const group of groups) {
    const iface = text("interface");
    if (iface === undefined || !several(groups)) continue;
    try {
      resolveInterface(iface, group.family);
    } catch (error) {
      throw new UsageError(`${errorText(error)} (group ${group.address})`);
    }
  }
  const port = validatePort(values.port ?? DEFAULT_PORT);
  const show = (value: unknown) => codec.show ? codec.show(value) : value;
  const keyFile = text("key-file");
  const key = keyFile === undefined
    ? undefined
    : await readKeyFile(resolve(io.cwd, keyFile));
  // --rate max: as fast as the socket takes them, the same as --interval 0.
  const maxRate = text("rate") === "max";
  if (maxRate && text("interval") !== undefined) {
    throw new UsageError(
      `Give --rate or --interval, not both (--rate max is --interval 0)`,
    );
  }
  const rate = maxRate ? undefined : numberFlag("rate", text("rate"));
  const iface = text("interface");
  if (values["no-loopback"] === true && throughLoopback(iface)) {
    io.err(
      `note: --no-loopback has no effect through ${iface}: the kernel delivers everything sent on lo to this host's listeners`,
    );
  }
  const report = text("report");
  if (report !== undefined) prepareReport(resolve(io.cwd, report));
  const metricsAt = text("metrics") === undefined
    ? undefined
    : parseMetricsAddress(text("metrics")!);
  const reportEveryMs = reportEvery(text("report-every"));
  const sequence = values.seq === true;
  const rttLogPath = text("rtt-log");
  if (rttLogPath !== undefined && groups.length > 1) {
    throw new UsageError(
      `--rtt-log takes one group (${groups.length} given): run a send per group`,
    );
  }
  const recvBuffer = text("recv-buffer");
  // One factory for every group's socket.
  const transport = chooseTransport(text("transport"), "send", {
    receiveBufferBytes: recvBuffer === undefined
      ? undefined
      : parseByteSize("recv-buffer", recvBuffer, 1 << 30),
  });
  // Each group's live run, read at each scrape; bound before anything is sent.
  const scraped: SendMetricsSource[] = groups.map((group) => ({
    group: group.address,
  }));
  await using metrics = metricsAt &&
    MetricsEndpoint.start(metricsAt, () => sendPage(scraped));
  if (metrics) io.err(`metrics at ${metrics.url}`);
  const progress = new Progress(io, !json && io.isTerminal);
  const rttLog = rttLogPath === undefined
    ? undefined
    : openRttLog(resolve(io.cwd, rttLogPath));
  const paint = painter(!json && io.colourOut === true);
  const manyGroups = several(groups);
  const sentBy = groups.map(() => 0);
  let replies = 0;
  const sentSoFar = () => sentBy.reduce((a, b) => a + b, 0);
  const replyLines = new ReplyLines(
    (line) => progress.print(line),
    () => ({
      sent: sentSoFar(),
      replies,
      lost: sequence
        ? runs.reduce((sum, run) => sum + run.monitor.lostCount, 0)
        : undefined,
    }),
  );
  const runs: GroupRun[] = groups.map((group, index) => {
    const recorder = new RunRecorder();
    const monitor = new RunMonitor({
      json,
      sequence,
      reportEveryMs,
      rttLog,
      group: manyGroups ? group.address : undefined,
      print: (line) => progress.print(line),
    });
    const notes = new SendNotes((line) => progress.print(line), {
      json,
      group: manyGroups ? group.address : undefined,
      iface,
      family: group.family,
    });
    return {
      group: group.address,
      answers: 0,
      met: true,
      table: new ResponderTable(),
      recorder,
      monitor,
      notes,
      rows: [],
      events: send(message, {
        group,
        port,
        ttl: values.ttl === undefined ? undefined : validateTtl(values.ttl),
        interface: iface,
        timeout: text("timeout"),
        count: values.count === undefined
          ? undefined
          : validateCount(values.count),
        interval: maxRate ? 0 : text("interval"),
        rate,
        sequence,
        pad: numberFlag("pad", text("pad"), true),
        expect: numberFlag("expect", text("expect"), true),
        expectFrom: values["expect-from"] as string[] | undefined,
        loopback: values["no-loopback"] !== true,
        codec,
        key,
        replyBufferBytes: numberFlag(
          text("reply-buffer") === undefined
            ? "max-reply-bytes"
            : "reply-buffer",
          text("reply-buffer") ?? text("max-reply-bytes"),
          true,
        ),
        signal,
        transport,
        // This process has nothing else to do: with one group, wait for
        // replies on this thread (round trips at a C client's rate).
        blockingWait: !manyGroups,
        onSent: (sent) => {
          sentBy[index] = sent;
          notes.sent();
          // The report places requests by number: those that left and not.
          recorder.sent(notes.numbered(sent));
          monitor.onSent(sent);
          progress.sent(sentSoFar());
        },
        onLost: (lost) => monitor.lost(lost),
        onSendError: (error, counts) => notes.sendError(error, counts),
        onStart: (live) => scraped[index].live = live,
      }),
    };
  });
  const tag = (run: GroupRun) => manyGroups ? { group: run.group } : {};
  for (const run of runs) run.monitor.start();
  try {
    for await (const { index, event } of mergeRuns(runs.map((r) => r.events))) {
      const run = runs[index];
      if (event.event === "reply") {
        // With a key, only a reply that verified counts as an answer.
        if (event.verified !== false) run.answers++;
        run.table.note(event);
        run.recorder.reply(event);
        progress.reply();
        replies++;
        run.monitor.reply(event);
        // -q: the summary only, with --json too (as listen -q).
        if (json && !quiet) {
          io.out(stamped(replyJson(event, show, tag(run))));
        } else if (!quiet) {
          const line = replyLine(event, show);
          // The line a second under load times answers only.
          const answer = event.duplicate !== true &&
            event.verified !== false &&
            (!sequence || event.seq !== undefined);
          replyLines.reply(
            paint(
              event.decodeError === undefined && event.verified !== false
                ? "good"
                : "warn",
              manyGroups ? `[${run.group}] ${line}` : line,
            ),
            answer ? event.rttMs : undefined,
          );
        }
        continue;
      }
      run.rows = run.table.rows(event.perResponder ?? []);
      run.met = event.expect?.met ?? true;
      run.summary = event;
    }
  } finally {
    for (const run of runs) run.monitor.stop();
    rttLog?.close();
    replyLines.stop();
    progress.stop();
  }
  // The summaries in the order the groups were given.
  for (const run of runs) {
    const event = run.summary;
    if (event === undefined) continue;
    const hints = run.notes.hints(event);
    if (json) {
      const { event: name, ...rest } = event;
      io.out(stamped(ndjson({
        event: name,
        ...tag(run),
        ...rest,
        perResponder: run.rows,
        ...(hints.length > 0 ? { hints } : {}),
      })));
    } else {
      for (const line of summaryLines(event, run.group, port, run.rows)) {
        io.out(line);
      }
      for (const [tone, line] of expectationLines(event)) {
        io.out(paint(tone, line));
      }
      for (const hint of hints) io.out(paint("warn", hint));
    }
  }
  if (report !== undefined) {
    const path = resolve(io.cwd, report);
    await Deno.writeTextFile(
      path,
      reportPage(
        runs.map((run) => ({
          group: run.group,
          port,
          sent: sentBy[runs.indexOf(run)],
          sendErrors: run.summary?.sendErrors,
          rows: run.rows,
          recorder: run.recorder,
        })),
        ["mcast", "send", ...args].join(" "),
      ),
    );
    io.err(`report written to ${path}`);
  }
  // Like ping: 0 when every group answered (and as expected), else 1.
  return runs.every((run) => run.answers > 0 && run.met) ? 0 : 1;
}

/**
 * Creates (or empties) the report file before anything is sent, so a path
 * that cannot be written is refused at once.
 */
function prepareReport(path: string): void {
  try {
    Deno.writeTextFileSync(path, "");
  } catch (error) {
    throw new UsageError(
      `Invalid --report "${path}": cannot write it (${errorText(error)})`,
    );
  }
}

/** `--report-every`, checked: at least 100 ms; undefined when absent. */
function reportEvery(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value, "--report-every");
  if (ms < 100) {
    throw new UsageError(
      `Invalid --report-every "${value}": must be at least 100ms`,
    );
  }
  return ms;
}

/** Opens `--rtt-log`'s file before anything is sent, so a path that cannot be written is refused at once. */
function openRttLog(path: string): RttLog {
  try {
    return RttLog.create(path);
  } catch (error) {
    throw new UsageError(
      `Invalid --rtt-log "${path}": cannot write it (${errorText(error)})`,
    );
  }
}

/** The groups of `-g` (once each; by default {@linkcode DEFAULT_GROUP}), parsed. */
function parseGroups(given: readonly string[] | undefined): MulticastGroup[] {
  const groups = [...new Set(given)];
  if (groups.length === 0) groups.push(DEFAULT_GROUP);
  return groups.map((group) => parseGroup(group));
}

/** Whether a run sends to more than one group. */
function several(groups: readonly unknown[]): boolean {
  return groups.length > 1;
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

function replyJson(
  reply: SendReply,
  show: (v: unknown) => unknown,
  tag: { group?: string },
): string {
  const { decodeError, event, ...rest } = reply;
  const readable = decodeError === undefined && reply.authError === undefined;
  return ndjson({
    event,
    ...tag,
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

function summaryLines(
  summary: SendSummary,
  group: string,
  port: number,
  rows: readonly ResponderRow[],
): string[] {
  const plural = (n: number, one: string, many: string) =>
    `${n} ${n === 1 ? one : many}`;
  return [
    `--- ${group} port ${port} ---`,
    ...tableLines(rows),
    `${summary.sent} sent, ${notSentText(summary)}${
      plural(summary.replies, "reply", "replies")
    } from ${plural(summary.responders, "responder", "responders")}${
      summary.verified === undefined ? "" : `, ${summary.verified} verified`
    }${
      summary.kernelDrops === undefined
        ? ""
        : `, ${
          plural(summary.kernelDrops, "reply", "replies")
        } dropped by the kernel (receive buffer full)`
    }`,
  ];
}

/** What became of `--expect` / `--expect-from`: a line, and who did not answer. */
function expectationLines(summary: SendSummary): [Tone, string][] {
  const expect = summary.expect;
  if (expect === undefined) return [];
  const { responders, answered, missing, met, roundsMet } = expect;
  const rounds = summary.sent > 1
    ? ` (met in ${roundsMet} of ${summary.sent} rounds)`
    : "";
  const lines: [Tone, string][] = [[
    met ? "good" : "bad",
    `${Math.min(answered, responders)} of ${responders} expected ${
      responders === 1 ? "responder" : "responders"
    } answered${answered > responders ? ` (${answered} in all)` : ""}${rounds}`,
  ]];
  if (missing.length > 0) {
    lines.push(["bad", `no answer from ${missing.join(", ")}`]);
  }
  return lines;
}
