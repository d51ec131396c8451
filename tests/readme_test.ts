/**
 * The recipes of the README and of docs/, run as written where they live:
 * every TypeScript block of every document type-checks against this
 * checkout, every relative link points at a file (and heading) that
 * exists, the README's two-terminal send and listen answers, the
 * Authentication recipe of docs/safety.md (key file, keyed listener, keyed
 * sender) verifies, and the long-run recipe of docs/send.md prints its
 * interval lines and writes its RTT log.
 *
 * Network safety: the shell recipes pin themselves to 127.0.0.1 (they say
 * `-i 127.0.0.1`, and this test refuses to run one that does not). Every
 * wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT } from "./support/cli_process.ts";
import {
  brokenLink,
  documentPaths,
  fencedBlocks,
  readDocument,
  relativeLinks,
  shBlockAfter,
} from "./support/documents.ts";
import { type Finished, Subprocess } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";

const RUN_MS = 20_000;
const READY_MS = 15_000;
/**
 * The entry points a block imports as a file beside its document would:
 * "./mod.ts" in the README, "../mod.ts" in docs/ (as `deno test --doc`
 * resolves them too).
 */
const ENTRY_IMPORT = /"\.\.?\/(mod|plugin|transport|cli)\.ts"/g;

/** Runs one recipe line with bash in the checkout, as a user types it. */
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

Deno.test("readme: every TypeScript block of the README and docs/ type-checks against this checkout", async () => {
  await using dir = await tempDir();
  const files: string[] = [];
  for (const path of documentPaths()) {
    for (
      const [index, source] of fencedBlocks(readDocument(path), "ts").entries()
    ) {
      const file = `${dir.path}/${path.replace(/\W/g, "_")}_${index}.ts`;
      // The blocks import "./mod.ts" or "../mod.ts" (or plugin.ts, ...).
      await Deno.writeTextFile(
        file,
        source.replaceAll(
          ENTRY_IMPORT,
          (_, entry) =>
            JSON.stringify(new URL(`../${entry}.ts`, import.meta.url).href),
        ),
      );
      files.push(file);
    }
  }
  assert.ok(files.length >= 4, `${files.length} ts blocks`);
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

Deno.test("readme: every relative link of the README and docs/ points at a file and heading that exist", () => {
  const links = documentPaths().flatMap(relativeLinks);
  assert.ok(links.length >= 20, `${links.length} relative links`);
  const broken = links.flatMap((link) => {
    const why = brokenLink(link);
    return why === undefined
      ? []
      : [`${link.from}:${link.line}: (${link.target}) ${why}`];
  });
  assert.deepEqual(broken, []);
});

Deno.test("readme: the two-terminal send and listen answers ack", async () => {
  const [listenLine, sendLine] = shBlockAfter("README.md", "On two terminals");
  await using listener = await startLine(listenLine);
  const sent = await runLine(sendLine);
  assert.equal(sent.code, 0, sent.stderr.join("\n"));
  assert.match(sent.stdout[0], /^reply from 127\.0\.0\.1:10000 .* {2}ack$/);
  await listener.stop("SIGTERM", 5_000);
});

Deno.test("readme: the Authentication recipe of docs/safety.md makes a key, and a keyed send is answered and verified", async () => {
  const [makeKey, listenLine, sendLine] = shBlockAfter(
    "docs/safety.md",
    "## Authentication",
  );
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

Deno.test("readme: the long-run recipe of docs/send.md prints interval lines per responder and writes a row per request to the RTT log", async () => {
  const [listenLine, sendLine] = shBlockAfter(
    "docs/send.md",
    "## Watching a long run",
  );
  const log = `${ROOT}/rtt.csv`;
  try {
    await using listener = await startLine(listenLine);
    const sent = await runLine(sendLine);
    assert.equal(sent.code, 0, sent.stderr.join("\n"));
    const out = sent.stdout.join("\n");
    const totals = sent.stdout.flatMap((line) => {
      const match = /^\[ *[\d.]+- *[\d.]+ s\] (\d+) requests /.exec(line);
      return match ? [Number(match[1])] : [];
    });
    assert.ok(totals.length >= 2, out);
    assert.equal(totals.reduce((a, b) => a + b, 0), 20, out);
    const perResponder = sent.stdout.filter((line) =>
      /^\[.*\] {3}127\.0\.0\.1:10000 {2}\d+ replies, \d+ lost \([\d.]+%\), rtt p50 [\d.]+ p99 [\d.]+ max [\d.]+ ms$/
        .test(line)
    );
    assert.ok(perResponder.length >= 2, out);
    assert.match(
      out,
      /^responder .* since 1st .* p90 .* p99\.9 .* stddev {2}jitter ms$/m,
    );
    const [header, ...rows] = (await Deno.readTextFile(log)).trim().split("\n");
    assert.equal(header, "seq,send_time,responder,rtt_ms");
    const seqs = new Set<number>();
    for (const row of rows) {
      const match = /^(\d+),(\d+\.\d{6}),127\.0\.0\.1:10000,(\d+\.\d{3})?$/
        .exec(row);
      assert.ok(match, row);
      assert.ok(Math.abs(Number(match[2]) * 1000 - Date.now()) < 60_000, row);
      seqs.add(Number(match[1]));
    }
    assert.deepEqual([...seqs].sort((a, b) => a - b), [...Array(20).keys()]);
    await listener.stop("SIGTERM", 5_000);
  } finally {
    await Deno.remove(log).catch(() => {});
  }
});
