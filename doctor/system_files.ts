/**
 * Reads the files doctor needs under /proc (sysctls, memberships,
 * counters). Deno grants reads under /proc and /sys only with
 * `--allow-all`, so where FFI is allowed (Linux, glibc) they are read with
 * libc's `open` and `read`, and only paths under the prefixes in
 * {@linkcode SYSTEM_FILE_PREFIXES}; elsewhere through `Deno.readTextFile`
 * when read permission is already granted (never prompting).
 *
 * @module
 */

import { errnoName } from "../lib/transports/ffi/libc.ts";
import { type Read, readFailed, readOk } from "./facts.ts";

/**
 * The only places doctor reads: network sysctls, the network's /proc
 * files, and its own status (its capabilities: may a listener it starts
 * pass net.core.rmem_max).
 */
export const SYSTEM_FILE_PREFIXES: readonly string[] = [
  "/proc/sys/net/",
  "/proc/net/",
  "/proc/self/status",
];

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

/** Files this small are read whole; nothing doctor reads comes near it. */
const MAX_BYTES = 1 << 20;

function errnoText(libc: Libc): string {
  const where = libc.symbols.__errno_location();
  return where === null
    ? "unknown error"
    : errnoName(new Deno.UnsafePointerView(where).getInt32());
}

function readWithLibc(libc: Libc, path: string): Read<string> {
  const fd = libc.symbols.open(new TextEncoder().encode(`${path}\0`), 0);
  if (fd < 0) return readFailed(errnoText(libc));
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (total < MAX_BYTES) {
      const chunk = new Uint8Array(65536);
      const n = Number(libc.symbols.read(fd, chunk, BigInt(chunk.length)));
      if (n < 0) return readFailed(errnoText(libc));
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    const all = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return readOk(new TextDecoder().decode(all));
  } finally {
    libc.symbols.close(fd);
  }
}

function openLibc(): Libc | undefined {
  if (Deno.build.os !== "linux") return undefined;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return undefined;
  }
  try {
    return Deno.dlopen("libc.so.6", SYMBOLS);
  } catch {
    return undefined;
  }
}

function readWithDeno(path: string): Read<string> {
  const state = Deno.permissions.querySync({ name: "read", path }).state;
  if (state !== "granted") {
    return readFailed(
      "needs --allow-ffi on Linux (Deno reads /proc only with --allow-all)",
    );
  }
  try {
    return readOk(Deno.readTextFileSync(path));
  } catch (error) {
    return readFailed((error as Error).message.split("\n")[0]);
  }
}

/**
 * Reads each path (once), or says why it could not.
 *
 * @param paths Files under {@linkcode SYSTEM_FILE_PREFIXES}.
 * @returns Each file's text or error, by path.
 *
 * @example
 * ```ts ignore
 * import { readSystemFiles } from "./system_files.ts";
 * const files = readSystemFiles(["/proc/sys/net/core/rmem_max"]);
 * ```
 */
export function readSystemFiles(
  paths: readonly string[],
): Record<string, Read<string>> {
  const out: Record<string, Read<string>> = {};
  const libc = openLibc();
  try {
    for (const path of new Set(paths)) {
      const allowed = SYSTEM_FILE_PREFIXES.some((p) => path.startsWith(p)) &&
        !path.includes("/../");
      out[path] = !allowed
        ? readFailed(`doctor does not read ${path}`)
        : libc === undefined
        ? readWithDeno(path)
        : readWithLibc(libc, path);
    }
  } finally {
    libc?.close();
  }
  return out;
}
