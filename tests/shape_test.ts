/**
 * The shape of the code, as issues 11 and 20 set it: a small front door
 * (at most 60 names in `mod.ts`), every entry point documented well enough
 * for `deno doc --lint` on its own, doc examples that assert for real, no
 * function in the kernel (`lib/`), in doctor (`doctor/`) or in the command
 * line (`cli/`, `cli.ts`) longer than 80 lines, a kernel that imports no
 * tool and has no import cycle, and no comment naming a file that does
 * not exist.
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

Deno.test("shape: no function in lib/, doctor/ or cli/ (and cli.ts) is longer than 80 lines", async () => {
  const long: string[] = [];
  const paths = [`${ROOT}/cli.ts`];
  for (const dir of ["lib", "doctor", "cli"]) {
    for await (const path of files(`${ROOT}/${dir}`, [".ts"])) paths.push(path);
  }
  for (const path of paths) {
    const source = await Deno.readTextFile(path);
    for (const fn of longFunctions(source, MAX_FUNCTION_LINES)) {
      long.push(
        `${
          path.slice(ROOT.length + 1)
        }:${fn.line} (${fn.lines} lines) ${fn.head}`,
      );
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

/**
 * The relative imports of every `.ts` file under `dir` (static `import`
 * and `export ... from`, type-only ones too, and literal `import()`s), as
 * paths relative to {@linkcode ROOT}; imports that leave `dir` are left
 * out. Doc comments are not read: their lines start with `*`.
 */
export async function importGraph(
  dir: string,
): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  const statement =
    /^(?:import|export)\b[^;]*?\bfrom\s*"(\.\.?\/[^"]+)"|^import\s*"(\.\.?\/[^"]+)"|^[^*\n/]*\bimport\(\s*"(\.\.?\/[^"]+)"\s*\)/gm;
  for await (const path of files(dir, [".ts"])) {
    const here = path.slice(0, path.lastIndexOf("/") + 1);
    const targets = new Set<string>();
    for (const match of (await Deno.readTextFile(path)).matchAll(statement)) {
      const target = new URL(match[1] ?? match[2] ?? match[3], `file://${here}`)
        .pathname;
      if (target.startsWith(`${dir}/`)) {
        targets.add(target.slice(ROOT.length + 1));
      }
    }
    graph.set(path.slice(ROOT.length + 1), [...targets].sort());
  }
  return graph;
}

/**
 * One cycle in a directed graph, as the nodes along it with the first
 * repeated at the end (`a -> b -> a`), or `undefined` when there is none.
 */
export function findCycle(
  graph: ReadonlyMap<string, readonly string[]>,
): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") {
      return [...path.slice(path.indexOf(node)), node];
    }
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

/** The graph of folders that a file graph implies: an edge per import across folders. */
export function folderGraph(
  graph: ReadonlyMap<string, readonly string[]>,
): Map<string, string[]> {
  const folder = (path: string) => path.slice(0, path.lastIndexOf("/"));
  const folders = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const edges = folders.get(folder(from)) ?? new Set<string>();
    folders.set(folder(from), edges);
    for (const to of targets) {
      if (folder(to) !== folder(from)) edges.add(folder(to));
    }
  }
  return new Map([...folders].map(([name, edges]) => [name, [...edges]]));
}

/** The files behind each edge of a folder cycle, for the failure message. */
function folderCycleImports(
  graph: ReadonlyMap<string, readonly string[]>,
  cycle: readonly string[],
): string[] {
  const folder = (path: string) => path.slice(0, path.lastIndexOf("/"));
  const found: string[] = [];
  for (let i = 0; i + 1 < cycle.length; i++) {
    const edge: string[] = [];
    for (const [from, targets] of graph) {
      if (folder(from) !== cycle[i]) continue;
      for (const to of targets) {
        if (folder(to) === cycle[i + 1]) edge.push(`${from} -> ${to}`);
      }
    }
    // The first few of each arrow: the rare one is usually the wrong one.
    found.push(
      ...edge.slice(0, 3),
      ...(edge.length > 3 ? [`(${edge.length - 3} more)`] : []),
    );
  }
  return found;
}

Deno.test("shape: no import cycle in lib/, between files or between folders", async () => {
  const graph = await importGraph(`${ROOT}/lib`);
  assert.ok(graph.size >= 40, `${graph.size} files`);
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `import cycle: ${cycle?.join(" -> ")}`);
  // A folder that imports from one which imports back from it: one of
  // the two arrows points upward (the kernel's layers are folders).
  const folders = folderGraph(graph);
  const upward = findCycle(folders);
  assert.equal(
    upward,
    undefined,
    upward &&
      `folders import each other: ${upward.join(" -> ")}, through ${
        folderCycleImports(graph, upward).join(", ")
      }`,
  );
});

Deno.test("shape: the cycle finder names a cycle, and the import reader sees every kind of import", async () => {
  assert.deepEqual(
    findCycle(
      new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a", "d"]], ["d", []]]),
    ),
    ["a", "b", "c", "a"],
  );
  assert.equal(
    findCycle(new Map([["a", ["b", "c"]], ["b", ["c"]]])),
    undefined,
  );
  assert.deepEqual(
    findCycle(
      folderGraph(
        new Map([["x/a.ts", ["x/y/b.ts"]], ["x/y/b.ts", ["x/c.ts"]]]),
      ),
    ),
    ["x", "x/y", "x"],
  );
  const dir = await Deno.makeTempDir({ dir: ROOT, prefix: ".shape_" });
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(
      `${dir}/a.ts`,
      [
        "/**",
        ' * import { x } from "./gone.ts";',
        " */",
        "import type {",
        "  B,",
        '} from "./sub/b.ts";',
        'export { c } from "./c.ts";',
        'const d = () => import("./d.ts");',
        'import "node:path";',
      ].join("\n"),
    );
    await Deno.writeTextFile(`${dir}/sub/b.ts`, 'import "../a.ts";\n');
    const graph = await importGraph(dir);
    const name = dir.slice(ROOT.length + 1);
    assert.deepEqual(graph.get(`${name}/a.ts`), [
      `${name}/c.ts`,
      `${name}/d.ts`,
      `${name}/sub/b.ts`,
    ]);
    assert.deepEqual(findCycle(graph), [
      `${name}/a.ts`,
      `${name}/sub/b.ts`,
      `${name}/a.ts`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
