/**
 * The `mcast` command line: `send`, `listen`, `mesh`, `demo` and `doctor`. Parses arguments,
 * prints, and maps errors to one-line messages and exit codes (2 for bad
 * usage, 1 for a runtime failure or no reply).
 *
 * @module
 */

import { DEMO_HELP, demoCommand } from "./cli/demo_command.ts";
import { DOCTOR_HELP, doctorCommand } from "./cli/doctor_command.ts";
import { painter } from "./cli/colour.ts";
import { type Io, processIo } from "./cli/io.ts";

export type { Io } from "./cli/io.ts";
import { LISTEN_HELP, listenCommand } from "./cli/listen_command.ts";
import { MESH_HELP, meshCommand } from "./cli/mesh_command.ts";
import { SEND_HELP, sendCommand } from "./cli/send_command.ts";
import { UsageError } from "./cli/usage_error.ts";
import { McastRangeError, McastTypeError, PluginError } from "./lib/errors.ts";
import { VERSION } from "./lib/version.ts";
import {
  LAUNCHER_PID_ARG,
  signalExitStatus,
  SignalRepeats,
  STOP_SIGNALS,
  watchParent,
} from "./cli/stop_signals.ts";

const HELP = `mcast ${VERSION}: IP multicast messaging

Usage:
  mcast send [options] [message]   multicast a message, print every reply
  mcast listen [options]           join a group, answer with a responder plugin
  mcast mesh [options]             on every node: who hears whom, multicast
                                   beside unicast, the whole matrix
  mcast demo                       listeners and a sender on loopback
  mcast doctor [options]           why multicast does not arrive: checks this host
  mcast help [command]             this help, or a command's

Run "mcast COMMAND --help" for a command's options.`;

const TOPICS = {
  send: SEND_HELP,
  listen: LISTEN_HELP,
  mesh: MESH_HELP,
  demo: DEMO_HELP,
  doctor: DOCTOR_HELP,
};

const COMMANDS = {
  send: sendCommand,
  listen: listenCommand,
  mesh: meshCommand,
  demo: demoCommand,
  doctor: doctorCommand,
};

function exitCode(error: unknown): number {
  if (
    error instanceof UsageError || error instanceof McastTypeError ||
    error instanceof McastRangeError || error instanceof SyntaxError
  ) return 2;
  // A plugin that cannot be found or loaded, or whose factory refuses its
  // options, is a launch-time mistake; a hook failing at run time is not.
  if (
    error instanceof PluginError &&
    (error.code !== "ERR_PLUGIN_HOOK" || error.hook === "factory")
  ) return 2;
  return 1;
}

/**
 * Runs the command line; returns the exit code. Stops a running command
 * when `signal` aborts.
 *
 * @param args The arguments after the program name.
 * @param io Where to write, and where relative plugin paths start.
 * @param signal Stops `send` and `listen` (Ctrl-C).
 * @returns 0 on success, 1 on failure or when no reply came, 2 for bad usage.
 *
 * @example Run a command with its output captured
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./cli.ts";
 *
 * const lines: string[] = [];
 * const code = await main(["--version"], {
 *   out: (line) => lines.push(line),
 *   err: (line) => lines.push(line),
 *   write: () => {},
 *   isTerminal: false,
 *   cwd: Deno.cwd(),
 * });
 * assert.equal(code, 0);
 * assert.match(lines[0], /^\d+\.\d+\.\d+$/);
 * ```
 */
export async function main(
  args: string[],
  io: Io = processIo(),
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  const [command, ...rest] = args;
  if (
    command === undefined || command === "help" || command === "-h" ||
    command === "--help"
  ) {
    const topic = command === "help" ? rest[0] : undefined;
    const help = topic === undefined
      ? HELP
      : TOPICS[topic as keyof typeof TOPICS];
    if (help === undefined) {
      io.err(
        `mcast help: no help on "${topic}" (try send, listen, mesh, demo or doctor)`,
      );
      return 2;
    }
    io.out(help);
    return command === undefined ? 2 : 0;
  }
  // --version anywhere before "--" (mcast --version, mcast send --version,
  // deno task send --version).
  const options = args.includes("--")
    ? args.slice(0, args.indexOf("--"))
    : args;
  if (command === "-V" || options.includes("--version")) {
    io.out(VERSION);
    return 0;
  }
  const run = COMMANDS[command as keyof typeof COMMANDS];
  try {
    if (run === undefined) {
      throw new UsageError(
        `Unknown command "${command}" (expected send, listen, mesh, demo, doctor or help)`,
      );
    }
    return await run(rest, io, signal);
  } catch (error) {
    const code = exitCode(error);
    const message = error instanceof Error ? error.message : String(error);
    const paint = painter(io.colourErr === true);
    io.err(
      paint(
        "bad",
        `mcast${run === undefined ? "" : ` ${command}`}: ${message}`,
      ),
    );
    if (code === 2 && !(error instanceof PluginError)) {
      io.err(
        `Try "mcast ${run === undefined ? "help" : `${command} --help`}".`,
      );
    }
    return code;
  }
}

if (import.meta.main) {
  // SIGINT, SIGTERM and SIGHUP stop the command; copies of one delivery
  // (the process group's and the launcher's) count once, and a stop signal
  // later than that exits at once (see cli/stop_signals.ts).
  const controller = new AbortController();
  const repeats = new SignalRepeats();
  let stopped = false;
  const stop = (signal: Deno.Signal) => {
    if (!repeats.isNew()) return;
    if (stopped) Deno.exit(signalExitStatus(signal));
    stopped = true;
    controller.abort();
  };
  const listeners = STOP_SIGNALS.map((name) => [name, () => stop(name)]) as [
    Deno.Signal,
    () => void,
  ][];
  for (const [name, listener] of listeners) {
    Deno.addSignalListener(name, listener);
  }
  let args = Deno.args;
  let unwatch = () => {};
  if (args[0]?.startsWith(LAUNCHER_PID_ARG)) {
    // Started by cli/launch.ts: stop when it is gone, as on a hang-up, and
    // leave at most 2 s later whatever is still running.
    const launcher = Number(args[0].slice(LAUNCHER_PID_ARG.length));
    args = args.slice(1);
    unwatch = watchParent(launcher, () => {
      if (!stopped) controller.abort();
      stopped = true;
      Deno.unrefTimer(
        setTimeout(() => Deno.exit(signalExitStatus("SIGHUP")), 2000),
      );
    });
  }
  const code = await main(args, processIo(), controller.signal);
  unwatch();
  for (const [name, listener] of listeners) {
    Deno.removeSignalListener(name, listener);
  }
  Deno.exit(code);
}
