/**
 * Custom responder plugins through `deno task listen`, as users run them:
 * the README's uppercase recipe as written; the README's plugin kept
 * outside the checkout, importing mcast's `plugin.ts` (or `mod.ts`, which
 * has the same names) by relative path and by file URL; a plugin that
 * imports a file of its own, refused with the flag that allows it, then
 * allowed; a plugin served by URL that imports `plugin.ts` from a second
 * server; and mcast itself loaded by URL, with a plugin importing
 * `plugin.ts` from there.
 *
 * Network safety: pinned to 127.0.0.1. The README recipe uses the README's
 * default group and port through `-i 127.0.0.1` (this test refuses a
 * recipe without it); the others use groups 239.26.1.x, ports
 * 26011-26029. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { relative } from "node:path";
import { pathToFileURL } from "node:url";
import { text } from "../plugins/codecs/text.ts";
import { ROOT } from "./support/cli_process.ts";
import {
  fencedBlocks,
  readDocument,
  shBlockAfter,
} from "./support/documents.ts";
import { serveFiles } from "./support/file_server.ts";
import { collectReplies } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask, TaskRun } from "./support/task_process.ts";
import { tempDir } from "./support/temp_dir.ts";

const READY_MS = 20_000;
const RUN_MS = 20_000;

/** The document that shows the plugin recipe. */
const RECIPE = "README.md";
/** What the recipe's plugin imports, as a file beside mcast's entry point. */
const ENTRY = '"./plugin.ts"';

/** The README's plugin: the ts block that defines `uppercase`. */
function readmePlugin(): string {
  const block = fencedBlocks(readDocument(RECIPE), "ts")
    .find((body) => body.includes('checkPluginOptions("uppercase"'));
  assert.ok(block, `${RECIPE} has the uppercase plugin`);
  assert.ok(block.includes(ENTRY), `it imports mcast's ${ENTRY}`);
  return block;
}

/** The README's plugin importing `specifier` instead of `./plugin.ts`. */
function readmePluginImporting(specifier: string): string {
  return readmePlugin().replace(ENTRY, JSON.stringify(specifier));
}

/** The commands of the sh block that follows the README's plugin. */
function readmePluginCommands(): string[] {
  return shBlockAfter(RECIPE, "export default uppercase;\n```");
}

/** One README command run with bash in the checkout, as a user types it. */
function shell(line: string): Subprocess {
  assert.ok(line.includes("-i 127.0.0.1"), `stays on loopback: ${line}`);
  return new Subprocess("bash", ["-c", line], {
    cwd: ROOT,
    env: { INIT_CWD: ROOT },
    name: line,
  });
}

/** `listen --json` on loopback, on a group and port of the test's own. */
function listenArgs(group: string, port: number, extra: string[]): string[] {
  return [
    "--json",
    ...["-i", "127.0.0.1", "-g", group, "-p", String(port)],
    ...extra,
  ];
}

/** Sends "hello world" to a listener on loopback; returns the replies' payloads. */
async function ask(group: string, port: number): Promise<unknown[]> {
  const { replies } = await collectReplies("hello world", {
    group,
    port,
    codec: text(),
    timeout: "500ms",
  });
  return replies.map((reply) => reply.payload);
}

Deno.test("plugin recipes: the README's uppercase example answers as written", async () => {
  const [listenLine, sendLine] = readmePluginCommands();
  assert.ok(listenLine.includes('--option prefix=">> "'), listenLine);
  await using listener = shell(listenLine);
  await listener.waitForLine(
    (line) => line.startsWith("listening on "),
    `the ready line of: ${listenLine}`,
    READY_MS,
  );
  await using sender = shell(sendLine);
  const sent = await sender.wait(RUN_MS);
  assert.equal(sent.code, 0, sent.stderr.join("\n"));
  assert.ok(
    sent.stdout.some((line) =>
      /^reply from 127\.0\.0\.1:10000 .* {2}>> HELLO WORLD$/.test(line)
    ),
    sent.stdout.join("\n"),
  );
  // bash ran deno task in its place: Ctrl-C by PID stops it with a summary.
  const stopped = await listener.stop("SIGINT", 5_000);
  assert.equal(stopped.code, 0, stopped.stderr.join("\n"));
  assert.match(stopped.stdout.at(-1)!, /^\d+ received, [1-9]\d* replied/);
});

Deno.test("plugin recipes: the README's plugin outside the checkout imports plugin.ts by relative path or file URL, or mod.ts", async () => {
  await using dir = await tempDir("mcast_own_plugin_");
  const entry = `${ROOT}/plugin.ts`;
  const imports = {
    path: relative(dir.path, entry),
    url: pathToFileURL(entry).href,
    // The applications' entry point has the same names.
    mod: relative(dir.path, `${ROOT}/mod.ts`),
  };
  assert.ok(imports.path.startsWith("../"), imports.path);
  const runs = await Promise.all(
    Object.entries(imports).map(async ([name, specifier], index) => {
      const file = `${name}_uppercase.ts`;
      await Deno.writeTextFile(
        `${dir.path}/${file}`,
        readmePluginImporting(specifier),
      );
      const group = `239.26.1.${1 + index}`;
      return new TaskRun(
        denoTask(
          "listen",
          listenArgs(group, 26011 + index, [
            ...["--plugin", `./${file}`],
            ...["--option", "prefix=>> "],
          ]),
        ),
        { cwd: dir.path, marker: group },
      );
    }),
  );
  try {
    for (const [index, run] of runs.entries()) {
      const { ready } = await run.ready(READY_MS);
      assert.equal(ready.plugin, "uppercase");
      assert.equal(ready.transport, "deno", "third-party code: no FFI");
      assert.deepEqual(await ask(`239.26.1.${1 + index}`, 26011 + index), [
        ">> HELLO WORLD",
      ]);
      const result = await run.proc.stop("SIGTERM", 5_000);
      assert.equal(result.code, 0);
    }
  } finally {
    for (const run of runs) await run[Symbol.asyncDispose]();
  }
});

Deno.test("plugin recipes: a file the plugin imports is refused with the flag that allows it, then allowed", async () => {
  await using dir = await tempDir("mcast_own_plugin_");
  const helper = `${dir.path}/shout.ts`;
  await Deno.writeTextFile(
    helper,
    'export const shout = (text: string) => text.toUpperCase() + "!";\n',
  );
  await Deno.writeTextFile(
    `${dir.path}/mine.ts`,
    `import { shout } from "./shout.ts";
import type { Responder } from ${
      JSON.stringify(pathToFileURL(`${ROOT}/mod.ts`).href)
    };
export default { name: "shouter", respond: (message) => shout(String(message.payload)) } satisfies Responder;
`,
  );
  const group = "239.26.1.6";
  const args = listenArgs(group, 26016, ["--plugin", "./mine.ts"]);
  let flag: string;
  {
    await using refused = new TaskRun(denoTask("listen", args), {
      cwd: dir.path,
      marker: group,
    });
    const { code, stdout, stderr } = await refused.proc.wait(RUN_MS);
    assert.equal(code, 2, stderr.join("\n"));
    assert.deepEqual(stdout, []);
    const message = stderr.filter((line) => line.startsWith("mcast listen:"));
    assert.equal(message.length, 1, stderr.join("\n"));
    assert.ok(
      message[0].endsWith(
        `read access to "${helper}" was refused (allow it with --allow-read=${helper})`,
      ),
      message[0],
    );
    flag = message[0].match(/\(allow it with (--allow-read=[^)]+)\)$/)![1];
  }
  // The flag the message names, given to deno task listen.
  await using allowed = new TaskRun(denoTask("listen", [...args, flag]), {
    cwd: dir.path,
    marker: group,
  });
  const { ready } = await allowed.ready(READY_MS);
  assert.equal(ready.plugin, "shouter");
  assert.deepEqual(await ask(group, 26016), ["HELLO WORLD!"]);
});

Deno.test("plugin recipes: a URL plugin imports plugin.ts from a second server with --allow-import", async () => {
  await using dir = await tempDir("mcast_url_plugin_");
  await using mcast = serveFiles(ROOT);
  await Deno.mkdir(`${dir.path}/www`);
  await Deno.writeTextFile(
    `${dir.path}/www/uppercase.ts`,
    readmePluginImporting(`${mcast.origin}/plugin.ts`),
  );
  await using plugins = serveFiles(`${dir.path}/www`);
  const plugin = `${plugins.origin}/uppercase.ts`;
  const group = "239.26.1.4";
  const args = listenArgs(group, 26014, ["--plugin", plugin]);
  const env = { DENO_DIR: `${dir.path}/deno_dir` };
  {
    await using refused = new TaskRun(denoTask("listen", args), {
      cwd: dir.path,
      env,
      marker: group,
    });
    const { code, stdout, stderr } = await refused.proc.wait(RUN_MS);
    assert.equal(code, 2, stderr.join("\n"));
    assert.deepEqual(stdout, []);
    const message = stderr.find((line) => line.startsWith("mcast listen:"));
    assert.ok(message, stderr.join("\n"));
    assert.ok(message.includes(plugin), message);
    assert.ok(
      message.endsWith(
        `import access to "${mcast.host}" was refused (allow it with --allow-import=${mcast.host})`,
      ),
      message,
    );
  }
  await using allowed = new TaskRun(
    denoTask("listen", [...args, "--allow-import", mcast.host]),
    { cwd: dir.path, env, marker: group },
  );
  const { ready } = await allowed.ready(READY_MS);
  assert.equal(ready.plugin, "uppercase");
  assert.deepEqual(await ask(group, 26014), ["HELLO WORLD"]);
  assert.ok(mcast.requested.includes("/plugin.ts"));
  assert.ok(plugins.requested.includes("/uppercase.ts"));
});

Deno.test("plugin recipes: mcast loaded by URL; a plugin file imports plugin.ts from the same URL", async () => {
  await using dir = await tempDir("mcast_by_url_");
  await using mcast = serveFiles(ROOT);
  await Deno.writeTextFile(
    `${dir.path}/uppercase.ts`,
    readmePluginImporting(`${mcast.origin}/plugin.ts`),
  );
  const group = "239.26.1.5";
  // The launcher by URL, as deno.json's task runs it from disk.
  await using run = new TaskRun([
    Deno.execPath(),
    "run",
    "--allow-run",
    "--allow-env=INIT_CWD",
    `--allow-import=${mcast.host}`,
    `${mcast.origin}/cli/launch.ts`,
    "listen",
    ...listenArgs(group, 26015, ["--plugin", "./uppercase.ts"]),
  ], {
    cwd: dir.path,
    env: { DENO_DIR: `${dir.path}/deno_dir` },
    marker: group,
  });
  const { ready } = await run.ready(READY_MS);
  assert.equal(ready.plugin, "uppercase");
  assert.deepEqual(await ask(group, 26015), ["HELLO WORLD"]);
  assert.ok(mcast.requested.includes("/cli.ts"), "the child came by URL too");
  const result = await run.proc.stop("SIGINT", 5_000);
  assert.equal(result.code, 0);
});
