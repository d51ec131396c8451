/**
 * Which clock times a round trip, and that it tells the truth (issue 22,
 * item 2). A Sender over ffi times each reply from just before its
 * request's send system call to the kernel's receive stamp ("clock":
 * "kernel"), so an event loop held busy after each send does not show in
 * its round trips; over node:dgram it times them in the event loop
 * ("user"), and the busy loop does. Against a responder that answers a
 * known delay later (tests/support/delayed_ack.ts), the reported round
 * trips are that delay and little more, on both clocks and through
 * `deno task send` as users run it.
 *
 * Loopback only: groups 239.31.23.x, ports 31230-31239, every listener
 * pinned to 127.0.0.1, every run bounded in count and time.
 */

import assert from "node:assert/strict";
import { Sender, type SendReply, type SendSummary } from "../mod.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import type { TransportFactory } from "../lib/transports/transport.ts";
import { onLoopback } from "./support/cli_process.ts";
import { LOOPBACK } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";

const READY_MS = 30_000;
const DELAYED_ACK = "./tests/support/delayed_ack.ts";

/** `deno task listen` with `plugin` flags on `group`:`port`, limits off, ready. */
async function startListener(
  group: string,
  port: number,
  plugin: string[],
): Promise<Subprocess> {
  const [command, ...args] = denoTask("listen", [
    ...plugin,
    ...onLoopback(group, port),
    ...["-q", "--rate-limit", "0", "--global-rate", "0"],
  ]);
  const proc = new Subprocess(command, args, { name: "deno task listen" });
  await proc.waitForLine(
    (line) => line.startsWith("listening on "),
    `the ready line of a listener on ${group}:${port}`,
    READY_MS,
  );
  return proc;
}

/** Holds this thread (and so the event loop) for `ms`. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

/** A numbered ping-pong run of `count` requests; the replies and the summary. */
async function pingPong(
  transport: TransportFactory,
  group: string,
  port: number,
  count: number,
  onSent?: () => void,
): Promise<{ replies: SendReply[]; summary: SendSummary }> {
  await using sender = await Sender.open({
    group,
    port,
    interface: LOOPBACK,
    transport,
  });
  const replies: SendReply[] = [];
  let summary: SendSummary | undefined;
  for await (
    const event of sender.send("ping", {
      count,
      interval: 300,
      timeout: 2000,
      sequence: true,
      expect: 1,
      onSent,
    })
  ) {
    if (event.event === "reply") replies.push(event);
    else summary = event;
  }
  return { replies, summary: summary! };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

Deno.test({
  name:
    'rtt clock: over ffi each reply and the summary say "kernel", and an event loop held 150 ms after each send does not show; over node:dgram "user", and it does',
  ignore: !ffiTransportAvailable(),
  async fn() {
    await using _listener = await startListener("239.31.23.1", 31231, [
      "--plugin",
      "ack",
    ]);
    const hold = () => busy(150);
    const ffi = await pingPong(openFfiTransport, "239.31.23.1", 31231, 5, hold);
    assert.equal(ffi.replies.length, 5);
    assert.equal(ffi.summary.clock, "kernel");
    for (const reply of ffi.replies) assert.equal(reply.clock, "kernel");
    const kernel = ffi.replies.map((reply) => reply.rttMs);
    // The reply came while the loop was held; the kernel stamped it then.
    assert.ok(median(kernel) < 100, `kernel-clock round trips ${kernel}`);
    assert.ok(kernel.every((rtt) => rtt > 0), `${kernel}`);

    const dgram = await pingPong(
      openDgramTransport,
      "239.31.23.1",
      31231,
      5,
      hold,
    );
    assert.equal(dgram.summary.clock, "user");
    for (const reply of dgram.replies) assert.equal(reply.clock, "user");
    const user = dgram.replies.map((reply) => reply.rttMs);
    // Timed in the event loop: the 150 ms it was held are in each.
    assert.ok(
      user.every((rtt) => rtt >= 149),
      `user-clock round trips ${user}`,
    );
  },
});

/** Round trips against a responder that answers `delayMs` late: at least that, and little more. */
function assertDelay(rtts: number[], delayMs: number, what: string): void {
  const text = `${what}: ${rtts.join(", ")} ms against a ${delayMs} ms delay`;
  assert.ok(rtts.length >= 8, text);
  // A timer never fires early; the rest is loopback and two wake-ups.
  assert.ok(rtts.every((rtt) => rtt >= delayMs - 0.5), text);
  assert.ok(median(rtts) <= delayMs + 15, text);
}

Deno.test({
  name:
    "rtt truth: a responder 40 ms late shows as 40 ms round trips and little more (ffi/kernel, node:dgram/user, deno task send)",
  ignore: !ffiTransportAvailable(),
  async fn() {
    const delayMs = 40;
    await using listener = await startListener("239.31.23.2", 31232, [
      ...["--plugin", DELAYED_ACK, "--option", `ms=${delayMs}`],
    ]);
    const ffi = await pingPong(openFfiTransport, "239.31.23.2", 31232, 10);
    assert.equal(ffi.summary.clock, "kernel");
    assertDelay(ffi.replies.map((r) => r.rttMs), delayMs, "Sender over ffi");
    const dgram = await pingPong(openDgramTransport, "239.31.23.2", 31232, 10);
    assert.equal(dgram.summary.clock, "user");
    assertDelay(dgram.replies.map((r) => r.rttMs), delayMs, "over node:dgram");

    const [command, ...args] = denoTask("send", [
      ...onLoopback("239.31.23.2", 31232),
      ...["--seq", "--expect", "1", "-c", "10", "--interval", "300ms"],
      ...["-w", "2s", "--json", "ping"],
    ]);
    await using send = new Subprocess(command, args, {
      name: "deno task send",
    });
    const result = await send.wait(READY_MS);
    assert.equal(result.code, 0, result.stderr.join("\n"));
    const events = result.stdout.filter((line) => line.startsWith("{")).map(
      (line) => JSON.parse(line),
    );
    const replies = events.filter((event) => event.event === "reply");
    assert.ok(replies.every((reply) => reply.clock === "kernel"));
    assert.equal(events.at(-1).clock, "kernel");
    assertDelay(
      replies.map((reply) => reply.rttMs),
      delayMs,
      "deno task send",
    );
    await listener.stop("SIGINT", 10_000);
  },
});
