/**
 * examples/sockperf_reflector.ts answers as `sockperf server` does: in
 * memory, a client's request that asks for a reply comes back whole with
 * the client flag cleared, and warm-up, replies, requests without the
 * flag, short or mislabelled datagrams get none; and on loopback, sockperf
 * 3.7's own client (the Debian package; CI installs it, elsewhere the test
 * is skipped with a note) measures `deno task listen` with it: every
 * message answered, none dropped.
 *
 * Loopback only: group 239.31.24.1, port 31241, TTL 0 from sockperf, the
 * listener pinned to 127.0.0.1; sockperf runs 1 s.
 */

import assert from "node:assert/strict";
import { dispatch, newListenerStats } from "../plugin.ts";
import { binary } from "../plugins/codecs/binary.ts";
import {
  SOCKPERF_HEADER_BYTES,
  sockperfReflector,
  sockperfReply,
} from "../examples/sockperf_reflector.ts";
import { hasProgram } from "../lab/availability.ts";
import { onLoopback } from "./support/cli_process.ts";
import { LOOPBACK } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";

/** A sockperf message: sequence, flags, length (network order), then filler. */
function message(seq: number, flags: number, size = 64, length = size) {
  const bytes = new Uint8Array(size).fill(0x61);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(seq));
  view.setUint16(8, flags);
  view.setUint32(10, length);
  return bytes;
}

Deno.test("sockperf reflector: a client's request for a reply comes back whole, the client flag cleared; nothing else is answered", () => {
  const request = message(7, 0b011);
  const reply = sockperfReply(request)!;
  assert.deepEqual(reply.subarray(0, 8), request.subarray(0, 8), "sequence");
  assert.equal(new DataView(reply.buffer).getUint16(8), 0b010, "flags");
  assert.deepEqual(reply.subarray(10), request.subarray(10));
  assert.equal(request[9], 0b011, "the request itself is left as it was");
  for (
    const [what, datagram] of [
      ["a warm-up message", message(1, 0b111)],
      ["a server's reply", message(2, 0b010)],
      ["a request that asks for none", message(3, 0b001)],
      ["a length that is not the datagram's", message(4, 0b011, 64, 65)],
      ["a datagram shorter than the header", new Uint8Array(13)],
    ] as const
  ) {
    assert.equal(sockperfReply(datagram), undefined, what);
  }
  assert.equal(SOCKPERF_HEADER_BYTES, 14);
  // Through the listener's pipeline with the binary codec, as listen runs it.
  const outcome = dispatch(request, {
    address: LOOPBACK,
    port: 40000,
    family: "IPv4",
  }, {
    responder: sockperfReflector(),
    codec: binary(),
    context: {
      group: "239.31.24.1",
      port: 31241,
      interface: LOOPBACK,
      startedAt: 0,
      stats: newListenerStats(),
    },
  });
  assert.ok(!(outcome instanceof Promise) && outcome.kind === "reply");
  assert.deepEqual(outcome.reply, reply);
});

const SOCKPERF = hasProgram("sockperf");
/** sockperf colours some lines for the terminal. */
// deno-lint-ignore no-control-regex
const COLOUR = /\x1b\[[0-9;]*m/g;
const CI = Deno.env.get("CI") === "true";
if (!SOCKPERF && !CI) {
  console.warn(
    "sockperf_reflector_test: no sockperf on PATH (apt-get install sockperf): its interop test is skipped",
  );
}

Deno.test({
  name:
    "sockperf reflector: sockperf ping-pong measures deno task listen with it, every message answered, none dropped",
  ignore: !SOCKPERF && !CI,
  async fn() {
    assert.ok(SOCKPERF, "CI must run this test: install sockperf");
    const [command, ...args] = denoTask("listen", [
      ...["--plugin", "./examples/sockperf_reflector.ts", "--codec", "binary"],
      ...onLoopback("239.31.24.1", 31241),
      ...["-q", "--rate-limit", "0", "--global-rate", "0"],
    ]);
    await using listener = new Subprocess(command, args, {
      name: "deno task listen",
    });
    await listener.waitForLine(
      (line) => line.startsWith("listening on "),
      "the listener's ready line",
      30_000,
    );
    const client = await new Deno.Command("sockperf", {
      args: [
        ...["ping-pong", "-i", "239.31.24.1", "-p", "31241"],
        ...["--mc-rx-if", LOOPBACK, "--mc-tx-if", LOOPBACK, "--mc-ttl", "0"],
        ...["-m", "64", "-t", "1", "--full-rtt"],
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const report = new TextDecoder().decode(client.stdout).replaceAll(
      COLOUR,
      "",
    );
    assert.ok(client.success, report);
    const valid = /SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(
      report.slice(report.indexOf("[Valid Duration]")),
    );
    assert.ok(valid !== null, report);
    const [sent, received] = [Number(valid[1]), Number(valid[2])];
    assert.ok(received > 0, report);
    assert.equal(received, sent, report);
    assert.match(report, /# dropped messages = 0;/);
    const result = await listener.stop("SIGINT", 10_000);
    const counts = /^(\d+) received, (\d+) replied/m.exec(
      result.stdout.join("\n"),
    );
    assert.ok(counts !== null, result.stdout.join("\n"));
    // Warm-up messages are received and not answered, as by sockperf's server.
    assert.ok(Number(counts[2]) >= received, result.stdout.join("\n"));
  },
});
