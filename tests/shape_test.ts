/**
 * The shape of the code, as issue 11 set it: a small front door (at most
 * 60 names in `mod.ts`), every entry point documented well enough for
 * `deno doc --lint`, doc examples that assert for real, and no function in
 * the kernel (`lib/`) longer than 80 lines.
 *
 * No network: these read files and run `deno doc`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT } from "./support/cli_process.ts";

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

Deno.test("shape: no function in lib/ is longer than 80 lines", async () => {
  const long: string[] = [];
  for await (const path of files(`${ROOT}/lib`, [".ts"])) {
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
  assert.deepEqual(long, []);
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
