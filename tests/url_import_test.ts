/**
 * mcast used by URL, as another project would: the checkout is served over
 * HTTP on 127.0.0.1, and a script in a folder with no deno.json imports
 * `mod.ts` from there, runs a listener and a send, and loads a built-in
 * plugin through the loader. Then the CLI loads a responder plugin by URL.
 *
 * Network safety: everything is pinned to 127.0.0.1, groups 239.40.2.x,
 * ports 40200-40299. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { send } from "../mod.ts";
import { text } from "../plugins/codecs/text.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const CLI = `${ROOT}/cli.ts`;
const LOOPBACK = "127.0.0.1";
const RUN_TIMEOUT_MS = 20_000;

const CONTENT_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".js": "text/javascript",
  ".json": "application/json",
};

/** Serves the checkout's files over HTTP on 127.0.0.1; records every path asked for. */
function serveCheckout() {
  const requested: string[] = [];
  const server = Deno.serve(
    { hostname: LOOPBACK, port: 0, onListen: () => {} },
    async (request) => {
      const path = decodeURIComponent(new URL(request.url).pathname);
      requested.push(path);
      const file = resolve(ROOT, `.${path}`);
      if (!file.startsWith(ROOT + sep)) {
        return new Response("forbidden", { status: 403 });
      }
      try {
        const body = await Deno.readFile(file);
        return new Response(body, {
          headers: {
            "content-type": CONTENT_TYPES[extname(file)] ??
              "application/octet-stream",
          },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  const origin = `http://${LOOPBACK}:${server.addr.port}`;
  return {
    origin,
    host: `${LOOPBACK}:${server.addr.port}`,
    requested,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Reads a stream as text lines, so a test can wait for one. */
class Lines {
  readonly lines: string[] = [];
  ended = false;
  readonly done: Promise<void>;
  #waiters = new Set<() => void>();

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let buffer = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf("\n")) !== -1) {
          this.lines.push(buffer.slice(0, at));
          buffer = buffer.slice(at + 1);
        }
        this.#wake();
      }
    } finally {
      if (buffer !== "") this.lines.push(buffer);
      this.ended = true;
      this.#wake();
    }
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** The first line matching `match`; throws after `timeoutMs` or at the end of the stream. */
  async waitFor(
    match: (line: string) => boolean,
    what: string,
    timeoutMs: number,
  ): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    let index = 0;
    while (true) {
      for (; index < this.lines.length; index++) {
        if (match(this.lines[index])) return this.lines[index];
      }
      const left = deadline - performance.now();
      if (this.ended || left <= 0) {
        throw new Error(
          `${
            this.ended ? "Output ended" : `Timed out after ${timeoutMs} ms`
          } waiting for ${what}; lines so far:\n${this.lines.join("\n")}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }
}

/** A Deno subprocess with its output read line by line; disposal kills it. */
class DenoProc implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly out: Lines;
  readonly err: Lines;
  readonly status: Promise<Deno.CommandStatus>;
  exited = false;

  constructor(args: string[], cwd: string, env: Record<string, string>) {
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      cwd,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.out = new Lines(this.child.stdout);
    this.err = new Lines(this.child.stderr);
    this.status = this.child.status.then((status) => {
      this.exited = true;
      return status;
    });
  }

  /** Waits (bounded) for the exit; kills the process when it takes longer. */
  async wait(timeoutMs = RUN_TIMEOUT_MS) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const status = await Promise.race([this.status, timeout]);
    clearTimeout(timer);
    if (status === "timeout") {
      await this[Symbol.asyncDispose]();
      throw new Error(
        `Process did not exit within ${timeoutMs} ms\nstdout:\n${
          this.out.lines.join("\n")
        }\nstderr:\n${this.err.lines.join("\n")}`,
      );
    }
    await Promise.all([this.out.done, this.err.done]);
    return {
      code: status.code,
      stdout: this.out.lines,
      stderr: this.err.lines,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.exited) {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await this.status;
    await Promise.all([this.out.done, this.err.done]);
  }
}

Deno.test("mod.ts imported by URL from a folder without deno.json", async () => {
  await using server = serveCheckout();
  const tmp = await Deno.makeTempDir({ prefix: "mcast_url_import_" });
  try {
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
    await Deno.writeTextFile(`${tmp}/main.ts`, script);
    await using proc = new DenoProc(
      [
        "run",
        `--allow-import=${server.host}`,
        "--allow-net",
        "--allow-sys=hostname",
        "main.ts",
      ],
      tmp,
      { DENO_DIR: `${tmp}/deno_dir` },
    );
    const { code, stdout, stderr } = await proc.wait();
    assert.equal(code, 0, `script failed:\n${stderr.join("\n")}`);
    const steps = Object.fromEntries(
      stdout.map((line) => JSON.parse(line)).map((step) => [step.step, step]),
    );

    const echoEvents = steps.echo.events;
    assert.equal(echoEvents.length, 2, JSON.stringify(echoEvents));
    assert.equal(echoEvents[0].event, "reply");
    assert.equal(echoEvents[0].from, LOOPBACK);
    assert.equal(echoEvents[0].payload, "over http");
    assert.deepEqual(echoEvents[1], {
      event: "summary",
      sent: 1,
      replies: 1,
      responders: 1,
    });
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
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the CLI loads a responder plugin by URL with --allow-import", async () => {
  await using server = serveCheckout();
  const tmp = await Deno.makeTempDir({ prefix: "mcast_url_plugin_" });
  try {
    const plugin = `${server.origin}/examples/uppercase.ts`;
    const group = "239.40.2.2";
    const port = 40203;
    const cli = (allowImport: boolean) => [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      ...(allowImport ? [`--allow-import=${server.host}`] : []),
      CLI,
      "listen",
      "--json",
      "-g",
      group,
      "-p",
      String(port),
      "-i",
      LOOPBACK,
      "--plugin",
      plugin,
    ];
    const env = { DENO_DIR: `${tmp}/deno_dir` };

    // Without the permission: exit 2, one line naming the plugin, the host
    // and the flag to add.
    {
      await using refused = new DenoProc(cli(false), ROOT, env);
      const { code, stdout, stderr } = await refused.wait();
      assert.equal(code, 2, stderr.join("\n"));
      assert.deepEqual(stdout, []);
      assert.equal(stderr.length, 1, stderr.join("\n"));
      assert.ok(stderr[0].includes(plugin), stderr[0]);
      assert.ok(stderr[0].includes(server.host), stderr[0]);
      assert.ok(stderr[0].includes("--allow-import"), stderr[0]);
    }

    await using listener = new DenoProc(cli(true), ROOT, env);
    const ready = JSON.parse(
      await listener.out.waitFor(
        (line) => line.startsWith('{"event":"ready"'),
        "the listener's ready event",
        RUN_TIMEOUT_MS,
      ).catch((error) => {
        throw new Error(
          `${error.message}\nstderr:\n${listener.err.lines.join("\n")}`,
        );
      }),
    );
    assert.equal(ready.plugin, "uppercase");
    const events = [];
    for await (
      const event of send("shout this", {
        group,
        port,
        interface: LOOPBACK,
        codec: text(),
        timeout: "300ms",
      })
    ) events.push(event);
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.equal(events[0].event, "reply");
    assert.equal(
      events[0].event === "reply" && events[0].payload,
      "SHOUT THIS",
    );
    assert.ok(server.requested.includes("/examples/uppercase.ts"));
    // The plugin's own relative import came from the server too.
    assert.ok(server.requested.includes("/lib/plugin.ts"));

    listener.child.kill("SIGTERM");
    const { code, stdout } = await listener.wait(1000);
    assert.equal(code, 0);
    const summary = JSON.parse(stdout.at(-1)!);
    assert.equal(summary.event, "summary");
    assert.equal(summary.replied, 1);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
