/**
 * The shape of the code, as issues 11 and 20 set it: a small front door
 * (at most 60 names in `mod.ts`), every entry point documented well enough
 * for `deno doc --lint` on its own, doc examples that assert for real, no
 * function in the kernel (`lib/`) or in doctor (`doctor/`) longer than 80
 * lines, a kernel that imports no tool, and no comment naming a file that
 * does not exist.
 *
 * No network: these read files and run `deno doc`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT } from "./support/cli_process.ts";
import {
  mentionedNames,
  namesAFile,
  type Repository,
} from "./support/comment_file_names.ts";

const MAX_FRONT_DOOR = 60;
const MAX_FUNCTION_LINES = 80;

async function* files(dir: string, ends: string[]): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      if (entry.name !== ".git" && entry.name !== "node_modules") {
        yield* files(path, ends);
      }
    } else if (ends.some((end) => entry.name.endsWith(end))) yield path;
  }
}

async function deno(args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, out: decoder.decode(stdout) + decoder.decode(stderr) };
}

/**
 * The functions of a `deno fmt`-formatted file that run over `limit`
 * lines: a declaration, method or arrow body opens with `{` at the end of
 * a line and closes with `}` alone at the same indentation.
 */
export function longFunctions(
  source: string,
  limit: number,
): { line: number; lines: number; head: string }[] {
  const opener =
    /^( *)(?:export )?(?:(?:async |static |private |get |set )*(?:function\*? ?|\*)?[#\w$]+\*?\s*(?:<[^>]*>)?\(.*|.*=> )\{$/;
  // The end of a signature that spans lines: `): Type {` or `) => {`.
  const signatureEnd = /^( *)\)(?:: .*)?(?: =>)? \{$/;
  const control = /^\s*(?:\} )?(?:if|for|while|switch|catch|else)\b/;
  const lines = source.split("\n");
  const long: { line: number; lines: number; head: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = lines[i].match(opener) ?? lines[i].match(signatureEnd);
    if (match === null) continue;
    const indent = match[1];
    // The head of a signature that spans lines: the line above at the same indentation.
    let start = i;
    if (lines[i].trimStart().startsWith(")")) {
      while (start > 0 && lines[start - 1].startsWith(indent + " ")) start--;
      start = Math.max(0, start - 1);
    }
    if (control.test(lines[start])) continue;
    // `}`, `};`, `},`, `})();`: the body's closing brace.
    const close = new RegExp(`^${indent}\\}[;,()]*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end])) end++;
    const length = end - start + 1;
    if (end < lines.length && length > limit) {
      long.push({ line: start + 1, lines: length, head: lines[start].trim() });
    }
  }
  return long;
}

Deno.test("shape: mod.ts, the applications' entry point, has at most 60 names", async () => {
  const { code, out } = await deno(["doc", "--json", "mod.ts"]);
  assert.equal(code, 0, out);
  const doc = JSON.parse(out);
  const [module] = Object.values(doc.nodes) as { symbols: unknown[] }[];
  assert.ok(
    module.symbols.length <= MAX_FRONT_DOOR,
    `${module.symbols.length} names`,
  );
  assert.ok(module.symbols.length >= 20, "and still the whole front door");
});

Deno.test("shape: every entry point in deno.json passes deno doc --lint", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const entries = Object.values(config.exports) as string[];
  assert.ok(entries.length >= 3, entries.join(", "));
  const { code, out } = await deno(["doc", "--lint", ...entries]);
  assert.equal(code, 0, out);
});

// Linted together, one entry point may lend another a type it names but
// does not export (a plugin author importing plugin.ts could not name it).
for (const entry of ["plugin.ts", "transport.ts"]) {
  Deno.test(`shape: ${entry} passes deno doc --lint on its own`, async () => {
    const { code, out } = await deno(["doc", "--lint", entry]);
    assert.equal(code, 0, out);
  });
}

Deno.test("shape: doc examples assert for real, with node:assert and never the console", async () => {
  const found: string[] = [];
  for await (const path of files(ROOT, [".ts", ".md"])) {
    const text = await Deno.readTextFile(path);
    text.split("\n").forEach((line, index) => {
      // This file names it, to look for it.
      if (line.includes("console" + ".assert(")) {
        found.push(`${path.slice(ROOT.length + 1)}:${index + 1}`);
      }
    });
  }
  assert.deepEqual(found, []);
});

Deno.test("shape: no function in lib/ or doctor/ is longer than 80 lines", async () => {
  const long: string[] = [];
  for (const dir of ["lib", "doctor"]) {
    for await (const path of files(`${ROOT}/${dir}`, [".ts"])) {
      for (
        const fn of longFunctions(
          await Deno.readTextFile(path),
          MAX_FUNCTION_LINES,
        )
      ) {
        long.push(
          `${
            path.slice(ROOT.length + 1)
          }:${fn.line} (${fn.lines} lines) ${fn.head}`,
        );
      }
    }
  }
  assert.deepEqual(long, []);
});

Deno.test("shape: the kernel (lib/) imports nothing outside lib/", async () => {
  const outside: string[] = [];
  for await (const path of files(`${ROOT}/lib`, [".ts"])) {
    const source = await Deno.readTextFile(path);
    source.split("\n").forEach((line, index) => {
      // Code only: a doc example (` * import ...`) may use a plugin.
      const specifier = line.match(/^(?:import|export|\}).* from "(\.[^"]+)"/)
        ?.[1] ?? line.match(/^\s*(?:await )?import\("(\.[^"]+)"\)/)?.[1];
      if (specifier === undefined) return;
      const target = new URL(specifier, `file://${path}`).pathname;
      if (!target.startsWith(`${ROOT}/lib/`)) {
        outside.push(
          `${path.slice(ROOT.length + 1)}:${index + 1} ${specifier}`,
        );
      }
    });
  }
  assert.deepEqual(outside, []);
});

/** The repository as the file-name check sees it. */
async function repository(): Promise<Repository> {
  const all: string[] = [];
  for await (const path of files(ROOT, [""])) {
    all.push(path.slice(ROOT.length + 1));
  }
  const ignored = (await Deno.readTextFile(`${ROOT}/.gitignore`)).split("\n");
  // The user's own files in examples: `--plugin ./mine.ts`.
  return { files: all, ignored, placeholders: ["mine.ts"] };
}

/** The folders whose comments are checked, and the entry points at the root. */
const COMMENTED = ["lib", "cli", "doctor", "plugins", "bench", "tests", "lab"];

Deno.test("shape: every file a comment names exists", async () => {
  const repo = await repository();
  const sources = repo.files.filter((file) =>
    file.endsWith(".ts") &&
    (!file.includes("/") || COMMENTED.includes(file.split("/")[0]))
  );
  assert.ok(sources.length > 100, `${sources.length} files`);
  const missing: string[] = [];
  for (const path of sources) {
    const source = await Deno.readTextFile(`${ROOT}/${path}`);
    for (const { name, line } of mentionedNames(source)) {
      if (!namesAFile(repo, path, name)) {
        missing.push(`${path}:${line} ${name}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

Deno.test("shape: the file-name check finds a name that is gone, and only that", async () => {
  const repo = await repository();
  const source = [
    "/**",
    " * Reads what `lib/address.ts` parses, like ffi/socket.ts and flood.c;",
    " * see https://example.org/gone.ts, /proc/net/udp, *_check.ts, FILE.html.",
    " */",
    'const url = "// lib/gone_in_a_string.ts";',
    "// The map: lib/transports/dgram_transport.ts, ./gone.ts, bench/results/x.json",
  ].join("\n");
  const missing = mentionedNames(source)
    .filter(({ name }) => !namesAFile(repo, "lib/transports/x.ts", name))
    .map(({ name, line }) => `${line} ${name}`);
  assert.deepEqual(missing, [
    "6 lib/transports/dgram_transport.ts",
    "6 ./gone.ts",
  ]);
});

Deno.test("shape: the long-function finder sees declarations, methods and arrows", () => {
  const body = (n: number) =>
    Array.from({ length: n }, () => "    x++;").join("\n");
  const source = [
    "export function long(a: number): void {",
    body(81),
    "}",
    "class K {",
    "  async *run(): AsyncGenerator<number> {",
    body(81),
    "  }",
    "  short(): void {",
    body(3),
    "  }",
    "}",
    "const arrow = (x: number) => {",
    body(90),
    "};",
    "if (true) {",
    body(100),
    "}",
    "function wide(",
    "  a: number,",
    "  b: number,",
    "): { sum: number } {",
    body(79),
    "}",
  ].join("\n");
  assert.deepEqual(
    longFunctions(source, 80).map((fn) => [fn.line, fn.lines]),
    [[1, 83], [85, 83], [174, 92], [368, 84]],
  );
});
