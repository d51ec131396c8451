/**
 * Terminal manners (issue 14): colour on a terminal for replies, drops and
 * errors, never with `NO_COLOR`, `--json` or when piped; the human `ready`
 * line says what `--json` says (transport, granted receive buffer, pid).
 * A terminal comes from script(1), as tests/signals_test.ts gets one.
 *
 * Network safety: every socket on 127.0.0.1, groups 239.44.5.x, ports
 * 44140-44149. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Listener } from "../lib/listener/listen.ts";
import { send } from "../lib/sender/send.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { receiveBufferText } from "../cli/receive_buffer_text.ts";
import { ROOT } from "./support/cli_process.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask, shellWords } from "./support/task_process.ts";

const RUN_MS = 30_000;
const GREEN = "\x1b[32m";
const RED = "\x1b[31m";
const ESCAPE = new RegExp(String.fromCharCode(27) + "\\[");

/** Runs `words` on a new terminal (script); returns everything the terminal showed. */
async function onTerminal(
  words: string[],
  env: Record<string, string>,
): Promise<{ code: number; shown: string }> {
  await using proc = new Subprocess("script", [
    "-qefc",
    shellWords(words),
    "/dev/null",
  ], { cwd: ROOT, env, name: `script ${words.join(" ")}` });
  const done = await proc.wait(RUN_MS);
  return { code: done.code, shown: done.stdout.join("\n") };
}

function ackOn(group: string, port: number): Promise<Listener> {
  return listenOnLoopback({ group, port, responder: ack(), codec: text() });
}

const SEND = (port: number, ...more: string[]) =>
  denoTask("send", [
    "-g",
    "239.44.5.1",
    "-p",
    String(port),
    "-i",
    LOOPBACK,
    "-w",
    "300ms",
    ...more,
    "hi",
  ]);

Deno.test("colour: a reply is green on a terminal, and an unmet expectation red", async () => {
  await using _listener = await ackOn("239.44.5.1", 44140);
  const colour = { NO_COLOR: "" };
  const met = await onTerminal(SEND(44140), colour);
  assert.equal(met.code, 0, met.shown);
  assert.ok(
    met.shown.includes(`${GREEN}reply from 127.0.0.1:44140`),
    JSON.stringify(met.shown),
  );
  const unmet = await onTerminal(SEND(44140, "--expect", "2"), colour);
  assert.equal(unmet.code, 1, unmet.shown);
  assert.ok(
    unmet.shown.includes(`${RED}1 of 2 expected responders answered`),
    JSON.stringify(unmet.shown),
  );
  // An error (here a usage error) is red too.
  const bad = await onTerminal(SEND(44140, "--expect", "0"), colour);
  assert.equal(bad.code, 2);
  assert.ok(
    bad.shown.includes(`${RED}mcast send: Invalid expect 0`),
    JSON.stringify(bad.shown),
  );
});

Deno.test("colour: never with NO_COLOR, with --json, or when piped", async () => {
  await using _listener = await ackOn("239.44.5.1", 44141);
  const noColor = await onTerminal(SEND(44141, "--expect", "2"), {
    NO_COLOR: "1",
  });
  assert.match(noColor.shown, /reply from 127\.0\.0\.1:44141/);
  assert.doesNotMatch(noColor.shown, ESCAPE, JSON.stringify(noColor.shown));
  const json = await onTerminal(SEND(44141, "--json"), { NO_COLOR: "" });
  // deno task's own "Task send ..." line has its colours: mcast's lines none.
  const mcastLines = json.shown.split("\n").filter((line) =>
    !line.includes("cli/launch.ts")
  ).join("\n");
  assert.match(mcastLines, /"event":"reply"/);
  assert.doesNotMatch(mcastLines, ESCAPE, JSON.stringify(mcastLines));
  const [deno, ...args] = SEND(44141, "--expect", "2");
  await using piped = new Subprocess(deno, args, {
    cwd: ROOT,
    env: { NO_COLOR: "" },
  });
  const done = await piped.wait(RUN_MS);
  const all = [...done.stdout, ...done.stderr].filter((line) =>
    !line.includes("cli/launch.ts")
  ).join("\n");
  assert.match(all, /reply from 127\.0\.0\.1:44141/);
  assert.doesNotMatch(all, ESCAPE, JSON.stringify(all));
});

Deno.test("colour: a listener's reply lines are green and its errors red on a terminal", async () => {
  const command = denoTask("listen", [
    "-g",
    "239.44.5.2",
    "-p",
    "44142",
    "-i",
    LOOPBACK,
    "--codec",
    "json",
    "--transport",
    "dgram",
  ]);
  await using terminal = new Subprocess("script", [
    "-qefc",
    shellWords(command),
    "/dev/null",
  ], { cwd: ROOT, env: { NO_COLOR: "" }, name: "script mcast listen" });
  await terminal.waitForLine(
    (line) => line.includes("listening on 239.44.5.2 port 44142"),
    "the listener's ready line on the terminal",
    RUN_MS,
  );
  for (const payload of ['"fine"', "not json"]) {
    for await (
      const _ of send(new TextEncoder().encode(payload), {
        group: "239.44.5.2",
        port: 44142,
        interface: LOOPBACK,
        timeout: "200ms",
      })
    ) { /* the listener's lines are what this test reads */ }
  }
  await terminal.waitForLine(
    (line) => line.includes(`${GREEN}reply to 127.0.0.1:`),
    "a green reply line",
    RUN_MS,
  );
  await terminal.waitForLine(
    (line) => line.includes(`${RED}error (decode) from 127.0.0.1:`),
    "a red error line",
    RUN_MS,
  );
  await terminal.stop("SIGINT", 10_000);
});

Deno.test("listen: the human ready line says what --json says", async () => {
  for (const transport of ["ffi", "dgram"]) {
    const args = [
      "-g",
      "239.44.5.3",
      "-p",
      "44143",
      "-i",
      LOOPBACK,
      "--transport",
      transport,
    ];
    const [deno, ...jsonArgs] = denoTask("listen", [...args, "--json"]);
    await using json = new Subprocess(deno, jsonArgs, { cwd: ROOT });
    const ready = JSON.parse(
      await json.waitForLine(
        (line) => line.startsWith('{"event":"ready"'),
        "the JSON ready event",
        RUN_MS,
      ),
    );
    await json.stop("SIGINT", 10_000);
    await using human = new Subprocess(
      deno,
      denoTask("listen", args).slice(1),
      {
        cwd: ROOT,
      },
    );
    const line = await human.waitForLine(
      (line) => line.startsWith("listening on"),
      "the human ready line",
      RUN_MS,
    );
    await human.stop("SIGINT", 10_000);
    const buffer = receiveBufferText(
      ready.receiveBufferBytes,
      ready.receiveBufferAskedBytes,
      transport,
    ).replace(/[()]/g, "\\$&");
    assert.equal(ready.transport, transport);
    assert.match(
      line,
      new RegExp(
        `^listening on 239\\.44\\.5\\.3 port 44143 \\(interface 127\\.0\\.0\\.1\\), responder ack, codec text, transport ${transport}, ${buffer}, pid \\d+; Ctrl-C to stop$`,
      ),
    );
    if (transport === "ffi") {
      assert.ok(ready.receiveBufferBytes > 0, JSON.stringify(ready));
    }
  }
});
