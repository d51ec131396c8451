/**
 * The README's recipes, run as written: every TypeScript block type-checks
 * against this checkout, the two-terminal quick start answers, and the
 * Authentication recipe (key file, keyed listener, keyed sender) verifies.
 *
 * Network safety: the shell recipes pin themselves to 127.0.0.1 (they say
 * `-i 127.0.0.1`, and this test refuses to run one that does not). Every
 * wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT } from "./support/cli_process.ts";
import { type Finished, Subprocess } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";

const README = await Deno.readTextFile(`${ROOT}/README.md`);
const RUN_MS = 20_000;
const READY_MS = 15_000;

/** The fenced blocks of one language, in order. */
function blocks(language: string): string[] {
  // A block may be indented (inside a list item): its fence says how much.
  const fence = new RegExp(
    "^( *)```" + language + "\\n([^]*?)^\\1```$",
    "gm",
  );
  return [...README.matchAll(fence)].map(([, indent, body]) =>
    body.split("\n").map((line) => line.slice(indent.length)).join("\n")
  );
}

/** The first `sh` block after the paragraph that contains `marker`. */
function shBlockAfter(marker: string): string[] {
  const at = README.indexOf(marker);
  assert.ok(at >= 0, `the README has "${marker}"`);
  const block = README.slice(at).match(/^```sh\n([^]*?)^```$/m);
  assert.ok(block, `a sh block follows "${marker}"`);
  return block[1].split("\n").filter((line) => line.trim() !== "")
    .map((line) => line.replace(/\s+#.*$/, ""));
}

/** Runs one README line with bash in the checkout, as a user types it. */
function shell(line: string): Subprocess {
  assert.ok(
    !/deno task (send|listen)/.test(line) || line.includes("-i 127.0.0.1"),
    `a recipe that stays on loopback: ${line}`,
  );
  return new Subprocess("bash", ["-c", line], { cwd: ROOT, name: line });
}

async function runLine(line: string): Promise<Finished> {
  await using proc = shell(line);
  return await proc.wait(RUN_MS);
}

async function startLine(line: string): Promise<Subprocess> {
  const proc = shell(line);
  await proc.waitForLine(
    (text) => text.startsWith("listening on "),
    `the ready line of: ${line}`,
    READY_MS,
  );
  return proc;
}

Deno.test("readme: every TypeScript block type-checks against this checkout", async () => {
  const sources = blocks("ts");
  assert.ok(sources.length >= 3, `${sources.length} ts blocks`);
  await using dir = await tempDir();
  const mod = new URL("../mod.ts", import.meta.url).href;
  const files: string[] = [];
  for (const [index, source] of sources.entries()) {
    const file = `${dir.path}/block_${index}.ts`;
    // The blocks import "./mod.ts" as a file beside it would.
    await Deno.writeTextFile(file, source.replaceAll('"./mod.ts"', `"${mod}"`));
    files.push(file);
  }
  const check = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--no-config", ...files],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    check.code,
    0,
    new TextDecoder().decode(check.stderr),
  );
});

Deno.test("readme: the two-terminal quick start answers ack", async () => {
  const [listenLine, sendLine] = shBlockAfter("On two terminals");
  await using listener = await startLine(listenLine);
  const sent = await runLine(sendLine);
  assert.equal(sent.code, 0, sent.stderr.join("\n"));
  assert.match(sent.stdout[0], /^reply from 127\.0\.0\.1:10000 .* {2}ack$/);
  await listener.stop("SIGTERM", 5_000);
});

Deno.test("readme: the Authentication recipe makes a key, and a keyed send is answered and verified", async () => {
  const [makeKey, listenLine, sendLine] = shBlockAfter("**Authentication.**");
  const key = `${ROOT}/mcast.key`;
  try {
    const made = await runLine(makeKey);
    assert.equal(made.code, 0, made.stderr.join("\n"));
    assert.ok((await Deno.stat(key)).size >= 16);
    await using listener = await startLine(listenLine);
    const sent = await runLine(sendLine);
    assert.equal(sent.code, 0, sent.stderr.join("\n"));
    assert.match(
      sent.stdout[0],
      /^reply from 127\.0\.0\.1:10000 .* verified {2}ack$/,
    );
    const stopped = await listener.stop("SIGTERM", 5_000);
    assert.equal(stopped.stdout.at(-1), "1 received, 1 replied, 0 unanswered");
  } finally {
    await Deno.remove(key).catch(() => {});
  }
});
