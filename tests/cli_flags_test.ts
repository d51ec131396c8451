/**
 * The flag tables (issue 20, item 4): one declaration per command that the
 * parser, `--help` and the launcher's permissions all read. In memory:
 * the tables, `main()` with its output captured, and `permissionsFor`;
 * nothing is sent (every command here stops at a usage error or help).
 *
 * @module
 */

import assert from "node:assert/strict";
import { main } from "../cli.ts";
import { COMMAND_TABLES } from "../cli/command_tables.ts";
import {
  type CommandTable,
  flagHelpLines,
  helpText,
  parseFlags,
} from "../cli/flag_table.ts";
import { permissionsFor } from "../cli/launch.ts";
import { UsageError } from "../cli/usage_error.ts";
import { ROOT } from "./support/cli_process.ts";

/** Runs the CLI's main() with its output captured. */
async function runMain(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    write: () => {},
    isTerminal: false,
    cwd: ROOT,
  });
  return { code, out, err };
}

const TABLES = Object.entries(COMMAND_TABLES);

Deno.test("flag tables: every command has one, and its --help lists every flag it declares with help", async () => {
  for (const command of ["send", "listen", "demo", "doctor"]) {
    assert.ok(Object.hasOwn(COMMAND_TABLES, command), command);
  }
  for (const [name, table] of TABLES) {
    assert.equal(table.name, name);
    const { code, out } = await runMain([name, "--help"]);
    assert.equal(code, 0, name);
    const help = out.join("\n");
    assert.equal(help, helpText(table), `${name}: --help is the table's`);
    for (const [flag, spec] of Object.entries(table.flags)) {
      if (spec.help === undefined) {
        assert.ok(!help.includes(`--${flag} `), `${name} --${flag} is hidden`);
        continue;
      }
      assert.ok(help.includes(`--${flag}`), `${name} --help: --${flag}`);
      if (spec.short) {
        assert.ok(help.includes(`-${spec.short}, --${flag}`), flag);
      }
    }
    for (const line of help.split("\n")) {
      // Only a word longer than the line may overrun it (a URL, a path).
      assert.ok(
        line.length <= 80 || !line.trimEnd().slice(0, 80).includes(" "),
        `${name} --help: ${line.length} columns: ${line}`,
      );
    }
  }
});

Deno.test("flag tables: a flag name means one thing in every command, and a short alias one flag", () => {
  const seen = new Map<string, { command: string; key: string }>();
  const shorts = new Map<string, { command: string; flag: string }>();
  for (const [command, table] of TABLES) {
    for (const [flag, spec] of Object.entries(table.flags)) {
      if (spec.retired !== undefined) continue;
      const key = JSON.stringify([spec.type, spec.short, spec.implies]);
      const first = seen.get(flag);
      if (first === undefined) seen.set(flag, { command, key });
      else {
        assert.equal(
          key,
          first.key,
          `--${flag}: ${command} and ${first.command} differ (type, alias, permission)`,
        );
      }
      if (spec.short === undefined) continue;
      const other = shorts.get(spec.short);
      if (other === undefined) shorts.set(spec.short, { command, flag });
      else {
        assert.equal(
          flag,
          other.flag,
          `-${spec.short}: --${flag} on ${command}, --${other.flag} on ${other.command}`,
        );
      }
    }
  }
  assert.ok(seen.size >= 30, `${seen.size} flags`);
});

Deno.test("flag tables: the launcher grants what each flag's value implies, and nothing for flags a command lacks", () => {
  const file = (command: string, flag: string) =>
    permissionsFor(command, [`--${flag}`, "./x.html"], "/w").join(" ");
  for (const [command, table] of TABLES) {
    for (const [flag, spec] of Object.entries(table.flags)) {
      if (spec.implies === "read") {
        assert.match(file(command, flag), /--allow-read=\/w\/x\.html/, flag);
      } else if (spec.implies === "write") {
        assert.match(file(command, flag), /--allow-write=\/w\/x\.html/, flag);
      }
    }
  }
  // send --report is a write; listen has no --report: nothing.
  assert.match(file("send", "report"), /--allow-write=\/w\/x\.html/);
  assert.doesNotMatch(file("listen", "report"), /allow-write/);
  assert.doesNotMatch(file("doctor", "key-file"), /allow-read/);
  // A key file by URL is no file to read, and no host to import from.
  assert.doesNotMatch(
    permissionsFor("listen", ["--key-file", "https://k.example/k"], "/w")
      .join(" "),
    /allow-read|allow-import/,
  );
  // Short aliases count as their flags.
  const table: CommandTable = {
    name: "probe",
    usage: "",
    about: "",
    positionals: true,
    sections: [],
    flags: { out: { type: "string", short: "o", implies: "write" } },
    launch: {},
  };
  assert.equal(
    parseFlags(table, ["-o", "x"]).text("out"),
    "x",
  );
  assert.deepEqual(permissionsFor("nosuch", ["--report", "x"], "/w"), []);
});

Deno.test("flag tables: send --max-reply-bytes is retired with a message naming --reply-buffer; listen's is its reply cap", async () => {
  for (
    const args of [
      ["send", "--max-reply-bytes", "512", "hi"],
      ["send", "--max-reply-bytes=512", "-g", "239.40.9.1", "-i", "127.0.0.1"],
    ]
  ) {
    const { code, out, err } = await runMain(args);
    assert.equal(code, 2, args.join(" "));
    assert.deepEqual(out, []);
    assert.deepEqual(err, [
      "mcast send: send --max-reply-bytes is retired: use --reply-buffer N, the bytes set aside for each reply (--max-reply-bytes is a listener's reply cap)",
      'Try "mcast send --help".',
    ]);
  }
  const send = (await runMain(["send", "--help"])).out.join("\n");
  assert.doesNotMatch(send, /max-reply-bytes/);
  assert.match(send, /--reply-buffer N/);
  const listen = (await runMain(["listen", "--help"])).out.join("\n");
  assert.match(listen, /--max-reply-bytes N +allow replies up to N bytes/);
  assert.equal(
    parseFlags(COMMAND_TABLES.listen, ["--max-reply-bytes", "64"]).value(
      "max-reply-bytes",
    ),
    64,
  );
});

Deno.test("flag tables: values are checked at the parse, defaults too, naming the flag and the value", () => {
  const send = COMMAND_TABLES.send;
  const flags = parseFlags(send, ["-c", "3", "-w", "250ms", "--rate", "max"]);
  assert.equal(flags.value("count"), 3);
  assert.equal(flags.value("timeout"), 250);
  assert.equal(flags.value("rate"), "max");
  assert.equal(flags.value("port"), 10000, "the default, checked");
  assert.equal(flags.value("interval"), undefined, "no default");
  assert.deepEqual(flags.list("group"), []);
  assert.throws(
    () => parseFlags(send, ["--pad", "-1"]),
    (error: unknown) =>
      error instanceof UsageError && /Invalid --pad "-1"/.test(error.message),
  );
  assert.throws(
    () => parseFlags(COMMAND_TABLES.listen, ["--count", "0"]),
    /Invalid --count "0": must be at least 1 datagram/,
  );
  assert.throws(
    () => parseFlags(COMMAND_TABLES.listen, ["extra"]),
    /Unexpected argument "extra": listen takes only options/,
  );
  // A name the table does not have is a mistake in the command, not usage.
  assert.throws(() => flags.text("nosuch"), /mcast send has no flag --nosuch/);
  // --help wins over a bad value: help is always reachable.
  assert.equal(parseFlags(send, ["--pad", "x", "-h"]).help, true);
});

Deno.test("flag tables: --help lines wrap at 80 columns, descriptions from column 25", () => {
  assert.deepEqual(
    flagHelpLines("group", {
      type: "string",
      short: "g",
      value: "ADDR",
      default: "239.1.2.3",
      help:
        "multicast group (default {default}); repeat it to send to several groups at once, reported per group",
    }),
    [
      "  -g, --group ADDR       multicast group (default 239.1.2.3); repeat it to send",
      "                         to several groups at once, reported per group",
    ],
  );
  assert.deepEqual(
    flagHelpLines("allow-import", {
      type: "string",
      value: "HOST",
      help: "let a plugin import from HOST",
    }),
    ["      --allow-import HOST  let a plugin import from HOST"],
  );
  assert.deepEqual(flagHelpLines("hidden", { type: "boolean" }), []);
});
