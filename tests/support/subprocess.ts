/**
 * A child process for tests: its stdout and stderr read line by line, every
 * wait bounded, and disposal that kills it and drains its pipes, so the op
 * and resource sanitizers find nothing left over.
 *
 * @module
 */

import { LineReader } from "./line_reader.ts";

/** How to start a {@linkcode Subprocess}. */
export interface SubprocessOptions {
  /** The working directory. @default this process's */
  cwd?: string;
  /** Variables added to the inherited environment (`NO_COLOR=1` always is). */
  env?: Record<string, string>;
  /** What error messages call the process. @default the command */
  name?: string;
}

/** How a {@linkcode Subprocess} ended, with everything it printed. */
export interface Finished {
  /** The exit code. */
  code: number;
  /** The signal that ended it, if one did. */
  signal: Deno.Signal | null;
  /** Its stdout, line by line. */
  stdout: string[];
  /** Its stderr, line by line. */
  stderr: string[];
}

/** A child process with its output read line by line; disposal kills it. */
export class Subprocess implements AsyncDisposable {
  /** The process itself. */
  readonly child: Deno.ChildProcess;
  /** Its stdout. */
  readonly out: LineReader;
  /** Its stderr. */
  readonly err: LineReader;
  /** Whether it has exited. */
  exited = false;
  readonly #name: string;
  readonly #status: Promise<Deno.CommandStatus>;

  /** Spawns `command args...` with stdin closed and stdout/stderr piped. */
  constructor(
    command: string,
    args: string[],
    options: SubprocessOptions = {},
  ) {
    this.#name = options.name ?? command;
    this.child = new Deno.Command(command, {
      args,
      cwd: options.cwd,
      env: { NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.out = new LineReader(this.child.stdout);
    this.err = new LineReader(this.child.stderr);
    this.#status = this.child.status.then((status) => {
      this.exited = true;
      return status;
    });
  }

  /**
   * Waits for the process to end by itself, at most `timeoutMs`; when it
   * does not, kills it and throws with what it printed.
   */
  async wait(timeoutMs: number): Promise<Finished> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const status = await Promise.race([this.#status, timeout]);
    clearTimeout(timer);
    if (status === "timeout") {
      await this[Symbol.asyncDispose]();
      throw new Error(
        `${this.#name} did not exit within ${timeoutMs} ms\nstdout:\n${this.out.text}\nstderr:\n${this.err.text}`,
      );
    }
    await Promise.all([this.out.done, this.err.done]);
    return {
      code: status.code,
      signal: status.signal,
      stdout: this.out.lines,
      stderr: this.err.lines,
    };
  }

  /** Sends `signal` and waits, at most `timeoutMs`, for the exit. */
  stop(signal: Deno.Signal, timeoutMs: number): Promise<Finished> {
    this.child.kill(signal);
    return this.wait(timeoutMs);
  }

  /**
   * Waits, at most `timeoutMs`, for a line of stdout matching `match`, as
   * {@linkcode LineReader.waitFor} does. On failure the process is killed,
   * and the error quotes its stderr too.
   */
  async waitForLine(
    match: (line: string) => boolean,
    what: string,
    timeoutMs: number,
  ): Promise<string> {
    try {
      return await this.out.waitFor(match, what, timeoutMs);
    } catch (error) {
      await this[Symbol.asyncDispose]();
      if (this.err.lines.length === 0) throw error;
      throw new Error(
        `${(error as Error).message}\nstderr:\n${this.err.text}`,
      );
    }
  }

  /** Kills the process (SIGKILL) unless it has exited, then waits for it and its pipes. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.exited) {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await this.#status;
    await Promise.all([this.out.done, this.err.done]);
  }
}
