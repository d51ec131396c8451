/**
 * What `deno task send|listen|doctor` grants the command it runs, read
 * from the command's flag table (`flag_table.ts`): the command's fixed
 * needs (`CommandTable.launch`), and for each flag given whose value
 * implies a permission (`FlagSpec.implies`), exactly that:
 *
 * - `read`: `--allow-read` of the file (`--key-file`, `--allow-read`);
 * - `write`: `--allow-write` of the file (`send --report`);
 * - `import-host`: `--allow-import` of the host (`--allow-import`);
 * - `responder`, `codec`: nothing for a built-in; `--allow-import` of a
 *   URL's host; `--allow-read` of a file and of mcast's library
 *   ({@linkcode LIBRARY_SOURCES}), which the plugin may import. Code that
 *   is not mcast's keeps the child without `--allow-ffi` unless
 *   `--transport ffi` asks for it;
 * - `transport`: `--allow-ffi` for `ffi`, and for `auto` (the default)
 *   where the command takes FFI by default (`ffiByDefault`), the FFI
 *   transport works here (Linux, x86_64 or aarch64) and all code is
 *   mcast's own.
 *
 * mcast loaded by URL: the child imports `cli.ts` (and a plugin `mod.ts`)
 * from that host. A flag after `--` is a message word, not a flag.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { builtins } from "../plugins/builtins.ts";
import { COMMAND_TABLES } from "./command_tables.ts";
import {
  type CommandTable,
  type Implies,
  parseArgsOptions,
} from "./flag_table.ts";
import { checkImportHost } from "./import_host.ts";

/** Where mcast itself was loaded from: a `file:` or `http(s):` URL ending in `/`. */
export const MCAST_ROOT: URL = new URL("../", import.meta.url);

/**
 * mcast's library source (its entry points and what they import), which a
 * plugin or codec file may import: read access to these, relative to
 * mcast's root, and to nothing else of mcast's folder (such as a key file
 * kept there).
 */
export const LIBRARY_SOURCES: readonly string[] = [
  "mod.ts",
  "plugin.ts",
  "transport.ts",
  "lib",
  "plugins",
];

/** What the flags given ask for. */
interface Wanted {
  read: Set<string>;
  write: Set<string>;
  imports: Set<string>;
  transport: string;
  /** A plugin or codec that is not a built-in: code from outside mcast. */
  foreignCode: boolean;
  /** Such code from a file, which may import mcast's library. */
  foreignFile: boolean;
}

/** Whether the FFI transport can run on this OS and CPU (glibc is checked by the child). */
function ffiHere(): boolean {
  return Deno.build.os === "linux" &&
    (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64");
}

/** A responder or codec named on the command line: built-in, URL or file. */
function wantCode(
  wanted: Wanted,
  catalog: Readonly<Record<string, unknown>>,
  value: string,
  path: (value: string) => string,
): void {
  if (Object.hasOwn(catalog, value)) return;
  wanted.foreignCode = true;
  if (/^https?:/i.test(value)) {
    try {
      wanted.imports.add(new URL(value).host);
    } catch { /* the child reports the bad URL */ }
    return;
  }
  wanted.foreignFile = true;
  wanted.read.add(path(value));
}

/** Adds what one flag's value implies. */
function want(
  wanted: Wanted,
  implies: Implies,
  value: string,
  cwd: string,
): void {
  const path = (given: string) => {
    if (/^file:/i.test(given)) {
      try {
        return fileURLToPath(given);
      } catch { /* the child reports it; read it as a path meanwhile */ }
    }
    return isAbsolute(given) ? given : resolve(cwd, given);
  };
  switch (implies) {
    case "read":
      // A URL is no file to read: the child reports it.
      if (!/^https?:/i.test(value)) wanted.read.add(path(value));
      return;
    case "write":
      wanted.write.add(path(value));
      return;
    case "import-host":
      wanted.imports.add(checkImportHost(value));
      return;
    case "responder":
      return wantCode(wanted, builtins.responders, value, path);
    case "codec":
      return wantCode(wanted, builtins.codecs, value, path);
    case "transport":
      wanted.transport = value;
      return;
  }
}

/**
 * Reads the flags of `args` that imply a permission. Lenient: the child
 * reports a bad command line; only a bad `--allow-import` is refused
 * here.
 */
function wantedBy(
  table: CommandTable,
  args: readonly string[],
  cwd: string,
  root: URL,
): Wanted {
  const wanted: Wanted = {
    read: new Set(),
    write: new Set(),
    // mcast loaded by URL: the child imports cli.ts from that host.
    imports: new Set(root.protocol === "file:" ? [] : [root.host]),
    transport: "auto",
    foreignCode: false,
    foreignFile: false,
  };
  const { tokens } = parseArgs({
    args: [...args],
    options: parseArgsOptions(table),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== "option" || typeof token.value !== "string") continue;
    const implies = table.flags[token.name]?.implies;
    if (implies !== undefined) want(wanted, implies, token.value, cwd);
  }
  return wanted;
}

/**
 * Permission flags for running `cli.ts COMMAND ARGS`, from the command's
 * flag table.
 *
 * @param command A command with a table (`send`, `listen`, `doctor`, ...); any other gets nothing.
 * @param args The command's arguments.
 * @param cwd Where relative paths start (the directory the user ran the task from).
 * @param root Where mcast was loaded from. @default {MCAST_ROOT}
 * @returns Deno's flags for the child, feature flags first.
 * @throws {UsageError} for a bad `--allow-import` value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { permissionsFor } from "./permissions.ts";
 * const flags = permissionsFor("send", ["--report", "run.html", "--transport", "dgram"], "/w");
 * assert.deepEqual(flags, [
 *   "--allow-net",
 *   "--allow-sys=networkInterfaces",
 *   "--allow-write=/w/run.html",
 * ]);
 * ```
 */
export function permissionsFor(
  command: string,
  args: readonly string[],
  cwd: string,
  root: URL = MCAST_ROOT,
): string[] {
  const table = Object.hasOwn(COMMAND_TABLES, command)
    ? COMMAND_TABLES[command]
    : undefined;
  if (table === undefined) return [];
  const launch = table.launch ?? {};
  const wanted = wantedBy(table, args, cwd, root);
  const permissions = [...launch.features ?? []];
  if (launch.run !== undefined) {
    permissions.push(`--allow-run=${launch.run.join(",")}`);
  }
  if (launch.net === "net") permissions.push("--allow-net");
  if (launch.net === "ffi-else-net") {
    permissions.push(ffiHere() ? "--allow-ffi" : "--allow-net");
  }
  if (launch.sys !== undefined && launch.sys.length > 0) {
    permissions.push(`--allow-sys=${launch.sys.join(",")}`);
  }
  // A plugin file may import mcast (mod.ts) by path or file URL.
  const sources = wanted.foreignFile && root.protocol === "file:"
    ? LIBRARY_SOURCES.map((source) =>
      fileURLToPath(new URL(source, root)).replace(/\/+$/, "")
    )
    : [];
  const read = [...sources, ...wanted.read];
  if (read.length > 0) permissions.push(`--allow-read=${read.join(",")}`);
  if (wanted.write.size > 0) {
    permissions.push(`--allow-write=${[...wanted.write].join(",")}`);
  }
  if (wanted.imports.size > 0) {
    permissions.push(`--allow-import=${[...wanted.imports].join(",")}`);
  }
  const ffi = wanted.transport === "ffi" ||
    (launch.ffiByDefault === true && wanted.transport === "auto" &&
      !wanted.foreignCode && ffiHere());
  if (ffi && launch.net !== "ffi-else-net") permissions.push("--allow-ffi");
  return permissions;
}
