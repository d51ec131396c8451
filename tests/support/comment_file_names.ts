/**
 * Finds the file names a source file's comments mention (`lib/address.ts`,
 * `flood.c`, `tests/netns/`) and which of them name no file of the
 * repository, for tests/shape_test.ts. It reads comments only: a name in a
 * string or in code is checked by the code itself (an import that fails to
 * resolve, a read that fails).
 *
 * A name counts when it ends in one of the repository's own extensions
 * (`.ts`, `.c`, `.py`, `.md`...) or starts with one of its top-level
 * folders (`lib/`, `tests/`) or with `./` or `../`. Left alone, since they
 * name nothing of ours: absolute paths (`/proc/net/udp`), URLs and `node:`
 * specifiers, globs (`*_check.ts`), a bare extension, placeholders in
 * capitals (`FILE.html`), product names (`Node.js`) and another project's
 * paths (a first folder that no folder here is called, such as Deno's
 * `ext/node/...`).
 *
 * @module
 */

/** A file name found in a comment, with the line it is on (1-based). */
export interface MentionedName {
  /** The name as written, without surrounding punctuation. */
  name: string;
  /** The line of the source it is on, counting from 1. */
  line: number;
}

/** What a name is checked against: the repository's files and the names it ignores. */
export interface Repository {
  /** Every file, relative to the root (`lib/address.ts`). */
  files: readonly string[];
  /**
   * The lines of `.gitignore`: a name under one of them is written by a
   * run (`bench/results/latest.json`, `mcast.key`) and need not exist.
   */
  ignored: readonly string[];
  /** Names that stand for the user's own files in examples (`mine.ts`). */
  placeholders: readonly string[];
}

/**
 * The comments of a TypeScript source, each with the line it starts on:
 * strings, template literals and regular expressions are stepped over, so
 * `"http://x"` or `/\/\//` is not taken for a comment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comments } from "./comment_file_names.ts";
 * const source = 'const url = "http://x";\n// one\nconst re = /\\/\\//; /* two *\/';
 * assert.deepEqual(comments(source), [
 *   { text: " one", line: 2 },
 *   { text: " two ", line: 3 },
 * ]);
 * ```
 */
export function comments(source: string): { text: string; line: number }[] {
  const found: { text: string; line: number }[] = [];
  let line = 1;
  let i = 0;
  // The brace depth at which each open `${` of a template literal closes.
  const templates: number[] = [];
  let depth = 0;
  let previous = ""; // the last significant character outside comments
  const advance = (to: number) => {
    for (let k = i; k < to && k < source.length; k++) {
      if (source[k] === "\n") line++;
    }
    i = to;
  };
  // Steps over a string from `i` (its opening quote, or the `}` that ends
  // a template's `${...}`) to its end, or into the template's next `${`.
  const skipString = (quote: string) => {
    let k = i + 1;
    while (k < source.length && source[k] !== quote) {
      if (source[k] === "\\") k++;
      else if (source[k] === "\n" && quote !== "`") break;
      else if (quote === "`" && source.startsWith("${", k)) {
        templates.push(depth);
        depth++;
        advance(k + 2);
        return;
      }
      k++;
    }
    advance(k + 1);
  };
  while (i < source.length) {
    const c = source[i];
    if (source.startsWith("//", i)) {
      const end = source.indexOf("\n", i);
      const stop = end === -1 ? source.length : end;
      found.push({ text: source.slice(i + 2, stop), line });
      advance(stop);
    } else if (source.startsWith("/*", i)) {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? source.length : end + 2;
      found.push({ text: source.slice(i + 2, stop - 2), line });
      advance(stop);
    } else if (c === '"' || c === "'" || c === "`") {
      skipString(c);
      previous = c;
    } else if (c === "}" && templates.at(-1) === depth - 1) {
      templates.pop();
      depth--;
      skipString("`");
      previous = "`";
    } else if (c === "/" && regexMayStart(previous, source, i)) {
      advance(regexEnd(source, i));
      previous = "/";
    } else {
      if (c === "{") depth++;
      else if (c === "}") depth--;
      if (!/\s/.test(c)) previous = c;
      advance(i + 1);
    }
  }
  return found;
}

/** Whether a `/` at `at` opens a regular expression rather than dividing. */
function regexMayStart(previous: string, source: string, at: number): boolean {
  if (previous === "" || "(,=:[!&|?{};+-*%<>~^".includes(previous)) {
    return true;
  }
  const before = source.slice(Math.max(0, at - 10), at);
  return /\b(?:return|typeof|case|of|in)\s*$/.test(before);
}

/** The index just past the regular expression literal that opens at `at`. */
function regexEnd(source: string, at: number): number {
  let k = at + 1;
  let inClass = false;
  while (k < source.length && source[k] !== "\n") {
    const c = source[k];
    if (c === "\\") k++;
    else if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "/" && !inClass) break;
    k++;
  }
  k++;
  while (k < source.length && /[a-z]/.test(source[k])) k++;
  return k;
}

const EXTENSION = /\.(?:ts|mjs|js|c|h|py|md|json|sh|txt|html)$/;
const TOP_FOLDERS = [
  "lib",
  "cli",
  "doctor",
  "plugins",
  "bench",
  "tests",
  "examples",
  "docs",
  "lab",
  ".ci",
];

/**
 * The file names one line of comment text mentions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileNames } from "./comment_file_names.ts";
 * assert.deepEqual(
 *   fileNames("see lib/x.ts, flood.c, https://h/y.ts, /proc/net/udp, *_check.ts, IPv4/IPv6"),
 *   ["lib/x.ts", "flood.c"],
 * );
 * ```
 */
export function fileNames(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/[\w.$\-{}*/]*[\w/]/g)) {
    const before = text.slice(Math.max(0, match.index - 12), match.index);
    // A URL or specifier (`https://host/x.ts`, `node:path`, `jsr:@std/x`).
    if (/:\/*$|@$/.test(before)) continue;
    // An ellipsis before a name (`...mod.ts`) is not part of it.
    const name = match[0].replace(/^\.{2,}(?!\/)/, "");
    if (/^\/|[${}*]/.test(name)) continue;
    const extension = EXTENSION.test(name);
    const relative = name.startsWith("./") || name.startsWith("../");
    const inFolder = relative ||
      TOP_FOLDERS.some((folder) => name.startsWith(`${folder}/`));
    if (!extension && !inFolder) continue;
    if (!name.includes("/") && !extension) continue;
    const base = name.slice(name.lastIndexOf("/") + 1);
    if (/^\.\w+$/.test(base) && !name.includes("/")) continue; // `.ts`
    if (/^[A-Z_]+\.\w+$/.test(base)) continue; // `FILE.html`
    if (/^[A-Z]\w*\.js$/.test(name)) continue; // `Node.js`
    names.push(name);
  }
  return names;
}

/**
 * The file names in a source's comments, each with its line. Fenced code
 * in a comment (a doc example) is code, checked by `deno test --doc`, and
 * its names are left alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mentionedNames } from "./comment_file_names.ts";
 * const fence = "`".repeat(3);
 * const source = [
 *   "// See lib/address.ts",
 *   "const a = 'b' + \"c.ts\";",
 *   "/**",
 *   ` * ${fence}ts`,
 *   ' * import { x } from "./example_only.ts";',
 *   ` * ${fence}`,
 *   " *\u002f",
 * ].join("\n");
 * assert.deepEqual(mentionedNames(source), [{ name: "lib/address.ts", line: 1 }]);
 * ```
 */
export function mentionedNames(source: string): MentionedName[] {
  const found: MentionedName[] = [];
  for (const comment of comments(source)) {
    let fenced = false;
    comment.text.split("\n").forEach((text, offset) => {
      if (/^\s*\*?\s*```/.test(text)) fenced = !fenced;
      else if (!fenced) {
        for (const name of fileNames(text)) {
          found.push({ name, line: comment.line + offset });
        }
      }
    });
  }
  return found;
}

/** `a/./b/../c` as `a/c`, keeping a trailing `/`. */
function normalise(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

/**
 * Whether `name`, mentioned in the file at `path` (both relative to the
 * root), names a file or folder of the repository: relative to that file,
 * to the root, or as the end of any path (`ffi/socket.ts`, `flood.c`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { namesAFile } from "./comment_file_names.ts";
 * const repo = {
 *   files: ["lib/address.ts", "lib/transports/ffi/socket.ts"],
 *   ignored: ["/bench/results/"],
 *   placeholders: ["mine.ts"],
 * };
 * assert.ok(namesAFile(repo, "lib/transports/x.ts", "ffi/socket.ts"));
 * assert.ok(namesAFile(repo, "bench/run.ts", "bench/results/latest.json"));
 * assert.ok(!namesAFile(repo, "lib/address.ts", "dgram_transport.ts"));
 * ```
 */
export function namesAFile(
  repo: Repository,
  path: string,
  name: string,
): boolean {
  const folders = new Set(
    repo.files.flatMap((file) =>
      file.split("/").slice(0, -1).map((_, i, parts) =>
        parts.slice(0, i + 1).join("/")
      )
    ),
  );
  const known = (candidate: string) =>
    repo.files.includes(candidate) || folders.has(candidate);
  const here = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const wanted = normalise(name);
  const first = wanted.split("/")[0];
  const base = wanted.slice(wanted.lastIndexOf("/") + 1);
  const endsAny = (list: Iterable<string>) =>
    [...list].some((item) => item === wanted || item.endsWith(`/${wanted}`));
  // Another project's path (Deno's `ext/node/...`): its first folder is
  // called like none of ours.
  const foreign = wanted.includes("/") && !name.startsWith(".") &&
    !TOP_FOLDERS.includes(first) &&
    ![...folders].some((folder) => lastName(folder) === first);
  return known(normalise(`${here}/${name}`)) || known(wanted) ||
    endsAny(repo.files) || endsAny(folders) || foreign ||
    repo.placeholders.includes(base) ||
    repo.ignored.some((line) => ignores(line, wanted));
}

function lastName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Whether a `.gitignore` line (no globs but a leading `*.`) covers `path`. */
function ignores(line: string, path: string): boolean {
  const rule = line.trim();
  if (rule === "" || rule.startsWith("#")) return false;
  if (rule.startsWith("*.")) return path.endsWith(rule.slice(1));
  if (rule.startsWith("/")) {
    const anchored = rule.slice(1).replace(/\/$/, "");
    return path === anchored || path.startsWith(`${anchored}/`);
  }
  const bare = rule.replace(/\/$/, "");
  return path === bare || path.endsWith(`/${bare}`) ||
    path.startsWith(`${bare}/`) || path.includes(`/${bare}/`);
}
