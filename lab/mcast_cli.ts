/**
 * Helpers for namespace tests that drive the mcast command line in a lab
 * node: run `mcast ARGS...`, start `mcast listen --json` and wait for its
 * `ready` event, stop it and parse what it printed, run `mcast send --json`
 * and parse its replies, and assert on both. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Node } from "./lab.ts";
import type { Proc, ProcResult } from "./process.ts";

/** The CLI entry point. */
const CLI: string = new URL("../cli.ts", import.meta.url).pathname;
/** This Deno binary, so the CLI runs on the version under test. */
const DENO: string = Deno.execPath();
/** Deno starts slowly when several start at once: be generous. */
const READY_MS = 30_000;

/**
 * `mcast ARGS...` as a command line for a node, with `--unstable-net` as
 * `deno task listen` passes it: listeners use the same transport as there.
 */
function mcastArgv(args: string[]): string[] {
  return [DENO, "run", "-A", "--unstable-net", CLI, ...args];
}

/** Runs `mcast ARGS...` in `node`; it is killed after `timeoutMs`. */
export function runMcast(
  node: Node,
  args: string[],
  options: { timeoutMs: number },
): Promise<ProcResult> {
  return node.run(mcastArgv(args), options);
}

/**
 * `-g GROUP -p PORT`, and `-i IFACE` when given: the flags that pick a group
 * and port (and interface), for listen and send alike.
 */
export function groupFlags(
  group: string,
  port: number,
  iface?: string,
): string[] {
  return [
    "-g",
    group,
    "-p",
    String(port),
    ...(iface === undefined ? [] : ["-i", iface]),
  ];
}

/** One NDJSON event. */
export type Json = Record<string, unknown>;

/** The JSON objects among `text`'s lines (other lines are skipped). */
export function parseJsonLines(text: string | readonly string[]): Json[] {
  const lines = typeof text === "string" ? text.split("\n") : text;
  const out: Json[] = [];
  for (const line of lines) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      // Not one of ours.
    }
  }
  return out;
}

function isEvent(line: string, event: string): boolean {
  try {
    return JSON.parse(line)?.event === event;
  } catch {
    return false;
  }
}

/** A running `mcast listen --json`. */
export interface RunningListener {
  /** The process. */
  proc: Proc;
  /** Its `ready` event. */
  ready: Json;
}

/**
 * Starts `mcast listen --json ARGS...` in `node` and waits for its `ready`
 * event. Rejects (with the process's output) when it exits first.
 */
export async function startListener(
  node: Node,
  args: string[],
): Promise<RunningListener> {
  const proc = node.spawn(mcastArgv(["listen", "--json", ...args]), {
    timeoutMs: 120_000,
  });
  const line = await proc.waitForLine((l) => isEvent(l, "ready"), READY_MS);
  return { proc, ready: JSON.parse(line) };
}

/** The `message` events a listener has printed so far. */
export function messagesSoFar(listener: RunningListener): Json[] {
  return parseJsonLines(listener.proc.lines).filter((e) =>
    e.event === "message"
  );
}

/** What a listener printed, once stopped. */
export interface ListenerResult {
  /** Exit code. */
  code: number;
  /** The signal that ended it, if one did (SIGKILL after the 5 s grace). */
  signal: Deno.Signal | null;
  /** Its `message` events. */
  messages: Json[];
  /** Its `reply` events. */
  replies: Json[];
  /** Its final `summary` event. */
  summary: Json | undefined;
  /** Everything on stdout and stderr, for assertion messages. */
  output: string;
}

/** Stops a listener with SIGINT (SIGKILL after 5 s) and parses its output. */
export async function stopListener(
  listener: RunningListener,
): Promise<ListenerResult> {
  const r = await listener.proc.stop("SIGINT", 5_000);
  const events = parseJsonLines(r.stdout);
  return {
    code: r.code,
    signal: r.signal,
    messages: events.filter((e) => e.event === "message"),
    replies: events.filter((e) => e.event === "reply"),
    summary: events.find((e) => e.event === "summary"),
    output: `exit ${r.code}\nstdout:\n${r.stdout}stderr:\n${r.stderr}`,
  };
}

/**
 * Stops `listener` and asserts that it heard exactly `expected`, each
 * message as `view` shows it (by default its sender), and that its summary
 * counts them as received and (unless `checkReplied` is false) as replied
 * to. Returns what it printed, for further checks.
 */
export async function assertHeard(
  listener: RunningListener,
  expected: unknown[],
  options: { view?: (message: Json) => unknown; checkReplied?: boolean } = {},
): Promise<ListenerResult> {
  const { view = (m: Json) => m.from, checkReplied = true } = options;
  const result = await stopListener(listener);
  assert.deepEqual(result.messages.map(view), expected, result.output);
  assert.equal(result.summary?.received, expected.length, result.output);
  if (checkReplied) {
    assert.equal(result.summary?.replied, expected.length, result.output);
  }
  return result;
}

/** What one `mcast send --json` run printed. */
export interface SendRun {
  /** Exit code. */
  code: number;
  /** Its `reply` events. */
  replies: Json[];
  /** Its `summary` event. */
  summary: Json | undefined;
  /** Its stdout. */
  stdout: string;
  /** Its stderr. */
  stderr: string;
}

/** Runs `mcast send --json ARGS...` in `node` (bounded) and parses its output. */
export async function send(node: Node, args: string[]): Promise<SendRun> {
  const r = await runMcast(node, ["send", "--json", ...args], {
    timeoutMs: 60_000,
  });
  const events = parseJsonLines(r.stdout);
  return {
    code: r.code,
    replies: events.filter((e) => e.event === "reply"),
    summary: events.find((e) => e.event === "summary"),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

/** A send run as text, for assertion messages. */
export function describe(run: SendRun): string {
  return `exit ${run.code}\nreplies: ${JSON.stringify(run.replies)}\nsummary: ${
    JSON.stringify(run.summary)
  }\nstderr: ${run.stderr}`;
}

/** Asserts that `run` sent one datagram and got no reply at all (exit 1). */
export function assertUnanswered(run: SendRun): void {
  assert.equal(run.code, 1, describe(run));
  assert.deepEqual(run.replies, [], describe(run));
  // When it was printed and how the run was timed: checked apart.
  const { time, clock, durationMs, ...counts } = run.summary ?? {};
  assert.ok(Number.isFinite(Date.parse(String(time))), describe(run));
  assert.ok(clock === "kernel" || clock === "user", describe(run));
  assert.equal(typeof durationMs, "number", describe(run));
  assert.deepEqual(
    counts,
    { event: "summary", sent: 1, replies: 0, responders: 0, perResponder: [] },
    describe(run),
  );
}

/** An address without its `%zone`. */
export function unzoned(address: unknown): string {
  return String(address).replace(/%.*$/, "");
}
