/**
 * `deno task listen` and `deno task send` as users run them: `deno task`,
 * the launcher (`cli/launch.ts`) and its child (`cli.ts`), possibly under a
 * wrapper (bash with job control, GNU `timeout`, `script` for a terminal).
 * A run finds its processes by their command line (the unique group it
 * names), tells which are still alive, and kills what is left on disposal,
 * so a failing test leaves no listener behind. Linux only (`/proc`).
 *
 * @module
 */

import { ROOT } from "./cli_process.ts";
import { Subprocess } from "./subprocess.ts";

/** `deno task --config <checkout>/deno.json COMMAND ARGS...`, runnable from any directory. */
export function denoTask(command: "listen" | "send", args: string[]): string[] {
  return [
    Deno.execPath(),
    "task",
    "--config",
    `${ROOT}/deno.json`,
    command,
    ...args,
  ];
}

/** Quotes words for bash. */
export function shellWords(words: string[]): string {
  return words.map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
}

/** One process: its PID, parent and command line. */
export interface ProcessInfo {
  /** Its PID. */
  pid: number;
  /** Its parent's PID. */
  ppid: number;
  /** Its state letter (`Z` for a zombie: exited, not yet reaped). */
  state: string;
  /** Its arguments, the program first. */
  argv: string[];
}

/** Reads one process from /proc; undefined when it is gone. */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    argv.pop();
    return { pid, ppid: Number(ppid), state, argv };
  } catch {
    return undefined;
  }
}

/** Every live (not zombie) process whose program is Deno and whose arguments include `marker`. */
export function denoProcessesWith(marker: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const info = processInfo(Number(entry.name));
    if (
      info !== undefined && info.state !== "Z" &&
      /(^|\/)deno$/.test(info.argv[0] ?? "") && info.argv.includes(marker)
    ) found.push(info);
  }
  return found;
}

/** The three processes of `deno task listen|send`. */
export interface TaskPids {
  /** `deno task`. */
  task: number;
  /** The launcher, `cli/launch.ts`. */
  launcher: number;
  /** The command itself, `cli.ts`, which joined the group. */
  child: number;
}

/** How to start a {@linkcode TaskRun}. */
export interface TaskRunOptions {
  /** Its working directory (and INIT_CWD, as deno task sets it there). @default {ROOT} */
  cwd?: string;
  /** More environment variables. */
  env?: Record<string, string>;
  /** An argument of the run that no other test uses (its group), to find its processes by. */
  marker: string;
}

/** A run of `argv` (deno task, or a wrapper around it); disposal kills what is left. */
export class TaskRun implements AsyncDisposable {
  /** The outermost process. */
  readonly proc: Subprocess;
  /** The argument its processes are found by. */
  readonly marker: string;

  /** Spawns `argv`. */
  constructor(argv: string[], options: TaskRunOptions) {
    const cwd = options.cwd ?? ROOT;
    this.marker = options.marker;
    this.proc = new Subprocess(argv[0], argv.slice(1), {
      cwd,
      env: { INIT_CWD: cwd, ...options.env },
      name: argv.join(" "),
    });
  }

  /**
   * Waits for the listener's JSON ready line; returns it and the PIDs of
   * the child it names, its launcher and their deno task.
   */
  async ready(
    timeoutMs: number,
  ): Promise<{ ready: Record<string, unknown>; pids: TaskPids }> {
    const line = await this.proc.waitForLine(
      (line) => line.startsWith('{"event":"ready"'),
      `the ready line of ${this.marker}`,
      timeoutMs,
    );
    const ready = JSON.parse(line);
    const child = ready.pid as number;
    const launcher = processInfo(child)?.ppid ?? 0;
    const task = processInfo(launcher)?.ppid ?? 0;
    return { ready, pids: { task, launcher, child } };
  }

  /** Its Deno processes still alive: deno task, launcher or child. */
  survivors(): ProcessInfo[] {
    return denoProcessesWith(this.marker);
  }

  /** Kills every process of the run that is left, then waits for the outermost one. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const { pid } of this.survivors()) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone meanwhile */ }
    }
    await this.proc[Symbol.asyncDispose]();
  }
}
