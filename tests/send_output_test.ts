// send keeps a person's terminal readable: while replies come at 20 a
// second or fewer each gets a line; when more come (a load run, a large
// fan-in), send says so and prints a line a second instead, and every
// reply is still counted in the summary; --json prints every reply (with
// -q only the summary). Run through `deno task`, as users run it.
// Loopback only: the listener and the sender are pinned to 127.0.0.1;
// group 239.28.14.1, ports 28141-28143. Every send is bounded in count
// and every wait in time.
import assert from "node:assert/strict";
import { onLoopback } from "./support/cli_process.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";

const READY_MS = 20_000;
const RUN_MS = 30_000;
const REQUESTS = 2000;

/** `deno task listen --plugin ack` with its limits off, ready. */
async function startAckListener(port: number): Promise<Subprocess> {
  const [command, ...args] = denoTask("listen", [
    ...["--plugin", "ack", "-q"],
    ...["--rate-limit", "0", "--global-rate", "0"],
    ...onLoopback("239.28.14.1", port),
  ]);
  const proc = new Subprocess(command, args, { name: "deno task listen" });
  await proc.waitForLine(
    (line) => line.startsWith("listening on "),
    `the ready line of a listener on port ${port}`,
    READY_MS,
  );
  return proc;
}

/** `deno task send` of REQUESTS requests as fast as the socket takes them. */
async function sendLoad(port: number, extra: string[]) {
  const [command, ...args] = denoTask("send", [
    ...onLoopback("239.28.14.1", port),
    ...["-c", String(REQUESTS), "--rate", "max", "-w", "1500ms"],
    ...extra,
    "load",
  ]);
  await using proc = new Subprocess(command, args, { name: "deno task send" });
  return await proc.wait(RUN_MS);
}

Deno.test("send: more than 20 replies a second switch the human output to a line a second; the summary counts every reply", async () => {
  await using _listener = await startAckListener(28141);
  const result = await sendLoad(28141, []);
  assert.equal(result.code, 0, result.stderr.join("\n"));
  const lines = result.stdout;
  const replyLines = lines.filter((line) => line.startsWith("reply from "));
  // 20 lines in the first second, then none while the replies flood in.
  assert.ok(
    replyLines.length >= 20 && replyLines.length <= 40,
    `${replyLines.length} reply lines`,
  );
  const notice = lines.findIndex((line) =>
    line.startsWith("more than 20 replies a second: a line a second")
  );
  assert.ok(notice >= 20, lines.slice(0, 30).join("\n"));
  assert.match(
    lines.find((line) => /^\[ *\d+\.\d- *\d+\.\d s\] /.test(line)) ?? "",
    // Counts, and the round trips of that second (issue 23: not only counts).
    /^\[ *\d+\.\d- *\d+\.\d s\] \d+ sent \(\d+\/s\), \d+ replies \(\d+\/s\), rtt p50 [\d.]+ p99 [\d.]+ max [\d.]+ ms$/,
  );
  assert.ok(
    lines.includes(`${REQUESTS} sent, ${REQUESTS} replies from 1 responder`),
    lines.slice(-8).join("\n"),
  );
});

Deno.test("send --json prints every reply, whatever the rate", async () => {
  await using _listener = await startAckListener(28142);
  const result = await sendLoad(28142, ["--json"]);
  assert.equal(result.code, 0, result.stderr.join("\n"));
  const replies = result.stdout.filter((line) =>
    line.includes('"event":"reply"')
  );
  assert.equal(replies.length, REQUESTS);
  assert.ok(!result.stdout.some((line) => line.startsWith("more than")));
});

Deno.test("send -q --json prints the summary only, as listen -q does (a ping-pong of 200 with --expect 1)", async () => {
  await using _listener = await startAckListener(28143);
  const [command, ...args] = denoTask("send", [
    ...onLoopback("239.28.14.1", 28143),
    ...["--seq", "--expect", "1", "-c", "200", "-w", "1s", "-q", "--json"],
    "ping",
  ]);
  await using proc = new Subprocess(command, args, { name: "deno task send" });
  const result = await proc.wait(RUN_MS);
  assert.equal(result.code, 0, result.stderr.join("\n"));
  const events = result.stdout.filter((line) => line.startsWith("{")).map((
    line,
  ) => JSON.parse(line));
  assert.deepEqual(events.map((event) => event.event), ["summary"]);
  const [summary] = events;
  assert.equal(summary.sent, 200);
  assert.equal(summary.replies, 200);
  assert.equal(summary.expect.roundsMet, 200);
  assert.ok(summary.durationMs > 0);
});
