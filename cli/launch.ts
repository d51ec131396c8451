/**
 * The least-privilege launcher behind `deno task send`,
 * `deno task listen` and `deno task doctor`. A task's permissions are
 * fixed in deno.json, but what a command needs depends on its arguments:
 * this reads them against the command's flag table, the same one its
 * parser and `--help` read (`permissions.ts`, `flag_table.ts`), then runs
 * `cli.ts` in a child Deno with exactly that: for `send` and `listen` the
 * network and the interface list, a file only when a flag names it (a
 * plugin, codec or key file, `send --report`, `--allow-read`), a host
 * only when a flag names it (a plugin URL, `--allow-import`), FFI for the
 * FFI transport; for `doctor` only the programs it runs and FFI.
 *
 * The child, which parses network input and runs plugins, gets no other
 * permission; it runs in the directory the user ran the task from, so
 * relative paths mean what the user meant, and with V8's young
 * generation held at its starting size (`heap_limits.ts`), so that a
 * long run stops growing within its first minute. This launcher only
 * reads arguments and spawns the child. It passes SIGINT, SIGTERM and
 * SIGHUP on to the child, once per delivery (see `stop_signals.ts`), and
 * a hang-up when its own parent (deno task) is killed; the child stops
 * when this launcher is gone.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { COMMAND_TABLES } from "./command_tables.ts";
import { COMMAND_V8_FLAGS } from "./heap_limits.ts";
import { MCAST_ROOT, permissionsFor } from "./permissions.ts";
import {
  LAUNCHER_PID_ARG,
  SignalRepeats,
  STOP_SIGNALS,
  watchParent,
} from "./stop_signals.ts";
import { startingDirectory } from "./starting_directory.ts";
import { UsageError } from "./usage_error.ts";

export { checkImportHost } from "./import_host.ts";
export { LIBRARY_SOURCES, MCAST_ROOT, permissionsFor } from "./permissions.ts";

if (import.meta.main) {
  const [command = "help", ...args] = Deno.args;
  const cwd = startingDirectory();
  let permissions: string[];
  try {
    permissions = permissionsFor(command, args, cwd);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`mcast ${command}: ${error.message}`);
    console.error(`Try "mcast ${command} --help".`);
    Deno.exit(2);
  }
  const cli = new URL("cli.ts", MCAST_ROOT);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...(COMMAND_TABLES[command]?.launch?.quiet ? ["--quiet"] : []),
      // A long run reaches its size in its first minute (heap_limits.ts).
      ...COMMAND_V8_FLAGS,
      ...permissions,
      cli.protocol === "file:" ? fileURLToPath(cli) : cli.href,
      // The child stops when this process is gone, even by SIGKILL.
      `${LAUNCHER_PID_ARG}${Deno.pid}`,
      command,
      ...args,
    ],
    cwd,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Pass every stop signal on to the child, whoever sent it (deno task
  // passes on what it gets; a supervisor may signal this process by PID).
  // A signal sent to the process group reaches this process twice (from
  // the group and through deno task): pass it on once.
  const repeats = new SignalRepeats();
  const listeners = STOP_SIGNALS.map((signal) =>
    [signal, () => {
      if (!repeats.isNew()) return;
      try {
        child.kill(signal);
      } catch { /* it has exited */ }
    }] as [Deno.Signal, () => void]
  );
  for (const [signal, listener] of listeners) {
    Deno.addSignalListener(signal, listener);
  }
  // deno task killed (SIGKILL cannot be passed on): stop the child as on
  // a hang-up, rather than leave it running.
  const unwatch = watchParent(Deno.ppid, () => {
    try {
      child.kill("SIGHUP");
    } catch { /* it has exited */ }
  });
  const status = await child.status;
  unwatch();
  for (const [signal, listener] of listeners) {
    Deno.removeSignalListener(signal, listener);
  }
  // Deno reports a child killed by a signal as code 128 + signal already.
  Deno.exit(status.code);
}
