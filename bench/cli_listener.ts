/**
 * The CLI listener as users run it, for the rows that measure it (7 and
 * 2p): `deno task listen` (through the launcher, so the ffi transport with
 * built-ins) on a bench endpoint and 127.0.0.1, started on the measured
 * CPU; something runs against it once it has printed its ready line; then
 * SIGINT, and its summary is read. Its stdout is a pipe this process
 * empties as fast as it can (bytes counted, not parsed but for the ready
 * line and the summary), or a file (`listen > FILE`, no reader at all),
 * read once it has exited. The CPU time the listener's process used
 * between its ready line and the SIGINT is read from `/proc`.
 *
 * Network safety: 127.0.0.1 only, the endpoint checked by
 * `assertBenchEndpoint`, every wait bounded; a listener that overruns is
 * killed.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { assertBenchEndpoint, type Endpoint, LOOPBACK } from "./addresses.ts";
import { placed } from "./cpu_placement.ts";
import { cpuSeconds } from "./process_cpu.ts";

const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

/** How long the CLI may take to print its ready line, ms. */
const READY_MS = 20_000;
/** How long the CLI may take to exit after SIGINT, ms. */
const EXIT_MS = 10_000;
/** The tail of the output kept, to read the summary from, characters. */
const TAIL_CHARS = 16_384;

/** What a stopped CLI listener said. */
export interface CliOutcome {
  /** Its summary's `received`. */
  received: number;
  /** Its summary's `kernelDrops` (0 when absent). */
  kernelDrops: number;
  /** Lines it printed in all. */
  lines: number;
  /**
   * CPU seconds (user + system) the listener's own process used from its
   * ready line to the SIGINT, by the `pid` its ready line gives; NaN
   * when it could not be read.
   */
  cpuSeconds: number;
}

/** Where the CLI's stdout goes: a pipe this process reads, or a file. */
export type CliStdout = "pipe" | "file";

/** How often a file's start is read while waiting for the ready line, ms. */
const READY_POLL_MS = 10;

/**
 * The summary's counters, from the human summary or the NDJSON event.
 *
 * @param tail The end of the CLI's output.
 * @returns `received` and `kernelDrops`.
 * @throws {Error} when the output has no summary.
 */
export function readSummary(
  tail: string,
): { received: number; kernelDrops: number } {
  const json = /\{"event":"summary".*\}/.exec(tail);
  if (json !== null) {
    const summary = JSON.parse(json[0]);
    return {
      received: summary.received,
      kernelDrops: summary.kernelDrops ?? 0,
    };
  }
  // The counts' line, after the summary's heading and any line before it
  // (such as when the first datagram came).
  const human = /^--- .* ---\n(?:.*\n)*?(\d+) received,.*$/m.exec(tail);
  if (human === null) {
    throw new Error(`no summary in the CLI's output: ...${tail.slice(-300)}`);
  }
  const drops = /(\d+) dropped by the kernel/.exec(human[0]);
  return { received: Number(human[1]), kernelDrops: Number(drops?.[1] ?? 0) };
}

/**
 * The listener's process id, from its ready line (`"pid":N` in NDJSON,
 * `pid N` in the human line).
 *
 * @param text The output from its start.
 * @returns The pid, or undefined when the ready line has none.
 */
export function readyPid(text: string): number | undefined {
  const found = /"pid":(\d+)|, pid (\d+)/.exec(text);
  return found === null ? undefined : Number(found[1] ?? found[2]);
}

/** Whether `text` holds the ready line of either output. */
const isReady = (text: string) => /listening on |"event":"ready"/.test(text);

/** What the runner reads of the CLI's output, however it goes. */
interface CliOutput {
  /** Resolves once the ready line is out. */
  readonly ready: Promise<void>;
  /** Resolves once the output is read to its end (after the exit). */
  readonly done: Promise<void>;
  /** Lines in all, once `done`. */
  readonly lines: number;
  /** The output's start, once `ready` (with the ready line). */
  readonly head: string;
  /** The output's last {@linkcode TAIL_CHARS} bytes, as text, once `done`. */
  readonly text: string;
}

/**
 * The CLI's stdout, read to the end: lines counted, the tail kept. Cheap
 * per chunk, as a C reader would be (`listen --json` writes ~90 MB for a
 * million datagrams, and this process may share a CPU with the
 * listener): newlines found with `indexOf`, the text decoded only until
 * the ready line and, at the end, the last {@linkcode TAIL_CHARS} bytes.
 */
class OutputTail implements CliOutput {
  lines = 0;
  head = "";
  readonly ready: Promise<void>;
  readonly done: Promise<void>;
  #tail: Uint8Array[] = [];
  #tailBytes = 0;

  constructor(stdout: ReadableStream<Uint8Array>) {
    let ready: (() => void) | undefined;
    this.ready = new Promise<void>((resolve) => ready = resolve);
    this.done = (async () => {
      for await (const chunk of stdout) {
        for (
          let at = chunk.indexOf(10);
          at >= 0;
          at = chunk.indexOf(10, at + 1)
        ) {
          this.lines++;
        }
        this.#keep(chunk);
        if (ready !== undefined && isReady(this.text)) {
          this.head = this.text;
          ready();
          ready = undefined;
        }
      }
    })();
  }

  /** The last {@linkcode TAIL_CHARS} bytes of the output, as text. */
  get text(): string {
    const bytes = new Uint8Array(this.#tailBytes);
    let at = 0;
    for (const chunk of this.#tail) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    return new TextDecoder().decode(bytes.subarray(-TAIL_CHARS));
  }

  #keep(chunk: Uint8Array): void {
    this.#tail.push(chunk);
    this.#tailBytes += chunk.byteLength;
    while (this.#tailBytes - this.#tail[0].byteLength >= TAIL_CHARS) {
      this.#tailBytes -= this.#tail.shift()!.byteLength;
    }
  }
}

/**
 * The CLI's stdout as a file (`listen > FILE`): nothing reads it while the
 * listener runs but for its start, polled until the ready line is there;
 * once the listener has exited, the file is read through once for its
 * lines and its tail.
 */
class OutputFile implements CliOutput {
  lines = 0;
  head = "";
  text = "";
  readonly ready: Promise<void>;
  readonly done: Promise<void>;

  /**
   * @param path The file the CLI writes.
   * @param exited Resolves when the CLI has exited.
   */
  constructor(path: string, exited: Promise<unknown>) {
    let gone = false;
    exited.finally(() => gone = true);
    this.ready = (async () => {
      while (!gone) {
        const head = await readStart(path);
        if (isReady(head)) {
          this.head = head;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
      }
      await new Promise(() => {}); // exited before it was ready: never
    })();
    this.done = exited.then(() => this.#readAll(path));
  }

  async #readAll(path: string): Promise<void> {
    using file = await Deno.open(path);
    const chunk = new Uint8Array(1 << 20);
    let last = new Uint8Array(0);
    for (
      let n = await file.read(chunk);
      n !== null;
      n = await file.read(chunk)
    ) {
      const bytes = chunk.subarray(0, n);
      for (
        let at = bytes.indexOf(10);
        at >= 0;
        at = bytes.indexOf(10, at + 1)
      ) {
        this.lines++;
      }
      const end = bytes.subarray(Math.max(0, n - TAIL_CHARS));
      const joined = new Uint8Array(last.length + end.length);
      joined.set(last);
      joined.set(end, last.length);
      last = joined.subarray(Math.max(0, joined.length - TAIL_CHARS));
    }
    this.text = new TextDecoder().decode(last);
  }
}

/** The first 64 KiB of a file, as text ("" while it does not exist). */
async function readStart(path: string): Promise<string> {
  try {
    using file = await Deno.open(path);
    const bytes = new Uint8Array(64 * 1024);
    const n = await file.read(bytes);
    return new TextDecoder().decode(bytes.subarray(0, n ?? 0));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

/** A started CLI listener and where its output is read. */
interface StartedCli {
  child: Deno.ChildProcess;
  output: CliOutput;
  /** Removes the output file's directory, if any. */
  cleanUp(): Promise<void>;
}

/** Spawns `deno task listen` on the measured CPU, its stdout to `stdout`. */
async function startCli(
  endpoint: Endpoint,
  flags: string[],
  stdout: CliStdout,
): Promise<StartedCli> {
  const run = placed({
    command: Deno.execPath(),
    args: [
      ...["task", "--quiet", "--config", CONFIG, "listen"],
      ...["-g", endpoint.group, "-p", String(endpoint.port), "-i", LOOPBACK],
      ...flags,
    ],
  }, "measured");
  if (stdout === "pipe") {
    const child = new Deno.Command(run.command, {
      args: run.args,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return {
      child,
      output: new OutputTail(child.stdout),
      cleanUp: () => Promise.resolve(),
    };
  }
  const dir = await Deno.makeTempDir({ prefix: "mcast-bench-listen-" });
  const path = `${dir}/stdout`;
  // sh execs the command with its stdout on the file: the child is the CLI.
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$@" > "$0"', path, run.command, ...run.args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return {
    child,
    output: new OutputFile(path, child.status),
    cleanUp: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Waits for the ready line; kills the CLI and throws when it does not come. */
async function awaitReady(
  child: Deno.ChildProcess,
  output: CliOutput,
  stderr: Promise<string>,
): Promise<void> {
  let readyTimer: ReturnType<typeof setTimeout> | undefined;
  const first = await Promise.race([
    output.ready.then(() => "ready" as const),
    new Promise<"timeout">((resolve) =>
      readyTimer = setTimeout(() => resolve("timeout"), READY_MS)
    ),
    child.status.then(() => "exited" as const),
  ]).finally(() => clearTimeout(readyTimer));
  if (first === "ready") return;
  if (first === "timeout") child.kill("SIGKILL");
  await child.status;
  throw new Error(`the CLI listener ${first}: ${await stderr}`);
}

/** What {@linkcode withCliListener} may be told besides its arguments. */
export interface CliListenerOptions {
  /** How long to wait after `during` before SIGINT (a drain), ms. @default 0 */
  settleMs?: number;
  /** Where its stdout goes. @default "pipe" */
  stdout?: CliStdout;
}

/**
 * Starts `deno task listen` with `flags` on `endpoint`, runs `during` once
 * it is ready, waits `settleMs`, stops it with SIGINT and reads its
 * summary. Kills it when any step overruns.
 *
 * @param endpoint The bench group and port it joins (on 127.0.0.1).
 * @param flags Flags besides the group, port and interface (the plugin,
 *   `-q`, limits).
 * @param during What to do while it listens (a flood, a client).
 * @param options The drain before SIGINT, where stdout goes; a number
 *   is the drain alone.
 * @returns What `during` returned, and the CLI's summary.
 * @throws {Error} when it does not start, exits early or fails.
 */
export async function withCliListener<T>(
  endpoint: Endpoint,
  flags: string[],
  during: () => Promise<T>,
  options: number | CliListenerOptions = {},
): Promise<{ result: T; outcome: CliOutcome }> {
  assertBenchEndpoint(endpoint);
  const { settleMs = 0, stdout = "pipe" } = typeof options === "number"
    ? { settleMs: options }
    : options;
  const { child, output, cleanUp } = await startCli(endpoint, flags, stdout);
  const killer = setTimeout(
    () => child.kill("SIGKILL"),
    READY_MS + EXIT_MS + 60_000,
  );
  const stderr = new Response(child.stderr).text();
  try {
    await awaitReady(child, output, stderr);
    const pid = readyPid(output.head);
    const cpuBefore = pid === undefined ? undefined : await cpuSeconds(pid);
    const result = await during();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const cpuAfter = pid === undefined ? undefined : await cpuSeconds(pid);
    child.kill("SIGINT");
    const status = await child.status;
    await output.done;
    if (!status.success) {
      throw new Error(
        `the CLI listener exited with ${status.code}: ${await stderr}`,
      );
    }
    const summary = readSummary(output.text);
    const cpu = cpuBefore === undefined || cpuAfter === undefined
      ? NaN
      : cpuAfter - cpuBefore;
    return {
      result,
      outcome: { ...summary, lines: output.lines, cpuSeconds: cpu },
    };
  } finally {
    clearTimeout(killer);
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await output.done.catch(() => {});
    await stderr.catch(() => "");
    await cleanUp();
  }
}
