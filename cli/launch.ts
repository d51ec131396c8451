/**
 * The least-privilege launcher behind `deno task send` and
 * `deno task listen`. A task's permissions are fixed in deno.json, but what
 * a command needs depends on its arguments: this reads them, then runs
 * `cli.ts` in a child Deno with exactly that:
 *
 * - always `--allow-net` and `--allow-sys=networkInterfaces` (plus
 *   `hostname` for listen, for the status responder);
 * - `--allow-read=FILE` only for a plugin, codec or key file named on the
 *   command line;
 * - `--allow-import=HOST` only for the host of a plugin or codec URL named
 *   on the command line;
 * - `--allow-ffi` with `--transport ffi`; and for `listen` with the
 *   default transport on Linux (x86_64, aarch64) when every plugin is a
 *   built-in: no third-party code then runs in the child, and the FFI
 *   receive path is the one that keeps up with 50k datagrams/s with no
 *   loss (docs/performance.md). A plugin or codec file or URL keeps the
 *   child without it, unless `--transport ffi` asks for it.
 *
 * The child, which parses network input and runs plugins, gets no other
 * permission; it runs in the directory the user ran the task from, so
 * relative paths mean what the user meant. This launcher only reads
 * arguments and spawns the child. SIGTERM is passed on; Ctrl-C reaches the
 * child directly (it is in the terminal's process group).
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { builtins } from "../plugins/builtins.ts";

/** Permission flags for running `cli.ts COMMAND ARGS`. */
export function permissionsFor(
  command: string,
  args: readonly string[],
  cwd: string,
): string[] {
  const read = new Set<string>();
  const imports = new Set<string>();
  let transport = "auto";
  // A plugin or codec that is not a built-in: code from outside mcast.
  let foreignCode = false;
  const named = (flag: string, value: string | undefined) => {
    if (value === undefined) return;
    if (flag === "transport") {
      transport = value;
      return;
    }
    const known = flag === "plugin"
      ? builtins.responders
      : flag === "codec"
      ? builtins.codecs
      : {};
    if (flag !== "key-file" && value in known) return;
    if (flag !== "key-file") foreignCode = true;
    if (/^https?:/i.test(value)) {
      try {
        imports.add(new URL(value).host);
      } catch { /* the child reports the bad URL */ }
      return;
    }
    if (/^file:/i.test(value)) {
      try {
        read.add(decodeURIComponent(new URL(value).pathname));
      } catch { /* the child reports it */ }
      return;
    }
    read.add(isAbsolute(value) ? value : resolve(cwd, value));
  };
  const flags = ["plugin", "codec", "key-file", "transport"];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    for (const flag of flags) {
      if (arg === `--${flag}`) named(flag, args[++i]);
      else if (arg.startsWith(`--${flag}=`)) {
        named(flag, arg.slice(flag.length + 3));
      }
    }
  }
  const permissions = [
    // A feature flag, not a permission: lets listen use Deno.listenDatagram.
    ...(command === "listen" ? ["--unstable-net"] : []),
    "--allow-net",
    command === "send"
      ? "--allow-sys=networkInterfaces"
      : "--allow-sys=networkInterfaces,hostname",
  ];
  if (read.size > 0) permissions.push(`--allow-read=${[...read].join(",")}`);
  if (imports.size > 0) {
    permissions.push(`--allow-import=${[...imports].join(",")}`);
  }
  const ffi = transport === "ffi" ||
    (command === "listen" && transport === "auto" && !foreignCode &&
      fastReceiveHere());
  if (ffi) permissions.push("--allow-ffi");
  return permissions;
}

/** Whether the FFI transport can run on this OS and CPU (glibc is checked by the child). */
function fastReceiveHere(): boolean {
  return Deno.build.os === "linux" &&
    (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64");
}

if (import.meta.main) {
  const [command = "help", ...args] = Deno.args;
  let cwd = Deno.cwd();
  try {
    cwd = Deno.env.get("INIT_CWD") ?? cwd;
  } catch { /* no --allow-env: stay here */ }
  const cli = new URL("../cli.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...permissionsFor(command, args, cwd),
      cli,
      command,
      ...args,
    ],
    cwd,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const passOn = () => child.kill("SIGTERM");
  const ignore = () => {};
  Deno.addSignalListener("SIGTERM", passOn);
  Deno.addSignalListener("SIGINT", ignore);
  const status = await child.status;
  // Deno reports a child killed by a signal as code 128 + signal already.
  Deno.exit(status.code);
}
