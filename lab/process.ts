/**
 * Processes for the namespace harness: {@linkcode Proc}, a child process
 * with line-split output and a bounded life, and {@linkcode runChecked} /
 * {@linkcode runSync} for short commands that must succeed.
 *
 * A {@linkcode Proc} always has a time limit and its output is read in the
 * background, so no caller ever has to drain a pipe. {@linkcode runSync} is
 * only for quick checks made while tests are registered.
 *
 * @module
 */

/** Default lifetime of a {@linkcode Proc}, in milliseconds. */
export const DEFAULT_PROC_TIMEOUT_MS = 60_000;
/** Default time limit of a command run to its end, in milliseconds. */
export const DEFAULT_RUN_TIMEOUT_MS = 15_000;
/** How long output is read after a process exits before its pipes are cut. */
const PIPE_DRAIN_MS = 2_000;

/** How a process ended. */
export interface ProcResult {
  /** Exit code (128 + signal number when killed by a signal). */
  code: number;
  /** The signal that ended the process, if any. */
  signal: Deno.Signal | null;
  /** Everything the process wrote to stdout. */
  stdout: string;
  /** Everything the process wrote to stderr. */
  stderr: string;
  /** True when the harness killed the process because its time ran out. */
  timedOut: boolean;
}

/** Options of {@linkcode Proc}. */
export interface ProcOptions {
  /**
   * Kill the process with SIGKILL after this many milliseconds.
   * @default {DEFAULT_PROC_TIMEOUT_MS}
   */
  timeoutMs?: number;
  /** Text written to the process's stdin, which is then closed. */
  stdin?: string;
}

type Waiter = {
  test: (line: string) => boolean;
  resolve: (line: string) => void;
};

/**
 * A process with piped, line-split output and a bounded life.
 *
 * Its stdout and stderr are read to the end in the background, so the caller
 * never has to drain them; {@linkcode Proc.stop} or the lifetime timer ends
 * it. Disposing of it stops it.
 */
export class Proc implements AsyncDisposable {
  /** The command line that was started. */
  readonly argv: readonly string[];
  /** Resolves once the process has exited and its output is read. */
  readonly done: Promise<ProcResult>;
  readonly #child: Deno.ChildProcess;
  readonly #stdout: string[] = [];
  readonly #stderr: string[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #errWaiters = new Set<Waiter>();
  #exited = false;
  #timedOut = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts `argv` (no shell).
   *
   * @param argv Program and arguments.
   * @param options Lifetime and stdin.
   */
  constructor(argv: readonly string[], options: ProcOptions = {}) {
    if (argv.length === 0) {
      throw new TypeError("Cannot start a process: empty command");
    }
    this.argv = [...argv];
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const stdinDone = options.stdin === undefined
      ? Promise.resolve()
      : writeAll(this.#child.stdin, options.stdin);
    const timeoutMs = options.timeoutMs ?? DEFAULT_PROC_TIMEOUT_MS;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timedOut = true;
      this.kill("SIGKILL");
    }, timeoutMs);
    const out = new LinePump(child.stdout, (line) => {
      this.#stdout.push(line);
      notify(this.#waiters, line);
    });
    const err = new LinePump(child.stderr, (line) => {
      this.#stderr.push(line);
      notify(this.#errWaiters, line);
    });
    this.done = (async () => {
      const status = await child.status;
      this.#exited = true;
      clearTimeout(this.#timer);
      this.#timer = undefined;
      // A grandchild may still hold the pipes open: read on for a bounded
      // time, then cut them.
      let cut: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([out.done, err.done]),
        new Promise<void>((resolve) => {
          cut = setTimeout(resolve, PIPE_DRAIN_MS);
        }),
      ]);
      clearTimeout(cut);
      await Promise.allSettled([out.cancel(), err.cancel(), stdinDone]);
      return {
        code: status.code,
        signal: status.signal,
        stdout: this.#stdout.map((l) => l + "\n").join(""),
        stderr: this.#stderr.map((l) => l + "\n").join(""),
        timedOut: this.#timedOut,
      };
    })();
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Lines written to stdout so far, without line ends. */
  get lines(): readonly string[] {
    return this.#stdout;
  }

  /** Lines written to stderr so far, without line ends. */
  get errorLines(): readonly string[] {
    return this.#stderr;
  }

  /** Sends a signal; does nothing if the process has already exited. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // Exited between the check and the kill.
    }
  }

  /**
   * Resolves with the first stdout line (already written or still to come)
   * that passes `test`. Rejects when the process exits or time runs out.
   */
  waitForLine(
    test: (line: string) => boolean,
    timeoutMs = 10_000,
  ): Promise<string> {
    return this.#wait(this.#stdout, this.#waiters, test, timeoutMs, "stdout");
  }

  /** Like {@linkcode Proc.waitForLine}, for stderr. */
  waitForErrorLine(
    test: (line: string) => boolean,
    timeoutMs = 10_000,
  ): Promise<string> {
    return this.#wait(
      this.#stderr,
      this.#errWaiters,
      test,
      timeoutMs,
      "stderr",
    );
  }

  /**
   * Sends `signal`, waits up to `graceMs` for the exit, then sends SIGKILL.
   *
   * @param signal First signal to send.
   * @param graceMs How long to wait before SIGKILL.
   */
  async stop(
    signal: Deno.Signal = "SIGTERM",
    graceMs = 2_000,
  ): Promise<ProcResult> {
    this.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([this.done, killed]);
      return await this.done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process (SIGTERM, then SIGKILL after 1 s). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGTERM", 1_000);
  }

  #wait(
    seen: readonly string[],
    waiters: Set<Waiter>,
    test: (line: string) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<string> {
    const found = seen.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<string>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const finish = (error: Error | null, line?: string) => {
        waiters.delete(waiter);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(line!);
      };
      const waiter: Waiter = { test, resolve: (line) => finish(null, line) };
      waiters.add(waiter);
      const describe = () =>
        `${this.argv.join(" ")}\n--- stdout:\n${
          this.#stdout.join("\n")
        }\n--- stderr:\n${this.#stderr.join("\n")}`;
      timer = setTimeout(() => {
        finish(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for a ${what} line of: ${describe()}`,
          ),
        );
      }, timeoutMs);
      this.done.then(() => {
        if (!waiters.has(waiter)) return;
        const late = seen.find(test);
        if (late !== undefined) finish(null, late);
        else {
          finish(
            new Error(
              `Process exited before writing the expected ${what} line: ${describe()}`,
            ),
          );
        }
      });
    });
  }
}

function notify(waiters: Set<Waiter>, line: string): void {
  for (const w of [...waiters]) if (w.test(line)) w.resolve(line);
}

async function writeAll(
  stream: WritableStream<Uint8Array>,
  text: string,
): Promise<void> {
  const writer = stream.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } catch {
    // The process closed stdin early; nothing to deliver any more.
  } finally {
    await writer.close().catch(() => {});
  }
}

/** Reads a byte stream and calls `onLine` for each line, until cancelled. */
class LinePump {
  readonly done: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(
    stream: ReadableStream<Uint8Array>,
    onLine: (line: string) => void,
  ) {
    this.#reader = stream.getReader();
    this.done = this.#run(onLine);
  }

  /** Stops reading (if still reading) and waits for the loop to end. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.done.catch(() => {});
  }

  async #run(onLine: (line: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    while (true) {
      const { value, done } = await this.#reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        onLine(rest.slice(0, nl).replace(/\r$/, ""));
        rest = rest.slice(nl + 1);
      }
    }
    rest += decoder.decode();
    if (rest.length > 0) onLine(rest);
  }
}

/**
 * Runs `argv` to its end (bounded) and returns its stdout; throws with its
 * stderr when it fails or runs out of time.
 */
export async function runChecked(
  argv: string[],
  timeoutMs = DEFAULT_RUN_TIMEOUT_MS,
): Promise<string> {
  const r = await new Proc(argv, { timeoutMs }).done;
  if (r.code !== 0) {
    throw new Error(
      `Command failed (code ${r.code}${r.timedOut ? ", timed out" : ""}): ${
        argv.join(" ")
      }\n${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

/**
 * Runs `argv` synchronously (for checks made while tests are registered) and
 * returns whether it succeeded with its stdout and stderr together.
 */
export function runSync(argv: string[]): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const dec = new TextDecoder();
    return {
      ok: r.success,
      out: (dec.decode(r.stdout) + dec.decode(r.stderr)).trim(),
    };
  } catch (e) {
    return { ok: false, out: e instanceof Error ? e.message : String(e) };
  }
}
