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

/**
 * Writes all of `text`: `writeSync` may write less than asked to a pipe.
 * When the reader has gone (a broken pipe), the program ends quietly with
 * {@linkcode BROKEN_PIPE_STATUS}, as `yes | head -1` does.
 */
function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string) {
  let bytes = encoder.encode(text);
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
    out: (line) => writeAll(Deno.stdout, line + "\n"),
    err: (line) => writeAll(Deno.stderr, line + "\n"),
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
