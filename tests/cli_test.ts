/**
 * The `mcast` command line as a real subprocess: help, usage errors and
 * their exit codes, ping-like exit codes for `send`, the NDJSON event
 * stream, graceful shutdown on SIGINT / SIGTERM, every built-in responder
 * and codec, plugin options, file plugins resolved against the caller's
 * directory, and `demo`.
 *
 * Network safety: every send and listen here is pinned to 127.0.0.1 and
 * uses groups 239.40.1.x with ports 40100-40199. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ListenerProcess,
  type McastOptions,
  onLoopback,
  ROOT,
  runMcast,
  startListener as startListenerProcess,
} from "./support/cli_process.ts";
import { LOOPBACK } from "./support/loopback.ts";
import type { Finished } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";

/** Longest any one CLI run may take before the test kills it. */
const RUN_TIMEOUT_MS = 10_000;
/** Longest a listener may take to print its ready line. */
const READY_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------- helpers

/** Runs the CLI to completion (bounded in time). */
function run(args: string[], options: McastOptions = {}): Promise<Finished> {
  return runMcast(args, { ...options, timeoutMs: RUN_TIMEOUT_MS });
}

type Json = Record<string, unknown>;

function parseLines(lines: string[]): Json[] {
  return lines.map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(
        `Not a JSON line: ${line}\nall lines:\n${lines.join("\n")}`,
      );
    }
  });
}

/** Starts `listen --json` on `group`/`port` via 127.0.0.1 and waits for its ready event. */
function startListener(
  group: string,
  port: number,
  extra: string[],
  options: McastOptions = {},
): Promise<ListenerProcess> {
  return startListenerProcess(group, port, extra, {
    ...options,
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
}

/** The first `event` event a listener has printed, parsed; waits for it (bounded). */
async function printedEvent(
  listener: ListenerProcess,
  event: string,
): Promise<Json> {
  const line = await listener.proc.out.waitFor(
    (line) => line.includes(`"event":"${event}"`),
    `a ${event} event on port ${listener.port}`,
    READY_TIMEOUT_MS,
  );
  return JSON.parse(line);
}

/** Waits for listeners started together; when one fails, stops the others. */
async function startAll(
  starting: Promise<ListenerProcess>[],
): Promise<ListenerProcess[]> {
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((result) => result.status === "rejected");
  if (failed === undefined) {
    return settled.map((result) =>
      (result as PromiseFulfilledResult<ListenerProcess>).value
    );
  }
  for (const result of settled) {
    if (result.status === "fulfilled") {
      await result.value[Symbol.asyncDispose]();
    }
  }
  throw failed.reason;
}

/** `mcast send --json` to a group on loopback; returns the exit code and the parsed events. */
async function sendJson(
  group: string,
  port: number,
  message: string[],
  extra: string[] = [],
) {
  const result = await run([
    "send",
    "--json",
    ...onLoopback(group, port),
    "-w",
    "300ms",
    ...extra,
    ...message,
  ]);
  assert.deepEqual(result.stderr, [], "send wrote to stderr");
  const events = parseLines(result.stdout);
  for (const event of events) {
    assert.equal(typeof event.event, "string", "every line has an event");
  }
  const summary = events.at(-1);
  assert.equal(summary?.event, "summary", "the last line is the summary");
  return {
    code: result.code,
    events,
    replies: events.filter((event) => event.event === "reply"),
    summary: summary as Json,
  };
}

/** Stops a listener with `signal`, checks a clean exit and returns its events. */
async function stopListener(listener: ListenerProcess, signal: Deno.Signal) {
  const started = performance.now();
  const result = await listener.proc.stop(signal, 1000);
  const took = performance.now() - started;
  assert.equal(result.code, 0, `listener exit code after ${signal}`);
  assert.ok(took < 1000, `listener took ${took} ms to stop`);
  assert.deepEqual(result.stderr, [], "listener wrote to stderr");
  const events = parseLines(result.stdout);
  const summary = events.at(-1) as Json;
  assert.equal(summary.event, "summary", "the listener's last line");
  return { events, summary };
}

// ------------------------------------------------------------------ tests

Deno.test("help: the program's and each command's, exit 0; no command exits 2", async () => {
  const [program, short, send, listen, helpSend, helpListen, none] =
    await Promise.all([
      run(["--help"]),
      run(["-h"]),
      run(["send", "--help"]),
      run(["listen", "--help"]),
      run(["help", "send"]),
      run(["help", "listen"]),
      run([]),
    ]);
  for (const result of [program, short, send, listen, helpSend, helpListen]) {
    assert.equal(result.code, 0);
    assert.deepEqual(result.stderr, []);
  }
  for (const command of ["send", "listen", "demo", "help"]) {
    assert.match(program.stdout.join("\n"), new RegExp(`mcast ${command}`));
  }
  assert.deepEqual(short.stdout, program.stdout);
  const sendFlags = [
    "--group",
    "--port",
    "--ttl",
    "--interface",
    "--timeout",
    "--count",
    "--interval",
    "--codec",
    "--no-loopback",
    "--json",
    "--help",
  ];
  const listenFlags = [
    "--group",
    "--port",
    "--interface",
    "--source",
    "--plugin",
    "--option",
    "--codec",
    "--json",
    "--help",
  ];
  for (const flag of sendFlags) {
    assert.ok(send.stdout.join("\n").includes(flag), `send --help: ${flag}`);
  }
  for (const flag of listenFlags) {
    assert.ok(
      listen.stdout.join("\n").includes(flag),
      `listen --help: ${flag}`,
    );
  }
  assert.deepEqual(helpSend.stdout, send.stdout);
  assert.deepEqual(helpListen.stdout, listen.stdout);
  assert.equal(none.code, 2);
  assert.deepEqual(none.stdout, program.stdout, "no command shows the usage");
});

Deno.test("usage errors: exit 2 with one line naming the bad value", async () => {
  // Every case is pinned to loopback, a test group and port, and a short
  // timeout, so nothing leaves this host even if a check were missing.
  const G = "239.40.1.1";
  const safe = ["-i", LOOPBACK, "-w", "100ms"];
  const cases: [string[], string][] = [
    // A unicast group is tried with listen, which never sends to it.
    [["listen", "-g", "10.0.0.1", "-p", "40101", "-i", LOOPBACK], "10.0.0.1"],
    [["send", "-g", "not-an-ip", "-p", "40101", ...safe], "not-an-ip"],
    [["send", "-g", G, "-p", "0", ...safe], "0"],
    [["send", "-g", G, "-p", "70000", ...safe], "70000"],
    [["send", "-g", G, "-p", "abc", ...safe], "abc"],
    [["listen", "-g", G, "-p", "70000", "-i", LOOPBACK], "70000"],
    [["send", "-g", G, "-p", "40101", "-t", "256", ...safe], "256"],
    [["send", "-g", G, "-p", "40101", "--ttl=-1", ...safe], "-1"],
    [["send", "-g", G, "-p", "40101", "-t", "x", ...safe], '"x"'],
    [["send", "-g", G, "-p", "40101", "-i", LOOPBACK, "-w", "soon"], "soon"],
    [["send", "-g", G, "-p", "40101", "--count=-2", ...safe], "-2"],
    [
      ["send", "-g", G, "-p", "40101", "--reply-buffer", "65537", ...safe],
      "reply buffer bytes 65537",
    ],
    [
      ["send", "-g", G, "-p", "40101", "--reply-buffer", "1k", ...safe],
      '"1k"',
    ],
    // Retired on send: a listener's --max-reply-bytes is its reply cap.
    [
      ["send", "-g", G, "-p", "40101", "--max-reply-bytes", "512", ...safe],
      "use --reply-buffer N",
    ],
    [
      ["send", "-g", G, "-p", "40101", "-w", "100ms", "-i", "nosuch0"],
      "nosuch0",
    ],
    [
      ["send", "-g", G, "-p", "40101", "-w", "100ms", "-i", "239.40.1.99"],
      "239.40.1.99",
    ],
    [["listen", "-g", G, "-p", "40101", "-i", "nosuch0"], "nosuch0"],
    [
      [
        "listen",
        "-g",
        G,
        "-p",
        "40101",
        "-i",
        LOOPBACK,
        "--recv-buffer",
        "12q",
      ],
      '"12q"',
    ],
    [
      [
        "listen",
        ...["-g", G, "-p", "40101", "-i", LOOPBACK],
        ...["--transport", "deno", "--recv-buffer", "1M"],
      ],
      '--recv-buffer needs the ffi transport, not "deno"',
    ],
    [
      ["listen", "-g", G, "-p", "40101", "-i", LOOPBACK, "--recv-buffer", "1M"],
      "--recv-buffer needs the ffi transport, which is not available here",
    ],
    [["send", "-g", G, "-p", "40101", "--bogus", ...safe], "--bogus"],
    [
      ["listen", "-g", G, "-p", "40101", "-i", LOOPBACK, "--plugin", "nosuch"],
      "nosuch",
    ],
    [
      ["listen", "-g", G, "-p", "40101", "-i", LOOPBACK, "--codec", "nosuch"],
      "nosuch",
    ],
    [
      ["listen", "-g", G, "-p", "40101", "-i", LOOPBACK, "--option", "text"],
      '"text"',
    ],
    [
      ["send", "-g", G, "-p", "40101", ...safe, "--codec", "json", "{bad"],
      "{bad",
    ],
    [
      ["send", "-g", G, "-p", "40101", ...safe, "--codec", "binary", "zz"],
      '"zz"',
    ],
    [
      ["listen", "-g", G, "-p", "40101", "-i", LOOPBACK, "unexpected"],
      "unexpected",
    ],
    [["frob"], '"frob"'],
  ];
  const results = await Promise.all(cases.map(([args]) => run(args)));
  cases.forEach(([args, named], i) => {
    const { code, stdout, stderr } = results[i];
    const label = `mcast ${args.join(" ")}`;
    assert.equal(code, 2, `${label}: exit code (stderr: ${stderr.join("\n")})`);
    assert.deepEqual(stdout, [], `${label}: stdout`);
    assert.match(stderr[0] ?? "", /^mcast( \w+)?: /, `${label}: message`);
    assert.ok(
      stderr[0].includes(named),
      `${label}: "${stderr[0]}" names ${named}`,
    );
    // One line of message, optionally followed by one "Try ..." hint.
    assert.ok(stderr.length <= 2, `${label}: ${stderr.length} lines`);
    if (stderr.length === 2) assert.match(stderr[1], /^Try "mcast /);
  });
});

Deno.test("usage errors: a negative value after a short flag exits 2, naming the value", async () => {
  // node:util parseArgs takes "-2" for a flag; the CLI attaches a negative
  // number to its flag, so the flag's own check names it.
  const [count, ttl] = await Promise.all([
    run(["send", ...onLoopback("239.40.1.1", 40101), "-c", "-2"]),
    run(["send", ...onLoopback("239.40.1.1", 40101), "-t", "-1"]),
  ]);
  for (const { code, stdout } of [count, ttl]) {
    assert.equal(code, 2);
    assert.deepEqual(stdout, []);
  }
  assert.equal(
    count.stderr[0],
    "mcast send: Invalid count -2: must be 0 or more",
  );
  assert.equal(ttl.stderr[0], "mcast send: Invalid TTL -1: must be 0-255");
});

Deno.test("send exits like ping: 1 and replies 0 with no listener", async () => {
  const { code, replies, summary } = await sendJson(
    "239.40.1.2",
    40102,
    ["anyone?"],
    ["-w", "200ms"],
  );
  assert.equal(code, 1);
  assert.deepEqual(replies, []);
  const { clock, durationMs, time, ...counts } = summary;
  assert.ok(Number.isFinite(Date.parse(time as string)), String(time));
  assert.deepEqual(counts, {
    event: "summary",
    sent: 1,
    replies: 0,
    responders: 0,
    perResponder: [],
  });
  assert.ok(clock === "user" || clock === "kernel", String(clock));
  assert.ok(
    (durationMs as number) >= 200,
    `the run lasted its wait: ${durationMs} ms`,
  );
  // The plain-text summary says the same.
  const text = await run([
    "send",
    ...onLoopback("239.40.1.2", 40102),
    "-w",
    "200ms",
  ]);
  assert.equal(text.code, 1);
  assert.deepEqual(text.stderr, []);
  assert.equal(text.stdout.at(-1), "1 sent, 0 replies from 0 responders");
});

for (
  const [signal, group, port] of [
    ["SIGINT", "239.40.1.3", 40103],
    ["SIGTERM", "239.40.1.4", 40104],
  ] as const
) {
  Deno.test(`NDJSON events end to end; ${signal} stops the listener with a summary`, async () => {
    await using listener = await startListener(group, port, [
      "--plugin",
      "echo",
    ]);
    const { ready } = listener;
    assert.equal(ready.group, group);
    assert.equal(ready.port, port);
    assert.equal(ready.interface, LOOPBACK);
    assert.equal(ready.plugin, "echo");
    assert.equal(ready.codec, "text");
    assert.equal(ready.source, null);
    assert.equal(typeof ready.pid, "number");

    const message = `hello ${signal}`;
    const sent = await sendJson(group, port, [message]);
    assert.equal(sent.code, 0, "a reply came: exit 0");
    assert.equal(sent.replies.length, 1);
    const [reply] = sent.replies;
    assert.equal(reply.event, "reply");
    assert.equal(reply.from, LOOPBACK);
    assert.equal(reply.port, port, "echo answers from the group's port");
    assert.equal(typeof reply.rttMs, "number");
    assert.ok((reply.rttMs as number) >= 0);
    assert.equal(reply.size, new TextEncoder().encode(message).byteLength);
    assert.equal(reply.payload, message);
    const { perResponder, clock, durationMs, time, ...counts } = sent.events
      .at(-1) as Record<string, unknown>;
    assert.ok(clock === "kernel" || clock === "user", String(clock));
    assert.ok(Number.isFinite(Date.parse(time as string)), String(time));
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

    // The listener reports the message and its reply before we stop it.
    const seen = await printedEvent(listener, "message");
    assert.equal(seen.from, LOOPBACK);
    assert.equal(seen.payload, message);
    assert.equal(seen.size, reply.size);
    const answered = await printedEvent(listener, "reply");
    assert.equal(answered.to, LOOPBACK);
    assert.equal(answered.size, reply.size);

    const { events, summary } = await stopListener(listener, signal);
    assert.deepEqual(
      events.map((event) => event.event),
      ["ready", "message", "reply", "summary"],
    );
    assert.equal(summary.received, 1);
    assert.equal(summary.replied, 1);
    assert.equal(summary.decodeErrors, 0);
    assert.equal(summary.pluginErrors, 0);
  });
}

Deno.test("every built-in responder and codec through the CLI", async () => {
  const G = "239.40.1.5";
  const listeners = await startAll([
    startListener(G, 40105, ["--plugin", "ack"]),
    startListener(G, 40106, ["--plugin", "echo"]),
    startListener(G, 40107, [
      "--plugin",
      "status",
      "--option",
      "name=probe",
      // A status document is larger than the request: raise the reply cap.
      "--max-reply-bytes",
      "512",
    ]),
    startListener(G, 40108, ["--plugin", "silent"]),
    startListener(G, 40109, ["--plugin", "echo", "--codec", "json"]),
    startListener(G, 40110, ["--plugin", "echo", "--codec", "binary"]),
    startListener(G, 40111, ["--plugin", "ack", "--option", "text=pong"]),
  ]);
  try {
    const [ack, echo, status, silent, json, binary, pong] = listeners;
    assert.equal(status.ready.plugin, "status");
    assert.equal(json.ready.codec, "json");
    assert.equal(binary.ready.codec, "binary");

    const [toAck, toEcho, toStatus, toSilent, toJson, toBinary, toPong] =
      await Promise.all([
        sendJson(G, ack.port, ["hi", "ack"]),
        sendJson(G, echo.port, ["say", "it", "back"]),
        sendJson(G, status.port, ["status?"]),
        sendJson(G, silent.port, ["hello?"], ["-w", "200ms"]),
        sendJson(G, json.port, ['{"a":[1,2],"b":null}'], ["--codec", "json"]),
        sendJson(G, binary.port, ["de ad be ef"], ["--codec", "binary"]),
        sendJson(G, pong.port, ["ping"]),
      ]);

    for (const sent of [toAck, toEcho, toStatus, toJson, toBinary, toPong]) {
      assert.equal(sent.code, 0);
      assert.equal(sent.replies.length, 1);
    }
    assert.equal(toAck.replies[0].payload, "ack");
    assert.equal(toEcho.replies[0].payload, "say it back", "words are joined");
    assert.equal(toPong.replies[0].payload, "pong");

    const document = JSON.parse(toStatus.replies[0].payload as string);
    assert.equal(document.group, G);
    assert.equal(document.port, status.port);
    assert.equal(document.messages, 1);
    assert.equal(document.name, "probe");
    assert.equal(typeof document.version, "string");
    assert.equal(typeof document.hostname, "string");

    assert.equal(toSilent.code, 1, "silent: no reply, exit 1");
    assert.deepEqual(toSilent.replies, []);
    assert.equal(toSilent.summary.replies, 0);

    assert.deepEqual(toJson.replies[0].payload, { a: [1, 2], b: null });
    assert.equal(toBinary.replies[0].payload, "deadbeef");
    assert.equal(toBinary.replies[0].size, 4);

    // The listeners saw the decoded messages, shown the codec's way.
    const message = async (listener: ListenerProcess) =>
      (await printedEvent(listener, "message")).payload;
    assert.deepEqual(await message(json), { a: [1, 2], b: null });
    assert.equal(await message(binary), "deadbeef");
    assert.equal(await message(silent), "hello?");

    const stopped = await Promise.all(
      listeners.map((listener) => stopListener(listener, "SIGTERM")),
    );
    const summaries = stopped.map(({ summary }) => summary);
    for (const summary of summaries) assert.equal(summary.received, 1);
    const [, , , silentSummary] = summaries;
    assert.equal(silentSummary.replied, 0);
    assert.equal(silentSummary.unanswered, 1);
    for (const [i, summary] of summaries.entries()) {
      if (i !== 3) assert.equal(summary.replied, 1);
    }
  } finally {
    for (const listener of listeners) await listener[Symbol.asyncDispose]();
  }
});

Deno.test("an unknown plugin option exits 2 naming it", async () => {
  const { code, stdout, stderr } = await run([
    "listen",
    ...onLoopback("239.40.1.6", 40112),
    "--plugin",
    "ack",
    "--option",
    "nope=1",
  ]);
  assert.deepEqual(stdout, []);
  assert.equal(stderr.length, 1, stderr.join("\n"));
  assert.match(stderr[0], /^mcast listen: /);
  assert.ok(stderr[0].includes('"nope"'), stderr[0]);
  assert.equal(code, 2, `exit code for: ${stderr[0]}`);
});

Deno.test("a file plugin by relative path, from the caller's directory", async () => {
  await using tmp = await tempDir("mcast_cli_plugin_");
  await Deno.writeTextFile(
    `${tmp.path}/mine.ts`,
    `export default function mine(options: Record<string, string>) {
  const prefix = options.prefix ?? "mine";
  return {
    name: "mine",
    respond: (message: { payload: unknown }) => prefix + ":" + message.payload,
  };
}
`,
  );
  await Deno.writeTextFile(
    `${tmp.path}/bad.ts`,
    `export default { name: "bad", answer: () => "no" };\n`,
  );

  // Run from the plugin's directory, the CLI at an absolute path.
  {
    await using listener = await startListener("239.40.1.7", 40113, [
      "--plugin",
      "./mine.ts",
      "--option",
      "prefix=got",
      "--max-reply-bytes",
      "64",
    ], { cwd: tmp.path, env: { INIT_CWD: tmp.path } });
    assert.equal(listener.ready.plugin, "mine");
    const sent = await sendJson("239.40.1.7", 40113, ["hi"]);
    assert.equal(sent.code, 0);
    assert.equal(sent.replies.length, 1);
    assert.equal(sent.replies[0].payload, "got:hi");
    const { summary } = await stopListener(listener, "SIGINT");
    assert.equal(summary.replied, 1);
  }

  // `deno task` runs in the project directory and passes the caller's
  // directory in INIT_CWD: relative paths start there. A module of the
  // wrong shape is refused, naming the plugin and what it lacks.
  const bad = await run(
    ["listen", ...onLoopback("239.40.1.7", 40114), "--plugin", "./bad.ts"],
    { cwd: ROOT, env: { INIT_CWD: tmp.path } },
  );
  assert.equal(bad.code, 2);
  assert.deepEqual(bad.stdout, []);
  assert.equal(bad.stderr.length, 1, bad.stderr.join("\n"));
  assert.ok(bad.stderr[0].includes("./bad.ts"), bad.stderr[0]);
  assert.ok(bad.stderr[0].includes("respond"), bad.stderr[0]);

  // A path that does not exist: exit 2, naming the path.
  const missing = await run(
    ["listen", ...onLoopback("239.40.1.7", 40114), "--plugin", "./missing.ts"],
    { cwd: tmp.path, env: { INIT_CWD: tmp.path } },
  );
  assert.equal(missing.code, 2);
  assert.ok(missing.stderr[0].includes("./missing.ts"), missing.stderr[0]);
});

Deno.test("demo exits 0 and prints 3 replies", async () => {
  // The demo pins itself to 127.0.0.1 with TTL 1 and an ephemeral port.
  const { code, stdout, stderr } = await run(["demo"]);
  assert.equal(code, 0, stderr.join("\n"));
  assert.deepEqual(stderr, []);
  const replies = stdout.filter((line) => line.startsWith("reply from "));
  assert.equal(replies.length, 3, stdout.join("\n"));
  for (const reply of replies) assert.match(reply, /^reply from 127\.0\.0\.1:/);
  assert.ok(replies.some((line) => line.endsWith("  ack")));
  assert.ok(replies.some((line) => line.endsWith("  very important data")));
  assert.ok(replies.some((line) => line.includes('"name":"demo"')));
  assert.match(stdout.at(-1) ?? "", /^1 sent, 3 replies/);
});
