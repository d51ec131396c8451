/**
 * A listener tells how long after its join the first datagram arrived
 * (`Listener.firstDatagramAfterMs`, per group with several), and `listen`
 * says it in its summary: real sockets on 127.0.0.1, the CLI as a
 * subprocess.
 *
 * Network safety: loopback only, groups 239.231.1.x, ports 23141-23143.
 *
 * @module
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { listen } from "../lib/listener/listen.ts";
import { ack } from "../plugins/responders/ack.ts";
import { onLoopback, startListener } from "./support/cli_process.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Sends one datagram to `group:port` out of 127.0.0.1. */
async function sendOne(group: string, port: number): Promise<void> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
  socket.setMulticastInterface(LOOPBACK);
  await new Promise<void>((resolve, reject) =>
    socket.send("hi", port, group, (error) => error ? reject(error) : resolve())
  );
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}

/** Waits until `ready()` or 2 s. */
async function until(ready: () => boolean): Promise<void> {
  const end = performance.now() + 2000;
  while (!ready() && performance.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("firstDatagramAfterMs: undefined until a datagram came, then its time after the join", async () => {
  await using listener = await listenOnLoopback({
    group: "239.231.1.1",
    responder: ack(),
    allowFrom: ["127.0.0.0/8"],
  });
  assert.equal(listener.firstDatagramAfterMs, undefined);
  const joined = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 120));
  await sendOne("239.231.1.1", listener.port);
  await until(() => listener.stats.received > 0);
  const after = listener.firstDatagramAfterMs!;
  // The join came before listen() resolved, the datagram 120 ms after it.
  assert.ok(after >= 120, String(after));
  assert.ok(after <= performance.now() - joined + 1, String(after));
  await sendOne("239.231.1.1", listener.port);
  await until(() => listener.stats.received > 1);
  assert.equal(listener.firstDatagramAfterMs, after, "the first one's, kept");
});

Deno.test("firstDatagramAfterMs with several groups: the group that got one", async () => {
  await using listener = await listen({
    groups: ["239.231.1.2", "239.231.1.3"],
    port: 0,
    interface: LOOPBACK,
    responder: ack(),
    allowFrom: ["127.0.0.0/8"],
  });
  assert.equal(listener.firstDatagramAfterMs, undefined);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await sendOne("239.231.1.3", listener.port);
  await until(() => listener.stats.received > 0);
  assert.ok(listener.firstDatagramAfterMs! >= 50);
});

Deno.test("listen --json: the summary (with its time) says when the first datagram came after the join", async () => {
  const group = "239.231.1.4";
  await using listener = await startListener(group, 23141, ["--count", "1"], {
    readyTimeoutMs: 20_000,
  });
  const port = Number(listener.ready.port);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await sendOne(group, port);
  const { stdout } = await listener.proc.wait(20_000);
  const events = stdout.map((line) => JSON.parse(line));
  const summary = events.at(-1);
  assert.equal(summary.event, "summary");
  assert.match(summary.time, ISO);
  assert.ok(
    summary.firstDatagramAfterMs >= 50,
    String(summary.firstDatagramAfterMs),
  );
});

Deno.test("listen: the human summary says when the first datagram came after the join, and nothing when none came", async () => {
  const group = "239.231.1.5";
  const run = async (extra: string[], sendAfterMs?: number) => {
    const [command, ...args] = denoTask("listen", [
      "--plugin",
      "silent",
      ...onLoopback(group, 23143),
      ...extra,
    ]);
    await using proc = new Subprocess(command, args, {
      name: "deno task listen",
    });
    await proc.waitForLine(
      (line) => line.startsWith("listening on "),
      "the ready line",
      20_000,
    );
    if (sendAfterMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, sendAfterMs));
      await sendOne(group, 23143);
    }
    const result = await proc.wait(20_000);
    assert.equal(result.code, 0, result.stderr.join("\n"));
    return result.stdout.filter((line) => !line.startsWith("Task "));
  };
  const lines = await run(["--count", "1"], 150);
  const summary = lines.indexOf(`--- ${group} port 23143 ---`);
  assert.ok(summary > 0, lines.join("\n"));
  const joined = /^first datagram (\d+\.\d) ms after the join$/.exec(
    lines[summary + 1],
  );
  assert.match(lines[summary + 2], /^1 received, /);
  assert.ok(joined, lines.join("\n"));
  // Sent 150 ms after the ready line, which comes after the join.
  assert.ok(Number(joined[1]) >= 150, joined[0]);
  assert.ok(Number(joined[1]) < 20_000, joined[0]);
  const none = await run(["--duration", "300ms"]);
  assert.match(none.at(-1)!, /^0 received, /, none.join("\n"));
  assert.ok(!none.some((line) => line.startsWith("first datagram")));
});
