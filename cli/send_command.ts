/**
 * `mcast send [message]`: multicast a message and report the replies; with
 * `--count`, `--rate` and `--seq` a multicast ping that reports loss,
 * duplicates, reordering and round-trip times per responder.
 *
 * @module
 */

import { resolve } from "node:path";
import { formatEndpoint } from "../lib/address.ts";
import { DEFAULT_GROUP } from "../lib/defaults.ts";
import { errorText } from "../lib/errors.ts";
import { type MulticastGroup, parseGroup } from "../lib/group.ts";
import { resolveInterface } from "../lib/interface.ts";
import { loadCodec } from "../lib/loader.ts";
import type { Codec } from "../lib/plugin.ts";
import { readKeyFile } from "../lib/safety/auth.ts";
import { checkSendRunOptions } from "../lib/sender/options.ts";
import { send, type SendOptions } from "../lib/sender/send.ts";
import {
  Sender,
  type SendEvent,
  type SendReply,
  type SendSummary,
} from "../lib/sender/sender.ts";
import { builtins } from "../plugins/builtins.ts";
import { painter, type Tone } from "./colour.ts";
import { DEFAULT_MESSAGE } from "./default_message.ts";
import { helpText, type ParsedFlags, parseFlags } from "./flag_table.ts";
import { mergeRuns } from "./group_runs.ts";
import { type Io, jsonValue, ndjson, showText } from "./io.ts";
import { Progress } from "./progress.ts";
import { ReplyLines } from "./reply_lines.ts";
import { notSentText, SendNotes } from "./send_notes.ts";
import { reportPage, RunRecorder } from "./report_html.ts";
import {
  type ResponderRow,
  ResponderTable,
  tableLines,
} from "./responder_table.ts";
import { SEND_TABLE } from "./send_flags.ts";
import type { MetricsAddress } from "./metrics/address.ts";
import { MetricsEndpoint } from "./metrics/endpoint.ts";
import { type SendMetricsSource, sendPage } from "./metrics/send_metrics.ts";
import { RunMonitor } from "./send_monitor.ts";
import { RttLog } from "./rtt_log.ts";
import { stamped } from "./wall_clock.ts";
import { chooseTransport } from "./transport_choice.ts";
import { UsageError } from "./usage_error.ts";

/** Help for `send`, from its flag table. */
export const SEND_HELP: string = helpText(SEND_TABLE);

function messageValue(codec: Codec, positionals: string[]): unknown {
  if (positionals.length === 0) return DEFAULT_MESSAGE;
  const text = positionals.join(" ");
  return codec.parse ? codec.parse(text) : text;
}

/** What one `mcast send` runs with, every flag checked before anything is sent. */
interface SendPlan {
  groups: MulticastGroup[];
  port: number;
  message: unknown;
  /** How a reply's payload is shown (the codec's `show`). */
  show: (value: unknown) => unknown;
  json: boolean;
  quiet: boolean;
  /** `--report`, resolved: the page to write at the end. */
  report: string | undefined;
  /** `--report-every`, ms. */
  reportEveryMs: number | undefined;
  /** `--rtt-log`'s file, open (closed at the end). */
  rttLog: RttLog | undefined;
  /** `--metrics`, checked. */
  metricsAt: MetricsAddress | undefined;
  /** What every group's run is sent with. */
  options: Omit<SendOptions, "group" | "onSent" | "signal">;
}

/** One group's run as the command shows it. */
interface GroupRun {
  group: string;
  /** What its run is sent with (the group's socket and the run's timing). */
  options: SendOptions;
  /** Replies that count as answers (verified, with a key). */
  answers: number;
  /** Whether its expectation (--expect, --expect-from) was met; true without one. */
  met: boolean;
  /** Requests sent so far. */
  sent: number;
  table: ResponderTable;
  /**
   * What `--report` draws (every answer's round trip, up to a million
   * requests): only with `--report`, so a long run without one stays small.
   */
  recorder: RunRecorder | undefined;
  /** Its lost events, interval lines and RTT log rows. */
  monitor: RunMonitor;
  /** Its refused sends as they happen, and the hints after its summary. */
  notes: SendNotes;
  rows: ResponderRow[];
  summary?: SendSummary;
}

/** How replies are shown while the runs go on. */
interface ReplyView {
  io: Io;
  plan: SendPlan;
  progress: Progress;
  lines: ReplyLines;
  paint: ReturnType<typeof painter>;
  /** Replies so far, of every group. */
  replies: number;
}

/**
 * The groups of `-g`, parsed once (by default {@linkcode DEFAULT_GROUP}),
 * and with several, `-i` checked for each group's family before any run
 * starts sending.
 */
function sendGroups(
  given: readonly string[],
  iface: string | undefined,
): MulticastGroup[] {
  const groups = [...new Set(given)].map((group) => parseGroup(group));
  if (groups.length === 0) groups.push(parseGroup(DEFAULT_GROUP));
  if (iface === undefined || groups.length < 2) return groups;
  for (const group of groups) {
    try {
      resolveInterface(iface, group.family);
    } catch (error) {
      throw new UsageError(`${errorText(error)} (group ${group.address})`);
    }
  }
  return groups;
}

/** The send step's options from the flags: timing, payload, transport. */
async function runOptions(
  flags: ParsedFlags,
  io: Io,
  codec: Codec,
): Promise<SendPlan["options"]> {
  // --rate max: as fast as the socket takes them, the same as --interval 0.
  const rate = flags.value<number | "max">("rate");
  if (rate === "max" && flags.given("interval")) {
    throw new UsageError(
      `Give --rate or --interval, not both (--rate max is --interval 0)`,
    );
  }
  const keyFile = flags.text("key-file");
  const recvBuffer = flags.value<number>("recv-buffer");
  return {
    port: flags.value<number>("port"),
    ttl: flags.value<number>("ttl"),
    interface: flags.text("interface"),
    timeout: flags.value<number>("timeout"),
    count: flags.value<number>("count"),
    interval: rate === "max" ? 0 : flags.value<number>("interval"),
    rate: rate === "max" ? undefined : rate,
    sequence: flags.on("seq"),
    pad: flags.value<number>("pad"),
    expect: flags.value<number>("expect"),
    expectFrom: flags.given("expect-from")
      ? flags.list("expect-from")
      : undefined,
    loopback: !flags.on("no-loopback"),
    codec,
    key: keyFile === undefined
      ? undefined
      : await readKeyFile(resolve(io.cwd, keyFile)),
    replyBufferBytes: flags.value<number>("reply-buffer"),
    // One factory for every group's socket.
    transport: chooseTransport(flags.text("transport"), "send", {
      receiveBufferBytes: recvBuffer,
    }),
  };
}

/** Reads the flags into a plan: every check before anything is sent. */
async function planSend(flags: ParsedFlags, io: Io): Promise<SendPlan> {
  const codec = await loadCodec(flags.value<string>("codec")!, {
    builtins: builtins.codecs,
    cwd: io.cwd,
  });
  const message = messageValue(codec, flags.positionals);
  const iface = flags.text("interface");
  const groups = sendGroups(flags.list("group"), iface);
  const options = await runOptions(flags, io, codec);
  if (flags.on("no-loopback") && throughLoopback(iface)) {
    io.err(
      `note: --no-loopback has no effect through ${iface}: the kernel delivers everything sent on lo to this host's listeners`,
    );
  }
  const report = flags.text("report");
  if (report !== undefined) prepareReport(resolve(io.cwd, report));
  const rttLog = flags.text("rtt-log");
  if (rttLog !== undefined && groups.length > 1) {
    throw new UsageError(
      `--rtt-log takes one group (${groups.length} given): run a send per group`,
    );
  }
  return {
    groups,
    port: options.port!,
    message,
    show: (value) => codec.show ? codec.show(value) : value,
    json: flags.on("json"),
    quiet: flags.on("quiet"),
    report: report === undefined ? undefined : resolve(io.cwd, report),
    reportEveryMs: flags.value<number>("report-every"),
    metricsAt: flags.value<MetricsAddress>("metrics"),
    rttLog: rttLog === undefined
      ? undefined
      : openRttLog(resolve(io.cwd, rttLog)),
    options,
  };
}

/** A run per group, planned: its socket opens and sending starts when `readRuns` reads it. */
function startRuns(
  plan: SendPlan,
  signal: AbortSignal,
  progress: Progress,
  scraped: SendMetricsSource[],
): GroupRun[] {
  const runs: GroupRun[] = [];
  const sentSoFar = () => runs.reduce((sum, run) => sum + run.sent, 0);
  for (const [index, group] of plan.groups.entries()) {
    const monitor = new RunMonitor({
      json: plan.json,
      sequence: plan.options.sequence === true,
      reportEveryMs: plan.reportEveryMs,
      rttLog: plan.rttLog,
      group: plan.groups.length > 1 ? group.address : undefined,
      print: (line) => progress.print(line),
    });
    const notes = new SendNotes((line) => progress.print(line), {
      json: plan.json,
      group: plan.groups.length > 1 ? group.address : undefined,
      iface: plan.options.interface,
      family: group.family,
    });
    const run: GroupRun = {
      group: group.address,
      answers: 0,
      met: true,
      sent: 0,
      table: new ResponderTable(),
      recorder: plan.report === undefined ? undefined : new RunRecorder(),
      monitor,
      notes,
      rows: [],
      options: {
        ...plan.options,
        group,
        signal,
        // This process has nothing else to do: with one group, wait for
        // replies on this thread (round trips at a C client's rate); not
        // with --metrics, whose endpoint must answer meanwhile.
        blockingWait: plan.groups.length === 1 && plan.metricsAt === undefined,
        onSent: (sent) => {
          run.sent = sent;
          notes.sent();
          // The report places requests by number: those that left and not.
          run.recorder?.sent(notes.numbered(sent));
          monitor.onSent(sent);
          progress.sent(sentSoFar());
        },
        onLost: (lost) => monitor.lost(lost),
        onSendError: (error, counts) => notes.sendError(error, counts),
        onStart: (live) => scraped[index].live = live,
      },
    };
    // Checked before any socket opens, as send() checks them.
    checkSendRunOptions(run.options);
    runs.push(run);
  }
  return runs;
}

/** A reply as the command shows it: a line, or its NDJSON. */
function showReply(view: ReplyView, run: GroupRun, reply: SendReply): void {
  const { plan, io } = view;
  const several = plan.groups.length > 1;
  // -q: the summary only, with --json too (as listen -q).
  if (plan.json && !plan.quiet) {
    io.out(
      stamped(replyJson(reply, plan.show, several ? { group: run.group } : {})),
    );
  } else if (!plan.quiet) {
    const line = replyLine(reply, plan.show);
    // The line a second under load times answers only.
    const answer = reply.duplicate !== true && reply.verified !== false &&
      (plan.options.sequence !== true || reply.seq !== undefined);
    view.lines.reply(
      view.paint(
        reply.decodeError === undefined && reply.verified !== false
          ? "good"
          : "warn",
        several ? `[${run.group}] ${line}` : line,
      ),
      answer ? reply.rttMs : undefined,
    );
  }
}

/** Reads every run's events as they come: replies shown, summaries kept. */
async function readRuns(view: ReplyView, runs: GroupRun[]): Promise<void> {
  for (const run of runs) run.monitor.start();
  try {
    // One group (a ping-pong among them): its replies handed over by its
    // sender's run as they come (onReply), with no generator step per
    // reply (send()'s yield*, the merging generator and the run's own
    // yield: each a hand-over of 1-2 us in perf); the summary yielded.
    if (runs.length === 1) {
      const [run] = runs;
      await using sender = await Sender.open(run.options);
      const options = {
        ...run.options,
        onReply: (reply: SendReply) => readEvent(view, run, reply),
      };
      for await (const event of sender.send(view.plan.message, options)) {
        readEvent(view, run, event);
      }
      return;
    }
    const merged = mergeRuns(
      runs.map((run) => send(view.plan.message, run.options)),
    );
    for await (const { index, event } of merged) {
      readEvent(view, runs[index], event);
    }
  } finally {
    for (const run of runs) run.monitor.stop();
    view.plan.rttLog?.close();
    view.lines.stop();
    view.progress.stop();
  }
}

/** One event of a run: a reply shown and counted, or its summary kept. */
function readEvent(view: ReplyView, run: GroupRun, event: SendEvent): void {
  if (event.event === "reply") {
    // With a key, only a reply that verified counts as an answer.
    if (event.verified !== false) run.answers++;
    run.table.note(event);
    run.recorder?.reply(event);
    view.progress.reply();
    view.replies++;
    run.monitor.reply(event);
    showReply(view, run, event);
    return;
  }
  run.rows = run.table.rows(event.perResponder ?? []);
  run.met = event.expect?.met ?? true;
  run.summary = event;
}

/** The summaries, in the order the groups were given. */
function printSummaries(view: ReplyView, runs: readonly GroupRun[]): void {
  const { plan, io } = view;
  for (const run of runs) {
    const event = run.summary;
    if (event === undefined) continue;
    const hints = run.notes.hints(event);
    if (plan.json) {
      const { event: name, ...rest } = event;
      io.out(stamped(ndjson({
        event: name,
        ...(plan.groups.length > 1 ? { group: run.group } : {}),
        ...rest,
        perResponder: run.rows,
        ...(hints.length > 0 ? { hints } : {}),
      })));
      continue;
    }
    for (const line of summaryLines(event, run.group, plan.port, run.rows)) {
      io.out(line);
    }
    for (const [tone, line] of expectationLines(event)) {
      io.out(view.paint(tone, line));
    }
    for (const hint of hints) io.out(view.paint("warn", hint));
  }
}

/** Writes `--report`'s page. */
async function writeReport(
  path: string,
  plan: SendPlan,
  runs: readonly GroupRun[],
  args: readonly string[],
  io: Io,
): Promise<void> {
  await Deno.writeTextFile(
    path,
    reportPage(
      runs.map((run) => ({
        group: run.group,
        port: plan.port,
        sent: run.sent,
        sendErrors: run.summary?.sendErrors,
        rows: run.rows,
        recorder: run.recorder!,
      })),
      ["mcast", "send", ...args].join(" "),
    ),
  );
  io.err(`report written to ${path}`);
}

/** Runs `send`; returns the exit code. */
export async function sendCommand(
  args: string[],
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const flags = parseFlags(SEND_TABLE, args);
  if (flags.help) {
    io.out(SEND_HELP);
    return 0;
  }
  const plan = await planSend(flags, io);
  // Each group's live run, read at each scrape; bound before anything is sent.
  const scraped: SendMetricsSource[] = plan.groups.map((group) => ({
    group: group.address,
  }));
  await using metrics = plan.metricsAt &&
    MetricsEndpoint.start(plan.metricsAt, () => sendPage(scraped));
  if (metrics) io.err(`metrics at ${metrics.url}`);
  const progress = new Progress(io, !plan.json && io.isTerminal);
  const runs = startRuns(plan, signal, progress, scraped);
  const view: ReplyView = {
    io,
    plan,
    progress,
    paint: painter(!plan.json && io.colourOut === true),
    lines: new ReplyLines(
      (line) => progress.print(line),
      () => ({
        sent: runs.reduce((sum, run) => sum + run.sent, 0),
        replies: view.replies,
        lost: plan.options.sequence === true
          ? runs.reduce((sum, run) => sum + run.monitor.lostCount, 0)
          : undefined,
      }),
    ),
    replies: 0,
  };
  await readRuns(view, runs);
  printSummaries(view, runs);
  if (plan.report !== undefined) {
    await writeReport(plan.report, plan, runs, args, io);
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
