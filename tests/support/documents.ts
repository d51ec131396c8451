/**
 * The project's documents as the tests read them: README.md and every
 * docs/*.md, their fenced blocks, the `sh` block that follows a marker, and
 * their relative links. A recipe is run from the document it lives in, so
 * moving a recipe means telling its test where it went, and a recipe that
 * is gone fails the test that ran it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { ROOT } from "./cli_process.ts";

/** A document's path relative to the checkout, such as `docs/send.md`. */
export type DocumentPath = string;

/** README.md and every Markdown file in docs/, as paths relative to the checkout. */
export function documentPaths(): DocumentPath[] {
  const docs = [...Deno.readDirSync(`${ROOT}/docs`)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`)
    .sort();
  return ["README.md", ...docs];
}

/** The text of one document (`README.md`, `docs/safety.md`, ...). */
export function readDocument(path: DocumentPath): string {
  return Deno.readTextFileSync(`${ROOT}/${path}`);
}

/** The fenced blocks of one language in `text`, in order, indentation removed. */
export function fencedBlocks(text: string, language: string): string[] {
  // A block may be indented (inside a list item): its fence says how much.
  const fence = new RegExp(
    "^( *)```" + language + "\\n([^]*?)^\\1```$",
    "gm",
  );
  return [...text.matchAll(fence)].map(([, indent, body]) =>
    body.split("\n").map((line) => line.slice(indent.length)).join("\n")
  );
}

/**
 * The lines of the first `sh` block after `marker` in a document, without
 * blank lines and trailing `# comments`.
 */
export function shBlockAfter(path: DocumentPath, marker: string): string[] {
  const text = readDocument(path);
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `${path} has "${marker}"`);
  const block = text.slice(at).match(/^```sh\n([^]*?)^```$/m);
  assert.ok(block, `a sh block follows "${marker}" in ${path}`);
  return block[1].split("\n").filter((line) => line.trim() !== "")
    .map((line) => line.replace(/\s+#.*$/, ""));
}

/** A relative link of a document: where it points and the line it is on. */
export interface RelativeLink {
  /** The document the link is in. */
  from: DocumentPath;
  /** The line number, from 1. */
  line: number;
  /** The target as written, such as `docs/send.md#exit-status`. */
  target: string;
}

/** `text` with its fenced blocks blanked out, lines kept. */
function withoutFences(text: string): string {
  return text.replace(
    /^( *)```[^\n]*\n[^]*?^\1```$/gm,
    (block) => block.replace(/[^\n]/g, " "),
  );
}

/** `text` with its fenced blocks and inline code blanked out, lines kept. */
function prose(text: string): string {
  return withoutFences(text)
    .replace(/`[^`\n]*`/g, (code) => " ".repeat(code.length));
}

/**
 * Every link of a document that is not a URL: `[text](target)`,
 * `![alt](target)` and `[label]: target`, outside code.
 */
export function relativeLinks(path: DocumentPath): RelativeLink[] {
  const lines = prose(readDocument(path)).split("\n");
  const links: RelativeLink[] = [];
  for (const [index, line] of lines.entries()) {
    const targets = [
      ...[...line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]),
      ...[...line.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)].map((m) => m[1]),
    ];
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      links.push({ from: path, line: index + 1, target });
    }
  }
  return links;
}

/** The anchors GitHub makes of a Markdown file's headings. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const headings = withoutFences(text).matchAll(/^#{1,6} +(.+?) *#* *$/gm);
  for (const [, heading] of headings) anchors.add(slug(heading, seen));
  return anchors;
}

function slug(heading: string, seen: Map<string, number>): string {
  const base = heading.trim().toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
  const count = seen.get(base) ?? 0;
  seen.set(base, count + 1);
  return count === 0 ? base : `${base}-${count}`;
}

/**
 * Why a relative link is broken (its file is missing, or its `#anchor`
 * names no heading of a Markdown target), or `undefined` when it is fine.
 */
export function brokenLink(link: RelativeLink): string | undefined {
  const [file, anchor] = link.target.split("#", 2);
  const path = file === ""
    ? link.from
    : relative(ROOT, join(ROOT, dirname(link.from), decodeURI(file)));
  if (path.startsWith("..")) return `${path} is outside the checkout`;
  let text: string | undefined;
  try {
    const info = Deno.statSync(`${ROOT}/${path}`);
    if (anchor === undefined || anchor === "") return undefined;
    if (!info.isFile || !path.endsWith(".md")) {
      return `${path} is not a Markdown file for #${anchor}`;
    }
    text = Deno.readTextFileSync(`${ROOT}/${path}`);
  } catch {
    return `${path} does not exist`;
  }
  return headingAnchors(text).has(anchor)
    ? undefined
    : `${path} has no heading for #${anchor}`;
}
