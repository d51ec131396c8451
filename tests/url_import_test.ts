/**
 * mcast used by URL, as another project would: the checkout is served over
 * HTTP on 127.0.0.1, and a script in a folder with no deno.json imports
 * `mod.ts` from there, runs a listener and a send, and loads a built-in
 * plugin through the loader. Then the CLI loads a responder plugin by URL.
 *
 * Network safety: everything is pinned to 127.0.0.1, groups 239.40.2.x,
 * ports 40200-40299, and 239.26.3.x, ports 26031-26039. Every wait is
 * bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { text } from "../plugins/codecs/text.ts";
import {
  onLoopback,
  ROOT,
  runMcast,
  startListener,
} from "./support/cli_process.ts";
import { LOOPBACK, sendEvents } from "./support/loopback.ts";
import { fencedBlocks, readDocument } from "./support/documents.ts";
import { serveFiles } from "./support/file_server.ts";
import { Subprocess } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";

const RUN_TIMEOUT_MS = 20_000;

/** Serves the checkout's files over HTTP on 127.0.0.1; records every path asked for. */
function serveCheckout() {
  return serveFiles(ROOT);
}

Deno.test("mod.ts imported by URL from a folder without deno.json", async () => {
  await using server = serveCheckout();
  await using tmp = await tempDir("mcast_url_import_");
  const script = `
import {
  builtins,
  echo,
  listen,
  loadResponder,
  send,
  text,
} from "${server.origin}/mod.ts";

const group = "239.40.2.1";
const iface = "127.0.0.1";
// Pinned to loopback: answer loopback senders only.
const safety = { allowFrom: ["127.0.0.0/8"] };

async function ask(port: number, message: string) {
  const events: unknown[] = [];
  for await (
    const event of send(message, {
      group,
      port,
      interface: iface,
      codec: text(),
      timeout: "300ms",
    })
  ) events.push(event);
  return events;
}

const echoing = await listen({
  group,
  port: 40201,
  interface: iface,
  responder: echo(),
  codec: text(),
  ...safety,
});
console.log(JSON.stringify({ step: "echo", events: await ask(40201, "over http") }));
console.log(JSON.stringify({ step: "echo-closed", stats: await echoing.close() }));

const status = await loadResponder("status", {
  builtins: builtins.responders,
  options: { name: "by-url" },
});
console.log(JSON.stringify({ step: "loaded", name: status.name }));
const reporting = await listen({
  group,
  port: 40202,
  interface: iface,
  responder: status,
  codec: text(),
  maxReplyBytes: 1024,
  ...safety,
});
console.log(JSON.stringify({ step: "status", events: await ask(40202, "status?") }));
await reporting.close();
`;
  await Deno.writeTextFile(`${tmp.path}/main.ts`, script);
  await using proc = new Subprocess(Deno.execPath(), [
    "run",
    `--allow-import=${server.host}`,
    "--allow-net",
    "--allow-sys=hostname",
    "main.ts",
  ], { cwd: tmp.path, env: { DENO_DIR: `${tmp.path}/deno_dir` } });
  const { code, stdout, stderr } = await proc.wait(RUN_TIMEOUT_MS);
  assert.equal(code, 0, `script failed:\n${stderr.join("\n")}`);
  const steps = Object.fromEntries(
    stdout.map((line) => JSON.parse(line)).map((step) => [step.step, step]),
  );

  const echoEvents = steps.echo.events;
  assert.equal(echoEvents.length, 2, JSON.stringify(echoEvents));
  assert.equal(echoEvents[0].event, "reply");
  assert.equal(echoEvents[0].from, LOOPBACK);
  assert.equal(echoEvents[0].payload, "over http");
  const { perResponder, clock, durationMs, ...counts } = echoEvents[
    1
  ] as Record<string, unknown>;
  assert.ok(clock === "kernel" || clock === "user", String(clock));
  assert.equal(typeof durationMs, "number");
  assert.deepEqual(counts, {
    event: "summary",
    sent: 1,
    replies: 1,
    responders: 1,
  });
  assert.deepEqual(
    (perResponder as { from: string; replies: number }[]).map((
      row,
    ) => [row.from, row.replies]),
    [[LOOPBACK, 1]],
  );
  // The whole RTT distribution (lib/stats, no npm import) works by URL.
  const [{ rttMs }] = perResponder as { rttMs: Record<string, number> }[];
  assert.deepEqual(Object.keys(rttMs).sort(), [
    "avg",
    "max",
    "min",
    "p50",
    "p90",
    "p99",
    "p999",
    "stddev",
  ]);
  assert.ok(rttMs.min > 0 && rttMs.p999 >= rttMs.min, JSON.stringify(rttMs));
  assert.equal(rttMs.stddev, 0, "one reply");
  assert.equal(steps["echo-closed"].stats.received, 1);
  assert.equal(steps["echo-closed"].stats.replied, 1);

  assert.equal(steps.loaded.name, "status");
  const [statusReply, statusSummary] = steps.status.events;
  assert.equal(statusReply.event, "reply");
  const document = JSON.parse(statusReply.payload);
  assert.equal(document.name, "by-url");
  assert.equal(document.group, "239.40.2.1");
  assert.equal(document.port, 40202);
  assert.equal(document.hostname, Deno.hostname());
  assert.equal(statusSummary.replies, 1);

  // Everything came over HTTP: mod.ts, its relative imports, and the
  // built-in plugin the loader imported by its literal import().
  assert.ok(server.requested.includes("/mod.ts"));
  assert.ok(server.requested.includes("/plugins/builtins.ts"));
  assert.ok(server.requested.includes("/plugins/responders/status.ts"));
  assert.ok(server.requested.includes("/lib/stats/latency_histogram.ts"));
});

Deno.test("the CLI loads a responder plugin by URL with --allow-import", async () => {
  await using server = serveCheckout();
  await using tmp = await tempDir("mcast_url_plugin_");
  const plugin = `${server.origin}/examples/uppercase.ts`;
  const group = "239.40.2.2";
  const port = 40203;
  const env = { DENO_DIR: `${tmp.path}/deno_dir` };

  // Without the permission: exit 2, one line naming the plugin, the host
  // and the flag to add.
  {
    const { code, stdout, stderr } = await runMcast(
      ["listen", "--json", ...onLoopback(group, port), "--plugin", plugin],
      { cwd: ROOT, env, timeoutMs: RUN_TIMEOUT_MS },
    );
    assert.equal(code, 2, stderr.join("\n"));
    assert.deepEqual(stdout, []);
    assert.equal(stderr.length, 1, stderr.join("\n"));
    assert.ok(stderr[0].includes(plugin), stderr[0]);
    assert.ok(stderr[0].includes(server.host), stderr[0]);
    assert.ok(stderr[0].includes("--allow-import"), stderr[0]);
  }

  await using listener = await startListener(group, port, [
    "--plugin",
    plugin,
  ], {
    cwd: ROOT,
    env,
    allowImport: server.host,
    readyTimeoutMs: RUN_TIMEOUT_MS,
  });
  assert.equal(listener.ready.plugin, "uppercase");
  const events = await sendEvents("shout this", {
    group,
    port,
    codec: text(),
    timeout: "300ms",
  });
  assert.equal(events.length, 2, JSON.stringify(events));
  assert.equal(events[0].event, "reply");
  assert.equal(
    events[0].event === "reply" && events[0].payload,
    "SHOUT THIS",
  );
  assert.ok(server.requested.includes("/examples/uppercase.ts"));
  // The plugin's own relative import came from the server too.
  assert.ok(server.requested.includes("/lib/plugin.ts"));

  const { code, stdout } = await listener.proc.stop("SIGTERM", 1000);
  assert.equal(code, 0);
  const summary = JSON.parse(stdout.at(-1)!);
  assert.equal(summary.event, "summary");
  assert.equal(summary.replied, 1);
});

Deno.test("the library document's example runs by URL with its command", async () => {
  const library = readDocument("docs/library.md");
  const example = fencedBlocks(
    library.slice(library.indexOf("\n## Send and listen\n")),
    "ts",
  )[0];
  assert.ok(
    example,
    "docs/library.md's Send and listen starts with a ts block",
  );
  const command = library.match(/`(deno run [^`]*main\.ts)`/)?.[1];
  assert.ok(command, "docs/library.md gives the deno run command");
  await using server = serveCheckout();
  await using tmp = await tempDir("mcast_url_readme_");
  // Served by URL, on a group and port of its own (still 127.0.0.1).
  // The block imports "../mod.ts", as docs/ sees the checkout.
  const script = example.replaceAll('"../mod.ts"', `"${server.origin}/mod.ts"`)
    .replaceAll('"239.1.2.3"', '"239.26.3.1"').replaceAll(
      "port: 5000,",
      "port: 26031,",
    );
  assert.ok(script.includes(`${server.origin}/mod.ts`), script);
  assert.ok(script.includes("26031") && script.includes('"127.0.0.1"'));
  await Deno.writeTextFile(`${tmp.path}/main.ts`, script);
  const [deno, ...args] = command.replace("HOST", server.host).split(" ");
  assert.equal(deno, "deno");
  await using proc = new Subprocess(Deno.execPath(), args, {
    cwd: tmp.path,
    env: { DENO_DIR: `${tmp.path}/deno_dir` },
  });
  const { code, stdout, stderr } = await proc.wait(RUN_TIMEOUT_MS);
  assert.equal(code, 0, `${command} failed:\n${stderr.join("\n")}`);
  assert.match(stdout[0], /^127\.0\.0\.1 [\d.]+ ack$/);
  assert.equal(stdout[1], "1 replies from 1 responders");
});
