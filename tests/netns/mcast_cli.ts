/**
 * Helpers for namespace tests that drive the mcast command line: start
 * `mcast listen --json` in a lab node and wait for its `ready` event, run
 * `mcast send --json` and parse what it printed, capture with `tcpdump -vv`
 * (which prints IGMPv3/MLDv2 source lists), and wait for IPv6 duplicate
 * address detection. Every wait is bounded.
 *
 * @module
 */

import {
  type Host,
  type Node,
  type Packet,
  parseTcpdump,
  type Proc,
} from "./lab.ts";

/** The CLI entry point. */
export const CLI: string = new URL("../../cli.ts", import.meta.url).pathname;
/** This Deno binary, so the CLI runs on the version under test. */
export const DENO: string = Deno.execPath();
/** Deno starts slowly when several start at once: be generous. */
export const READY_MS = 30_000;

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
  const proc = node.spawn(
    [DENO, "run", "-A", CLI, "listen", "--json", ...args],
    {
      timeoutMs: 120_000,
    },
  );
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
    messages: events.filter((e) => e.event === "message"),
    replies: events.filter((e) => e.event === "reply"),
    summary: events.find((e) => e.event === "summary"),
    output: `exit ${r.code}\nstdout:\n${r.stdout}stderr:\n${r.stderr}`,
  };
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
  const r = await node.run(
    [DENO, "run", "-A", CLI, "send", "--json", ...args],
    {
      timeoutMs: 60_000,
    },
  );
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

/** An address without its `%zone`. */
export function unzoned(address: unknown): string {
  return String(address).replace(/%.*$/, "");
}

/**
 * Waits (up to `timeoutMs`) until no IPv6 address of `host`'s `eth0` is
 * tentative. The lab adds its fd77 addresses with `nodad`, but the kernel's
 * own link-local address still runs duplicate address detection (about a
 * second) and cannot be used as a source until it is done.
 */
export async function waitForDad(host: Host, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const r = await host.run([
      "ip",
      "-6",
      "-o",
      "addr",
      "show",
      "dev",
      host.iface,
      "tentative",
    ]);
    if (r.code === 0 && r.stdout.trim() === "") return;
    if (Date.now() >= deadline) {
      throw new Error(
        `${host.name}: IPv6 addresses still tentative after ${timeoutMs} ms:\n${r.stdout}${r.stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The link-local (fe80::/10) address of `host`'s `eth0`, without zone. */
export async function linkLocal(host: Host): Promise<string> {
  const r = await host.run([
    "ip",
    "-6",
    "-o",
    "addr",
    "show",
    "dev",
    host.iface,
    "scope",
    "link",
  ]);
  const m = /inet6 (fe80:[0-9a-f:]+)\//.exec(r.stdout);
  if (r.code !== 0 || m === null) {
    throw new Error(
      `${host.name}: no link-local address on ${host.iface}: ${r.stdout}${r.stderr}`,
    );
  }
  return m[1];
}

/**
 * A `tcpdump -vv` capture on a node's `eth0`: unlike the lab's `-v`
 * capture it prints the source lists of IGMPv3 and MLDv2 reports
 * (`[gaddr 232.1.1.1 allow { 10.77.1.10 }]`).
 */
export class VerboseCapture implements AsyncDisposable {
  /** The tcpdump process. */
  readonly proc: Proc;

  private constructor(proc: Proc) {
    this.proc = proc;
  }

  /** Starts tcpdump with `filter` in `node` and waits until it listens. */
  static async start(node: Node, filter: string): Promise<VerboseCapture> {
    const proc = node.spawn([
      "tcpdump",
      "-i",
      "eth0",
      "-n",
      "-vv",
      "-l",
      "--immediate-mode",
      filter,
    ], { timeoutMs: 60_000 });
    await proc.waitForErrorLine((l) => /listening on/.test(l), 10_000);
    return new VerboseCapture(proc);
  }

  /** Packets parsed so far. */
  get packets(): Packet[] {
    return parseTcpdump(this.proc.lines);
  }

  /** Resolves with the first packet (seen or to come) passing `test`. */
  async waitFor(
    test: (p: Packet) => boolean,
    timeoutMs = 5_000,
  ): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.packets.find(test);
      if (found) return found;
      if (this.proc.exited || Date.now() >= deadline) {
        throw new Error(
          `No such packet after ${timeoutMs} ms; tcpdump saw:\n${
            this.proc.lines.join("\n")
          }`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops tcpdump (bounded) and returns every packet. */
  async stop(): Promise<Packet[]> {
    await this.proc.stop("SIGINT", 2_000);
    return this.packets;
  }

  /** Stops tcpdump. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Waits until `packets()` holds at least `count` packets, polling for at
 * most `timeoutMs`; returns them either way (the caller asserts).
 */
export async function waitForCount(
  packets: () => readonly Packet[],
  count: number,
  timeoutMs = 3_000,
): Promise<readonly Packet[]> {
  const deadline = Date.now() + timeoutMs;
  while (packets().length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return packets();
}
