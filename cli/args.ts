/**
 * Argument parsing on top of `node:util`'s `parseArgs`, turning its errors
 * into {@linkcode UsageError}s that name the bad flag.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./usage_error.ts";

/** The flags a command takes. */
export type Flags = NonNullable<ParseArgsConfig["options"]>;

/** Parsed flags and positionals. */
export interface Parsed {
  /** Flag values by long name. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Words that are not flags. */
  positionals: string[];
}

/** A negative number: a value, never a flag (`-t -1`, `--rate -0.5`). */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Attaches a negative number to the flag before it (`-t -1` becomes
 * `--ttl=-1`), so that the flag's own check names the value; a flag that
 * takes a value followed by something else that starts with "-" is
 * refused, naming both.
 */
function attachValues(args: string[], flags: Flags): string[] {
  const longOf = new Map<string, string>();
  for (const [name, flag] of Object.entries(flags)) {
    longOf.set(`--${name}`, name);
    if (flag.short !== undefined) longOf.set(`-${flag.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const name = longOf.get(arg);
    const next = args[i + 1];
    if (
      name === undefined || flags[name].type !== "string" ||
      next === undefined || !next.startsWith("-")
    ) {
      out.push(arg);
      continue;
    }
    if (!NEGATIVE_NUMBER.test(next)) {
      throw new UsageError(
        `Option '${arg}' has no value: "${next}" follows it, and a value starting with "-" must be attached, as in --${name}=${next}`,
      );
    }
    out.push(`--${name}=${next}`);
    i++;
  }
  return out;
}

/** Parses `args` strictly against `flags`; throws `UsageError` on any mistake. */
export function parse(args: string[], flags: Flags): Parsed {
  args = attachValues(args, flags);
  try {
    const { values, positionals } = parseArgs({
      args,
      options: flags,
      allowPositionals: true,
      allowNegative: false,
      strict: true,
    });
    return { values: values as Parsed["values"], positionals };
  } catch (error) {
    // Node's messages run over several lines; keep the first, and say
    // plainly how to pass a negative value.
    const first = (error as Error).message.split("\n")[0]
      .replace(/\. To specify.*$/s, "");
    const ambiguous = /argument is ambiguous/.test(first);
    throw new UsageError(
      ambiguous
        ? `${
          first.replace(/ argument is ambiguous\.?/, " has no value")
        } (a value starting with "-" must be attached, as in --count=-1 or -c-1)`
        : first,
    );
  }
}

/** Reads `--option key=value` flags into an object. */
export function keyValues(items: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf("=");
    if (at <= 0) {
      throw new UsageError(
        `Invalid --option "${item}": expected key=value`,
      );
    }
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/**
 * Reads a numeric flag: a finite number >= 0 (an integer when asked).
 * Throws `UsageError` naming the flag and the bad value.
 */
export function numberFlag(
  flag: string,
  value: string | undefined,
  integer = false,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (
    value.trim() === "" || !Number.isFinite(number) || number < 0 ||
    (integer && !Number.isInteger(number))
  ) {
    throw new UsageError(
      `Invalid --${flag} "${value}": expected ${
        integer ? "an integer" : "a number"
      } >= 0`,
    );
  }
  return number;
}
