/**
 * One declaration per command of everything the command line knows about
 * its flags: name, short alias, type, default, help text and the section
 * of `--help` it is listed in, the check of its value, and what its value
 * lets the command do (the permission `deno task` grants for it). Three
 * readers, one table: {@linkcode parseFlags} (on `node:util`'s
 * `parseArgs`, through `args.ts`), {@linkcode helpText}, and the
 * launcher's permissions (`permissions.ts`, behind `cli/launch.ts`).
 *
 * Adding a command with a table:
 *
 * 1. Write its table in `cli/*_flags.ts`, as `send_flags.ts` exports
 *    `SEND_TABLE: CommandTable`: the usage line, what the command does,
 *    its help sections, and one {@linkcode FlagSpec} per flag. A flag
 *    another command has comes from `common_flags.ts` (a flag name means
 *    one thing in every command, which `tests/cli_flags_test.ts` checks),
 *    with its own `help` where the wording differs. Every flag whose value
 *    names a file, a host or code says so in `implies`; what the command
 *    needs whatever its flags goes in `launch`.
 * 2. In the command, `cli/*_command.ts`: `const flags = parseFlags(TABLE,
 *    args)`, then `if (flags.help) { io.out(helpText(TABLE)); return 0; }`,
 *    then read what the checks made with `flags.value("port")` and the
 *    rest with `flags.text`, `flags.list` and `flags.on`.
 * 3. Add the table to `COMMAND_TABLES` (`command_tables.ts`), where the
 *    launcher finds it; the command and its help to `COMMANDS` and
 *    `TOPICS` in `cli.ts`; and to deno.json a task `deno run --allow-run
 *    --allow-env=INIT_CWD cli/launch.ts NAME`.
 *
 * @module
 */

import type { ParseArgsConfig } from "node:util";
import { parse } from "./args.ts";
import { UsageError } from "./usage_error.ts";

/**
 * What a flag's value lets the command do, which `deno task` grants it
 * (`permissions.ts`):
 *
 * - `read`: read that file (a path or a `file:` URL): `--allow-read`;
 * - `write`: write that file: `--allow-write`;
 * - `import-host`: import modules from that `HOST[:PORT]`: `--allow-import`;
 * - `responder` / `codec`: run that plugin: nothing for a built-in; for a
 *   URL, imports from its host; for a file, reading it and mcast's
 *   library (which it may import). Code that is not mcast's keeps FFI
 *   off unless the transport asks for it;
 * - `transport`: `ffi` asks for `--allow-ffi`.
 *
 * What a command needs whatever its flags (the network, the host's
 * interface list for `-i` by name and the default `--allow-from`) is its
 * table's `launch`.
 */
export type Implies =
  | "read"
  | "write"
  | "import-host"
  | "responder"
  | "codec"
  | "transport";

/**
 * One flag of a command.
 *
 * @example A port flag: its value checked and its default shown
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FlagSpec } from "./flag_table.ts";
 * const port: FlagSpec = {
 *   type: "string",
 *   short: "p",
 *   value: "N",
 *   default: "10000",
 *   help: "UDP port (default {default})",
 *   check: (value) => Number(value),
 * };
 * assert.equal(port.check?.("5000", "port"), 5000);
 * ```
 */
export interface FlagSpec {
  /** `string` takes a value, `boolean` takes none. */
  type: "string" | "boolean";
  /** One-letter alias (`p` for `-p`). */
  short?: string;
  /** May be given more than once; the values are kept in order. */
  multiple?: boolean;
  /** The value's name in `--help` (`ADDR`, `N`, `D`). */
  value?: string;
  /**
   * The value when the flag is absent (checked as a given one would be);
   * `{default}` in `help` shows it.
   */
  default?: string;
  /** What `--help` says of it; a flag without is not listed. */
  help?: string;
  /** The `--help` section it is listed in (a {@linkcode HelpSection} id). @default {"options"} */
  section?: string;
  /**
   * Checks a value and makes what the command uses of it (a number, a
   * duration in ms); throws a `UsageError`, `McastTypeError` or
   * `McastRangeError` naming the flag and the value (exit status 2).
   */
  check?: (value: string, flag: string) => unknown;
  /** What the value lets the command do (the permission granted for it). */
  implies?: Implies;
  /** A flag no longer taken: giving it is a usage error with this message. */
  retired?: string;
}

/** A part of `--help` that lists flags. */
export interface HelpSection {
  /** What flags name in their `section`. */
  id: string;
  /**
   * The heading, ending with `:` (wrapped to 80 columns); paragraphs
   * before it, apart by an empty line, introduce the section.
   */
  heading: string;
}

/** What the launcher grants a command whatever its flags. */
export interface LaunchSpec {
  /** Deno flags before the permissions (`--unstable-net`). */
  features?: readonly string[];
  /** Programs it may run (`--allow-run=`). */
  run?: readonly string[];
  /**
   * `net`: `--allow-net`; `ffi-else-net`: `--allow-ffi` where the FFI
   * transport works, else `--allow-net` (doctor's self-test).
   */
  net?: "net" | "ffi-else-net";
  /** `--allow-sys=` names it always needs. */
  sys?: readonly string[];
  /**
   * Whether the default transport (`--transport auto`) gets FFI where it
   * works when all code is mcast's own. @default {false}
   */
  ffiByDefault?: boolean;
  /** Run the child with `--quiet` (Deno's own notes would precede the command's). */
  quiet?: boolean;
}

/**
 * One command's flags and help.
 *
 * @example A small table, its help and its parse
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CommandTable, helpText, parseFlags } from "./flag_table.ts";
 * const table: CommandTable = {
 *   name: "hello",
 *   usage: "[options]",
 *   about: "Says hello.",
 *   positionals: false,
 *   sections: [{ id: "options", heading: "Options:" }],
 *   flags: {
 *     count: {
 *       type: "string", short: "c", value: "N", default: "1",
 *       help: "how many times (default {default})", check: Number,
 *     },
 *     help: { type: "boolean", short: "h", help: "show this help" },
 *   },
 * };
 * assert.equal(parseFlags(table, ["-c", "3"]).value("count"), 3);
 * assert.equal(parseFlags(table, []).value("count"), 1);
 * assert.match(helpText(table), /^ {2}-c, --count N {10}how many times \(default 1\)$/m);
 * ```
 */
export interface CommandTable {
  /** The command: `mcast NAME`. */
  name: string;
  /** What follows `mcast NAME` on the usage line: `[options] [message]`. */
  usage: string;
  /** What the command does: lines, paragraphs apart by an empty line (wrapped to 80 columns). */
  about: string;
  /** Whether it takes words besides flags (a message). */
  positionals: boolean;
  /** Where it takes none: what to say of a word, after the refusal. */
  positionalHint?: string;
  /** The sections of `--help` that list flags, in order. */
  sections: readonly HelpSection[];
  /** The flags by long name, in the order `--help` lists them. */
  flags: Readonly<Record<string, FlagSpec>>;
  /** What follows the flags in `--help`: paragraphs, apart by an empty line. */
  footer?: string;
  /** What the launcher grants whatever the flags. @default nothing */
  launch?: LaunchSpec;
}

/** The command line read against a {@linkcode CommandTable}, every value checked. */
export interface ParsedFlags {
  /** Words that are not flags (only where the command takes them). */
  readonly positionals: string[];
  /** Whether `-h` / `--help` was given. */
  readonly help: boolean;
  /** Whether the flag was given. */
  given(name: string): boolean;
  /** A string flag's value as given (the last, if repeated), or `undefined`. */
  text(name: string): string | undefined;
  /** Every value of a repeatable flag, in order; empty when it was not given. */
  list(name: string): string[];
  /** Whether a boolean flag was given. */
  on(name: string): boolean;
  /**
   * What the flag's check made of the value given, else of its default:
   * the value itself for a flag without a check; an array for a
   * repeatable flag; `undefined` when it has neither value nor default.
   */
  value<T = unknown>(name: string): T | undefined;
}

/** The `parseArgs` options of a table. */
export function parseArgsOptions(
  table: CommandTable,
): NonNullable<ParseArgsConfig["options"]> {
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [name, spec] of Object.entries(table.flags)) {
    options[name] = {
      type: spec.type,
      ...(spec.short === undefined ? {} : { short: spec.short }),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  return options;
}

function specOf(table: CommandTable, name: string): FlagSpec {
  const spec = table.flags[name];
  if (spec === undefined) {
    throw new Error(`mcast ${table.name} has no flag --${name}`);
  }
  return spec;
}

/** The checked value of one flag: of what was given, else of its default. */
function checked(
  name: string,
  spec: FlagSpec,
  given: string | boolean | string[] | undefined,
): unknown {
  const check = (value: string) =>
    spec.check === undefined ? value : spec.check(value, name);
  if (Array.isArray(given)) return given.map(check);
  if (typeof given === "string") return check(given);
  if (given !== undefined) return given;
  if (spec.default === undefined) return undefined;
  return spec.multiple ? [check(spec.default)] : check(spec.default);
}

/**
 * Reads `args` against a command's table: unknown flags, missing values,
 * retired flags and words where the command takes none are usage errors;
 * every value given (and every default) is checked, in the table's order,
 * before the command does anything.
 *
 * @param table The command's table.
 * @param args The arguments after the command's name.
 * @returns The flags, checked.
 * @throws {UsageError} for a bad command line, naming the flag or the word.
 * @throws {McastTypeError|McastRangeError} from a check, naming the value.
 */
export function parseFlags(table: CommandTable, args: string[]): ParsedFlags {
  const { values, positionals } = parse(args, parseArgsOptions(table));
  const help = values.help === true;
  const results = new Map<string, unknown>();
  if (!help) {
    for (const [name, spec] of Object.entries(table.flags)) {
      if (spec.retired !== undefined && values[name] !== undefined) {
        throw new UsageError(spec.retired);
      }
    }
    if (!table.positionals && positionals.length > 0) {
      const hint = table.positionalHint;
      throw new UsageError(
        `Unexpected argument "${
          positionals[0]
        }": ${table.name} takes only options${
          hint === undefined ? "" : ` (${hint})`
        }`,
      );
    }
    for (const [name, spec] of Object.entries(table.flags)) {
      results.set(name, checked(name, spec, values[name]));
    }
  }
  const raw = (name: string) => {
    specOf(table, name);
    return values[name];
  };
  return {
    positionals,
    help,
    given: (name) => raw(name) !== undefined,
    text: (name) => {
      const value = raw(name);
      return Array.isArray(value) ? value.at(-1) : value as string | undefined;
    },
    list: (name) => {
      const value = raw(name);
      return Array.isArray(value) ? [...value] : [];
    },
    on: (name) => raw(name) === true,
    value: <T>(name: string) => {
      specOf(table, name);
      return results.get(name) as T | undefined;
    },
  };
}

/** The column where flag descriptions start. */
const TEXT_COLUMN = 25;
/** The width `--help` keeps to. */
const WIDTH = 80;

/**
 * Wraps `text` to {@linkcode WIDTH} columns: each of its lines on its own,
 * the first after `first`, the others indented by `indent` spaces.
 */
function wrap(text: string, first = "", indent = 0): string[] {
  const out: string[] = [];
  let line = first;
  let fresh = true;
  const pad = " ".repeat(indent);
  for (const [index, given] of text.split("\n").entries()) {
    if (index > 0) {
      out.push(line.trimEnd());
      line = pad;
      fresh = true;
    }
    for (const word of given.split(" ")) {
      if (!fresh && line.length + 1 + word.length > WIDTH) {
        out.push(line);
        line = pad;
        fresh = true;
      }
      line += fresh ? word : ` ${word}`;
      fresh = false;
    }
  }
  out.push(line.trimEnd());
  return out;
}

/**
 * A flag's lines in `--help`: `  -p, --port N` and its description from
 * column 25, wrapped.
 *
 * @param name The flag's long name.
 * @param spec Its declaration.
 * @returns The lines; none for a flag without `help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flagHelpLines } from "./flag_table.ts";
 * assert.deepEqual(
 *   flagHelpLines("json", { type: "boolean", help: "NDJSON output" }),
 *   ["      --json             NDJSON output"],
 * );
 * ```
 */
export function flagHelpLines(name: string, spec: FlagSpec): string[] {
  if (spec.help === undefined) return [];
  const alias = spec.short === undefined ? "    " : `-${spec.short}, `;
  const left = `  ${alias}--${name}${spec.value ? ` ${spec.value}` : ""}`;
  const help = spec.help.replaceAll("{default}", spec.default ?? "");
  return wrap(
    help,
    left.length <= TEXT_COLUMN - 2 ? left.padEnd(TEXT_COLUMN) : `${left}  `,
    TEXT_COLUMN,
  );
}

/**
 * A command's `--help`, from its table: the usage line, what it does,
 * each section with its flags, and the footer.
 *
 * @param table The command's table.
 * @returns The text, lines at most 80 columns wide where words allow.
 */
export function helpText(table: CommandTable): string {
  // Paragraphs apart by an empty line; each wrapped.
  const paragraphs = (text: string) =>
    text.split("\n\n").flatMap((part, i) => [
      ...(i > 0 ? [""] : []),
      ...wrap(part),
    ]);
  const lines = [
    `Usage: mcast ${table.name}${table.usage === "" ? "" : ` ${table.usage}`}`,
    "",
    ...paragraphs(table.about),
  ];
  for (const section of table.sections) {
    const flags = Object.entries(table.flags).filter(([, spec]) =>
      (spec.section ?? "options") === section.id
    );
    const listed = flags.flatMap(([name, spec]) => flagHelpLines(name, spec));
    if (listed.length === 0) continue;
    lines.push("", ...paragraphs(section.heading), ...listed);
  }
  if (table.footer !== undefined) lines.push("", ...paragraphs(table.footer));
  return lines.join("\n");
}
