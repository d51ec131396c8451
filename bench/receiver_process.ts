/**
 * The orchestrator's handle on one receiver subprocess speaking
 * `receiver_protocol.ts`: start it (on the measured CPU,
 * `cpu_placement.ts`), wait until it has joined, reset its counters, stop
 * it and read its report. Every wait is bounded; a
 * receiver that does not answer in time is killed.
 *
 * @module
 */

import { placed } from "./cpu_placement.ts";
import type { ReceiverReport } from "./receiver_protocol.ts";

/** How to start a receiver: a program and its arguments. */
export interface ReceiverCommand {
  /** The executable (`deno`'s path, `python3`, `node`). */
  command: string;
  /** Everything after it, including the protocol's arguments. */
  args: string[];
}

const encoder = new TextEncoder();

/** A running receiver subprocess. */
export class ReceiverProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: Promise<string>;
  readonly #description: string;

  private constructor(command: ReceiverCommand) {
    this.#description = [command.command, ...command.args].join(" ");
    const run = placed(command, "measured");
    this.#child = new Deno.Command(run.command, {
      args: run.args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#lines = this.#child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(lineSplitter())[Symbol.asyncIterator]();
    this.#stderr = new Response(this.#child.stderr).text();
  }

  /** The subprocess's id, for `/proc/PID/status`. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Starts a receiver and waits for its `ready` line.
   *
   * @param command What to run.
   * @param timeoutMs How long it may take to join.
   * @returns The running receiver.
   * @throws {Error} with its standard error when it exits or stays silent.
   */
  static async start(
    command: ReceiverCommand,
    timeoutMs = 15_000,
  ): Promise<ReceiverProcess> {
    const receiver = new ReceiverProcess(command);
    await receiver.#expect("ready", timeoutMs);
    return receiver;
  }

  /**
   * Zeroes the receiver's counters (after a warm-up).
   *
   * @param timeoutMs How long it may take to answer.
   */
  async reset(timeoutMs = 5_000): Promise<void> {
    await this.#write("reset\n");
    await this.#expect("reset", timeoutMs);
  }

  /**
   * Stops the receiver and returns its report; it drains for up to 2 s.
   *
   * @param timeoutMs How long it may take to report.
   * @returns Its counters.
   */
  async stop(timeoutMs = 10_000): Promise<ReceiverReport> {
    await this.#write("stop\n");
    const report = await this.#expect("report", timeoutMs);
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
    await this.#stderr;
    return report as unknown as ReceiverReport;
  }

  /** Kills the receiver if it still runs; safe to call at any time. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
    await this.#stderr.catch(() => "");
  }

  async #write(text: string): Promise<void> {
    await this.#stdin.write(encoder.encode(text));
  }

  async #expect(
    event: string,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      while (true) {
        const next = await Promise.race([this.#lines.next(), timeout]);
        if (next === "timeout" || next.done) {
          await this.kill();
          const stderr = (await this.#stderr.catch(() => "")).trim();
          throw new Error(
            `receiver ${
              next === "timeout"
                ? `gave no "${event}" in ${timeoutMs} ms`
                : "exited"
            }: ${this.#description}${stderr ? `\n${stderr}` : ""}`,
          );
        }
        const line = next.value.trim();
        if (!line.startsWith("{")) continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.event === event) return parsed;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

function lineSplitter(): TransformStream<string, string> {
  let pending = "";
  return new TransformStream({
    transform(chunk, controller) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) controller.enqueue(line);
    },
    flush(controller) {
      if (pending) controller.enqueue(pending);
    },
  });
}
