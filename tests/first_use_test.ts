/**
 * The first things a new user types, through `deno task` as the README
 * writes them: default listeners answer default senders, `send --pad` gets
 * a `status` document, and the small things a new user tripped over
 * (`--burst 0`, `send --transport deno`, `-t -1`, plurals, `--no-loopback`
 * through lo).
 *
 * Network safety: every send and listen is pinned to 127.0.0.1; groups
 * 239.27.0.x, ports 27001-27099. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { formatEndpoint } from "../lib/address.ts";
import { ROOT } from "./support/cli_process.ts";
import { type Finished, Subprocess } from "./support/subprocess.ts";

const LO = "127.0.0.1";
const RUN_MS = 20_000;
const READY_MS = 15_000;

/** `deno task NAME ARGS...` in the checkout, as a user types it. */
function task(name: string, args: string[]): Subprocess {
  return new Subprocess(Deno.execPath(), ["task", "-q", name, ...args], {
    cwd: ROOT,
    name: `deno task ${name}`,
  });
}

async function runTask(name: string, args: string[]): Promise<Finished> {
  await using proc = task(name, args);
  return await proc.wait(RUN_MS);
}

/** `deno task listen -i 127.0.0.1 ARGS...`, once its ready line is out. */
async function startListen(args: string[]): Promise<Subprocess> {
  const proc = task("listen", ["-i", LO, ...args]);
  try {
    await proc.waitForLine(
      (line) => line.startsWith("listening on ") || line.includes('"ready"'),
      "the listener's ready line",
      READY_MS,
    );
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
  return proc;
}

Deno.test("first use: a default listener answers a default sender's short message", async () => {
  await using listener = await startListen(["-g", "239.27.0.1", "-p", "27001"]);
  const sent = await runTask("send", [
    "-i",
    LO,
    "-g",
    "239.27.0.1",
    "-p",
    "27001",
    "hi",
  ]);
  assert.equal(sent.code, 0, sent.stderr.join("\n"));
  assert.match(
    sent.stdout[0],
    /^reply from 127\.0\.0\.1:27001 .* 3 bytes {2}ack$/,
  );
  assert.equal(sent.stdout.at(-1), "1 sent, 1 reply from 1 responder");
  const stopped = await listener.stop("SIGTERM", 5_000);
  assert.equal(stopped.stdout.at(-1), "1 received, 1 replied, 0 unanswered");
});

Deno.test("first use: status answers send --pad 512, and a short request gets a hint instead", async () => {
  await using listener = await startListen([
    "-g",
    "239.27.0.2",
    "-p",
    "27002",
    "--plugin",
    "status",
    "--option",
    "name=rack-7",
  ]);
  const target = ["-i", LO, "-g", "239.27.0.2", "-p", "27002", "--json"];
  const short = await runTask("send", [...target, "-w", "300ms", "status?"]);
  assert.equal(short.code, 1, "no reply to a short request");
  const padded = await runTask("send", [...target, "--pad", "512", "status?"]);
  assert.equal(padded.code, 0, padded.stderr.join("\n"));
  const reply = JSON.parse(padded.stdout[0]);
  assert.equal(reply.event, "reply");
  assert.equal(JSON.parse(reply.payload).name, "rack-7");
  assert.ok(reply.size <= 3 * 512, `a ${reply.size}-byte reply`);
  const stopped = await listener.stop("SIGTERM", 5_000);
  const hint = stopped.stderr.find((line) =>
    line.startsWith("drop (oversize): ")
  );
  assert.ok(hint, stopped.stderr.join("\n"));
  assert.match(
    hint,
    /more than 3x the 7-byte request \(pad requests with send --pad \d+/,
  );
  assert.equal(
    stopped.stdout.at(-1),
    "2 received, 1 replied, 0 unanswered, 1 oversize reply dropped",
  );
});

Deno.test("first use: --burst 0 is refused, naming the value and the way to turn the limit off", async () => {
  const { code, stderr } = await runTask("listen", ["-i", LO, "--burst", "0"]);
  assert.equal(code, 2);
  assert.match(
    stderr[0],
    /^mcast listen: Invalid --burst "0": must be at least 1 .*--rate-limit 0/,
  );
});

Deno.test("first use: send offers no transport it cannot use, and refuses deno clearly", async () => {
  const help = await runTask("send", ["--help"]);
  assert.equal(help.code, 0);
  const transport = help.stdout.join("\n").match(
    /--transport NAME[^]*?(?=\n {2}-h)/,
  )?.[0];
  assert.ok(transport, help.stdout.join("\n"));
  assert.doesNotMatch(transport, /\bdeno\b/);
  const refused = await runTask("send", ["-i", LO, "--transport", "deno"]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr[0],
    /Transport "deno" cannot send: .*\(use auto, dgram or ffi\)/,
  );
});

Deno.test("first use: a negative value is named in the error, whatever flag it follows", async () => {
  const ttl = await runTask("send", ["-i", LO, "-t", "-1"]);
  assert.equal(ttl.code, 2);
  assert.equal(ttl.stderr[0], "mcast send: Invalid TTL -1: must be 0-255");
  const count = await runTask("send", ["-i", LO, "--count", "-2"]);
  assert.equal(count.code, 2);
  assert.match(count.stderr[0], /Invalid count -2/);
  const flag = await runTask("send", ["-i", LO, "-g", "--json"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr[0], /Option '-g' has no value: "--json" follows it/);
});

Deno.test("first use: --no-loopback through lo says it has no effect there", async () => {
  const { code, stderr } = await runTask("send", [
    "-i",
    LO,
    "-g",
    "239.27.0.3",
    "-p",
    "27003",
    "-w",
    "100ms",
    "--no-loopback",
  ]);
  assert.equal(code, 1);
  assert.match(
    stderr[0],
    /^note: --no-loopback has no effect through 127\.0\.0\.1: the kernel delivers everything sent on lo/,
  );
});

Deno.test("first use: the summaries say 1 reply, 1 plugin error, 1 responder address", async () => {
  const demo = await runTask("demo", []);
  assert.equal(demo.code, 0, demo.stderr.join("\n"));
  assert.equal(
    demo.stdout.at(-1),
    "1 sent, 3 replies from 1 responder address",
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/fails.ts`,
      `export default { name: "fails", respond() { throw new Error("no"); } };\n`,
    );
    await using listener = await startListen([
      "-g",
      "239.27.0.4",
      "-p",
      "27004",
      "--plugin",
      `${dir}/fails.ts`,
    ]);
    const sent = await runTask("send", [
      "-i",
      LO,
      "-g",
      "239.27.0.4",
      "-p",
      "27004",
      "-w",
      "200ms",
    ]);
    assert.equal(sent.stdout.at(-1), "1 sent, 0 replies from 0 responders");
    const stopped = await listener.stop("SIGTERM", 5_000);
    assert.equal(
      stopped.stdout.at(-1),
      "1 received, 0 replied, 0 unanswered, 1 plugin error",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("first use: IPv6 endpoints are printed in brackets", () => {
  assert.equal(formatEndpoint("fe80::1", 8000), "[fe80::1]:8000");
  assert.equal(formatEndpoint("fe80::1%eth0", 8000), "[fe80::1%eth0]:8000");
  assert.equal(formatEndpoint("::1", 53), "[::1]:53");
  assert.equal(formatEndpoint("10.77.1.11", 10000), "10.77.1.11:10000");
});

Deno.test("first use: listen --json | head -1 ends quietly when head has read its line", async () => {
  const listen =
    "deno task -q listen -i 127.0.0.1 -g 239.27.0.5 -p 27005 --json";
  await using pipeline = new Subprocess("bash", [
    "-c",
    `${listen} 2>/tmp/mcast_head_err_$$ | head -1; status=\${PIPESTATUS[0]}; cat /tmp/mcast_head_err_$$ >&2; rm -f /tmp/mcast_head_err_$$; exit $status`,
  ], { cwd: ROOT, name: "listen | head -1" });
  await pipeline.waitForLine(
    (line) => line.startsWith('{"event":"ready"'),
    "the ready event through head",
    READY_MS,
  );
  // The next line the listener writes finds the pipe closed.
  const sent = await runTask("send", [
    "-i",
    LO,
    "-g",
    "239.27.0.5",
    "-p",
    "27005",
    "-w",
    "100ms",
    "hi",
  ]);
  assert.equal(sent.code, 0, sent.stderr.join("\n"));
  const ended = await pipeline.wait(RUN_MS);
  assert.equal(ended.code, 141, ended.stderr.join("\n"));
  assert.deepEqual(ended.stderr, [], "no stack trace, no message");
});
