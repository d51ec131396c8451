/**
 * Where the CLI writes, and how it shows values: NDJSON for machines, one
 * plain line per event for people. The library never prints; only this does.
 *
 * @module
 */

import { toHex } from "../plugins/codecs/binary.ts";
import { colourFor } from "./colour.ts";
import { startingDirectory } from "./starting_directory.ts";

/** The CLI's outputs and environment, replaceable in tests. */
export interface Io {
  /** Writes one line of normal output. */
  out(line: string): void;
  /** Writes one line of diagnostics. */
  err(line: string): void;
  /**
   * Writes UTF-8 bytes to the output as they are: whole lines, each
   * ending in its newline (a batch of `listen --json` lines). Without it,
   * the lines go through `out`.
   */
  outBytes?(bytes: Uint8Array): void;
  /** Writes text to the output as it is (no newline): for a progress line. */
  write(text: string): void;
  /** Whether the output is a terminal (progress lines are shown only there). */
  isTerminal: boolean;
  /**
   * Whether lines written with `out` may be coloured (a terminal, no
   * `NO_COLOR`). @default {false}
   */
  colourOut?: boolean;
  /** Whether lines written with `err` may be coloured. @default {false} */
  colourErr?: boolean;
  /** The directory relative plugin paths start from. */
  cwd: string;
}

const encoder = new TextEncoder();

/**
 * The exit status of a program whose reader went away (`... | head -1`):
 * 128 + SIGPIPE, as if the signal had ended it, which is what shells expect.
 */
export const BROKEN_PIPE_STATUS = 141;

/** The reused bytes a write is encoded into; grown as a text needs. */
let scratch = new Uint8Array(64 * 1024);

/** Texts longer than this are encoded into bytes of their own, not `scratch`. */
const SCRATCH_MAX_CHARS = 1 << 20;

/**
 * `text` as UTF-8, then a newline when asked, in bytes that the next call
 * reuses: `listen --json` writes a 64 KiB batch of lines at a time, and a
 * fresh `encode()` each time, with the newline joined to the text first
 * (another copy of the batch), cost 0.1-0.2 us a 64-byte line.
 */
function encoded(text: string, newline: boolean): Uint8Array {
  if (text.length > SCRATCH_MAX_CHARS) {
    return encoder.encode(newline ? text + "\n" : text);
  }
  // UTF-8 takes at most 3 bytes for each UTF-16 code unit.
  const most = text.length * 3 + 1;
  if (scratch.length < most) scratch = new Uint8Array(most);
  let end = encoder.encodeInto(text, scratch).written;
  if (newline) scratch[end++] = 10;
  return scratch.subarray(0, end);
}

/**
 * Writes all of `text` (and a newline when asked): `writeSync` may write
 * less than asked to a pipe. When the reader has gone (a broken pipe),
 * the program ends quietly with {@linkcode BROKEN_PIPE_STATUS}, as
 * `yes | head -1` does.
 */
function writeAll(
  stream: { writeSync(p: Uint8Array): number },
  text: string,
  newline = false,
) {
  writeBytes(stream, encoded(text, newline));
}

/** Writes all of `bytes`, as {@linkcode writeAll} does. */
function writeBytes(
  stream: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
) {
  try {
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) Deno.exit(BROKEN_PIPE_STATUS);
    throw error;
  }
}

/** The process's real stdout, stderr and starting directory. */
export function processIo(): Io {
  const cwd = startingDirectory();
  return {
    out: (line) => writeAll(Deno.stdout, line, true),
    err: (line) => writeAll(Deno.stderr, line, true),
    outBytes: (bytes) => writeBytes(Deno.stdout, bytes),
    write: (text) => writeAll(Deno.stdout, text),
    isTerminal: Deno.stdout.isTerminal(),
    colourOut: colourFor(Deno.stdout.isTerminal()),
    colourErr: colourFor(Deno.stderr.isTerminal()),
    cwd,
  };
}

/** Makes a value safe for JSON: bytes become hex text. */
export function jsonValue(value: unknown): unknown {
  return value instanceof Uint8Array ? toHex(value) : value;
}

/** One NDJSON line. */
export function ndjson(event: Record<string, unknown>): string {
  return JSON.stringify(event, (_key, value) => jsonValue(value));
}

/** A payload as people read it: text as is, other values as JSON, bytes as hex. */
export function showText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return toHex(value);
  return JSON.stringify(value) ?? String(value);
}
