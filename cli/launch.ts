/**
 * The least-privilege launcher behind `deno task send`,
 * `deno task listen`, `deno task mesh` and `deno task doctor`. A task's permissions are
 * fixed in deno.json, but what a command needs depends on its arguments:
 * this reads them, then runs `cli.ts` in a child Deno with exactly that:
 *
 * - for `send`, `listen` and `mesh`, always `--allow-net` and
 *   `--allow-sys=networkInterfaces` (plus `hostname` for listen, for the
 *   status responder);
 * - `--allow-read` only for a plugin, codec or key file named on the
 *   command line, and, when a plugin or codec file is named, for mcast's
 *   library ({@linkcode LIBRARY_SOURCES}) so that the plugin can import
 *   `mod.ts`;
 * - `--allow-import=HOST` only for the host of a plugin or codec URL named
 *   on the command line, and for mcast's own host when mcast was loaded by
 *   URL;
 * - what the user names with `--allow-read PATH` and `--allow-import
 *   HOST[:PORT]` (repeatable), for a plugin's other files and hosts;
 * - `--allow-write` only for the files `send --report FILE`,
 *   `send --rtt-log FILE` and `mesh --report FILE` name;
 * - for `doctor`, only `--allow-run` for the programs it runs and
 *   `--allow-ffi` (see {@linkcode permissionsFor});
 * - `--allow-ffi` with `--transport ffi`; and for `listen`, `send` and `mesh`
 *   with the default transport on Linux (x86_64, aarch64) when every
 *   plugin and codec is a built-in: no third-party code then runs in the
 *   child, the FFI receive path is the one that keeps up with 50k
 *   datagrams/s with no loss (docs/performance.md), and a sender's FFI
 *   socket holds the replies of a thousand responders that answer at once.
 *   A plugin or codec file or URL keeps the child without it, unless
 *   `--transport ffi` asks for it.
 *
 * The child, which parses network input and runs plugins, gets no other
 * permission; it runs in the directory the user ran the task from, so
 * relative paths mean what the user meant. This launcher only reads
 * arguments and spawns the child. It passes SIGINT, SIGTERM and SIGHUP on
 * to the child, once per delivery (see `stop_signals.ts`), and a hang-up
 * when its own parent (deno task) is killed; the child stops when this
 * launcher is gone.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { builtins } from "../plugins/builtins.ts";
import { DOCTOR_PROGRAMS } from "../doctor/programs.ts";
import {
  LAUNCHER_PID_ARG,
  SignalRepeats,
  STOP_SIGNALS,
  watchParent,
} from "./stop_signals.ts";
import { UsageError } from "./usage_error.ts";

/** Where mcast itself was loaded from: a `file:` or `http(s):` URL ending in `/`. */
export const MCAST_ROOT: URL = new URL("../", import.meta.url);

/**
 * mcast's library source (its entry points and what they import), which a plugin or codec
 * file may import: read access to these, relative to mcast's root, and to
 * nothing else of mcast's folder (such as a key file kept there).
 */
export const LIBRARY_SOURCES: readonly string[] = [
  "mod.ts",
  "plugin.ts",
  "transport.ts",
  "lib",
  "plugins",
];

/** The launcher's own flags that grant the child more; the child ignores them. */
const GRANT_FLAGS = ["allow-import", "allow-read"];

/**
 * Checks a `--allow-import` value: a host name or address, with an
 * optional port (`plugins.example.org`, `127.0.0.1:8000`, `[::1]:8000`).
 *
 * @throws {UsageError} for anything else (a URL, a path, an empty value).
 */
export function checkImportHost(value: string): string {
  let host: string | undefined;
  try {
    const url = new URL(`http://${value}/`);
    if (url.pathname === "/" && url.username === "" && url.search === "") {
      host = url.host;
    }
  } catch { /* refused below */ }
  const asGiven = value.toLowerCase().replace(/:80$/, "");
  if (host === undefined || value === "" || host !== asGiven) {
    throw new UsageError(
      `Invalid --allow-import "${value}": expected HOST or HOST:PORT, such as plugins.example.org or 127.0.0.1:8000`,
    );
  }
  return value;
}

/**
 * Permission flags for running `cli.ts COMMAND ARGS`.
 *
 * @param command `send`, `listen` or `doctor` (anything else gets the network only).
 * @param args The command's arguments.
 * @param cwd Where relative paths start (the directory the user ran the task from).
 * @param root Where mcast was loaded from. @default {MCAST_ROOT}
 * @throws {UsageError} for a bad `--allow-import` value.
 */
export function permissionsFor(
  command: string,
  args: readonly string[],
  cwd: string,
  root: URL = MCAST_ROOT,
): string[] {
  if (command === "doctor") return doctorPermissions(root);
  const read = new Set<string>();
  const write = new Set<string>();
  const imports = new Set<string>();
  const local = root.protocol === "file:";
  // mcast loaded by URL: the child imports cli.ts, and a plugin may import
  // mod.ts, from that host.
  if (!local) imports.add(root.host);
  let transport = "auto";
  // A plugin or codec that is not a built-in: code from outside mcast.
  let foreignCode = false;
  let foreignFile = false;
  const path = (value: string) =>
    isAbsolute(value) ? value : resolve(cwd, value);
  const named = (flag: string, value: string | undefined) => {
    if (value === undefined) return;
    if (flag === "transport") {
      transport = value;
      return;
    }
    if (flag === "allow-import") {
      imports.add(checkImportHost(value));
      return;
    }
    if (flag === "allow-read") {
      read.add(path(value));
      return;
    }
    if (flag === "report" || flag === "rtt-log") {
      // send --report FILE.html: the one file the child may write.
      write.add(path(value));
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
    if (flag !== "key-file") foreignFile = true;
    if (/^file:/i.test(value)) {
      try {
        read.add(fileURLToPath(value));
      } catch { /* the child reports it */ }
      return;
    }
    read.add(path(value));
  };
  const flags = [
    "plugin",
    "codec",
    "key-file",
    "transport",
    ...(command === "send" ? ["report", "rtt-log"] : []),
    ...(command === "mesh" ? ["report"] : []),
    ...GRANT_FLAGS,
  ];
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
    command === "send" || command === "mesh"
      ? "--allow-sys=networkInterfaces"
      : "--allow-sys=networkInterfaces,hostname",
  ];
  // A plugin file may import mcast (mod.ts) by path or file URL.
  const sources = foreignFile && local
    ? LIBRARY_SOURCES.map((source) =>
      fileURLToPath(new URL(source, root)).replace(/\/+$/, "")
    )
    : [];
  if (sources.length + read.size > 0) {
    permissions.push(`--allow-read=${[...sources, ...read].join(",")}`);
  }
  if (write.size > 0) {
    permissions.push(`--allow-write=${[...write].join(",")}`);
  }
  if (imports.size > 0) {
    permissions.push(`--allow-import=${[...imports].join(",")}`);
  }
  const ffi = transport === "ffi" ||
    (["listen", "send", "mesh"].includes(command) && transport === "auto" &&
      !foreignCode && fastReceiveHere());
  if (ffi) permissions.push("--allow-ffi");
  return permissions;
}

/**
 * What `doctor` needs: to run `ip`, `nft`, `iptables-save` and
 * `ip6tables-save` (and no other program), and FFI where it works: its
 * self-test sends with TTL 0, which only the FFI transport can, and it
 * reads /proc/sys/net and /proc/net through libc, since Deno reads under
 * /proc only with --allow-all. Elsewhere it gets the network for a
 * `node:dgram` self-test (TTL 1) instead. It takes no plugin or file;
 * mcast loaded by URL is imported from its host.
 */
function doctorPermissions(root: URL): string[] {
  return [
    `--allow-run=${DOCTOR_PROGRAMS.join(",")}`,
    fastReceiveHere() ? "--allow-ffi" : "--allow-net",
    // mcast loaded by URL: the child imports cli.ts from that host.
    ...(root.protocol === "file:" ? [] : [`--allow-import=${root.host}`]),
  ];
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
      // doctor's --allow-run names programs that may be missing (nft):
      // without this, Deno says so on stderr before doctor does.
      ...(command === "doctor" ? ["--quiet"] : []),
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
