/**
 * The CLI listener as users run it, for the rows that measure it (7 and
 * 2p): `deno task listen` (through the launcher, so the ffi transport with
 * built-ins) on a bench endpoint and 127.0.0.1, started on the measured
 * CPU; something runs against it once it has printed its ready line; then
 * SIGINT, and its summary is read. Its stdout is a pipe this process
 * empties as fast as it can (bytes counted, not parsed but for the ready
 * line and the summary).
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
}

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
 * The CLI's stdout, read to the end: lines counted, the tail kept. Cheap
 * per chunk, as a C reader would be (`listen --json` writes ~90 MB for a
 * million datagrams, and this process may share a CPU with the
 * listener): newlines found with `indexOf`, the text decoded only until
 * the ready line and, at the end, the last {@linkcode TAIL_CHARS} bytes.
 */
class OutputTail {
  lines = 0;
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
        if (
          ready !== undefined && /listening on |"event":"ready"/.test(this.text)
        ) {
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
 * Starts `deno task listen` with `flags` on `endpoint`, runs `during` once
 * it is ready, waits `settleMs`, stops it with SIGINT and reads its
 * summary. Kills it when any step overruns.
 *
 * @param endpoint The bench group and port it joins (on 127.0.0.1).
 * @param flags Flags besides the group, port and interface (the plugin,
 *   `-q`, limits).
 * @param during What to do while it listens (a flood, a client).
 * @param settleMs How long to wait after `during` before SIGINT (a drain).
 * @returns What `during` returned, and the CLI's summary.
 * @throws {Error} when it does not start, exits early or fails.
 */
export async function withCliListener<T>(
  endpoint: Endpoint,
  flags: string[],
  during: () => Promise<T>,
  settleMs = 0,
): Promise<{ result: T; outcome: CliOutcome }> {
  assertBenchEndpoint(endpoint);
  const run = placed({
    command: Deno.execPath(),
    args: [
      ...["task", "--quiet", "--config", CONFIG, "listen"],
      ...["-g", endpoint.group, "-p", String(endpoint.port), "-i", LOOPBACK],
      ...flags,
    ],
  }, "measured");
  const child = new Deno.Command(run.command, {
    args: run.args,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(
    () => child.kill("SIGKILL"),
    READY_MS + EXIT_MS + 60_000,
  );
  const stderr = new Response(child.stderr).text();
  const output = new OutputTail(child.stdout);
  try {
    let readyTimer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      output.ready.then(() => "ready" as const),
      new Promise<"timeout">((resolve) =>
        readyTimer = setTimeout(() => resolve("timeout"), READY_MS)
      ),
      child.status.then(() => "exited" as const),
    ]).finally(() => clearTimeout(readyTimer));
    if (first !== "ready") {
      if (first === "timeout") child.kill("SIGKILL");
      await child.status;
      throw new Error(`the CLI listener ${first}: ${await stderr}`);
    }
    const result = await during();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    child.kill("SIGINT");
    const status = await child.status;
    await output.done;
    if (!status.success) {
      throw new Error(
        `the CLI listener exited with ${status.code}: ${await stderr}`,
      );
    }
    const summary = readSummary(output.text);
    return { result, outcome: { ...summary, lines: output.lines } };
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
  }
}
