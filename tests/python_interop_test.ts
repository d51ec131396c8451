/**
 * Interoperability with a plain Python socket peer, the classic multicast
 * example mcast grew from, in both directions: a Python sender asks an
 * mcast listener, and a Python receiver answers an mcast send (from the
 * library and from the CLI).
 *
 * Network safety: both sides are pinned to 127.0.0.1 (IP_MULTICAST_IF and
 * the membership's interface in Python, `interface` / `-i` in mcast),
 * groups 239.40.3.x, ports 40300-40399. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { listen } from "../lib/listener/listen.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { onLoopback, ROOT, runMcast } from "./support/cli_process.ts";
import { LOOPBACK, sendEvents } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";

const PROCESS_TIMEOUT_MS = 10_000;

/** The classic sender: TTL in one byte, the interface pinned, a socket timeout, every reply collected. */
const PYTHON_SENDER = `
import json, socket, struct, sys

group, port, message, iface = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.5)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", 1))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
try:
    sock.sendto(message.encode(), (group, port))
    while True:
        try:
            data, server = sock.recvfrom(1024)
        except socket.timeout:
            break
        print(json.dumps({"reply": data.decode(), "from": server[0], "port": server[1]}), flush=True)
finally:
    sock.close()
print(json.dumps({"done": True}), flush=True)
`;

/** The classic receiver: bind the port, join on the loopback interface, answer "ack" to each datagram. */
const PYTHON_RECEIVER = `
import json, socket, struct, sys

group, port, iface, answers, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((group, port))  # the group address: only this group's datagrams
mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(iface))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
sock.settimeout(timeout)
print(json.dumps({"ready": True}), flush=True)
code = 0
try:
    for _ in range(answers):
        try:
            data, address = sock.recvfrom(1024)
        except socket.timeout:
            print(json.dumps({"timeout": True}), flush=True)
            code = 3
            break
        print(json.dumps({"received": data.decode(), "from": address[0]}), flush=True)
        sock.sendto(b"ack", address)
finally:
    sock.close()
sys.exit(code)
`;

/** Runs `python3 -u script args...` from the checkout's root. */
function python(script: string, args: string[]): Subprocess {
  return new Subprocess("python3", ["-u", script, ...args], {
    cwd: ROOT,
    env: { PYTHONDONTWRITEBYTECODE: "1" },
  });
}

/** Writes a Python script to a temp dir; removes the dir on disposal. */
async function pythonScript(name: string, source: string) {
  const dir = await tempDir("mcast_python_");
  const path = `${dir.path}/${name}`;
  await Deno.writeTextFile(path, source);
  return { path, [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose]() };
}

Deno.test("a Python sender gets an ack from an mcast listener", async () => {
  const group = "239.40.3.1";
  const port = 40301;
  await using script = await pythonScript("sender.py", PYTHON_SENDER);
  await using listener = await listen({
    group,
    port,
    interface: LOOPBACK,
    responder: ack(),
    codec: text(),
    // Loopback only, whatever this host's default allow list.
    allowFrom: ["127.0.0.0/8"],
  });

  await using sender = python(script.path, [
    group,
    String(port),
    "very important data",
    LOOPBACK,
  ]);
  const { code, stdout, stderr } = await sender.wait(PROCESS_TIMEOUT_MS);
  assert.equal(code, 0, stderr.join("\n"));
  const lines = stdout.map((line) => JSON.parse(line));
  assert.deepEqual(lines.at(-1), { done: true });
  const replies = lines.filter((line) => "reply" in line);
  assert.equal(replies.length, 1, stdout.join("\n"));
  assert.equal(replies[0].reply, "ack");
  assert.equal(replies[0].from, LOOPBACK);
  assert.equal(replies[0].port, port, "the ack comes from the group's port");

  const stats = await listener.close();
  assert.equal(stats.received, 1);
  assert.equal(stats.replied, 1);
  assert.equal(stats.decodeErrors, 0);
});

Deno.test("a Python receiver answers mcast send, from the library and the CLI", async () => {
  const group = "239.40.3.2";
  const port = 40302;
  await using script = await pythonScript("receiver.py", PYTHON_RECEIVER);
  // Two datagrams to answer (library, then CLI); gives up after 5 s idle.
  await using receiver = python(script.path, [
    group,
    String(port),
    LOOPBACK,
    "2",
    "5",
  ]);
  await receiver.waitForLine(
    (line) => line.includes('"ready"'),
    "the Python receiver's ready line",
    PROCESS_TIMEOUT_MS,
  );

  // The library.
  const events = await sendEvents("from the library", {
    group,
    port,
    codec: text(),
    timeout: "300ms",
  });
  const replies = events.filter((event) => event.event === "reply");
  assert.equal(replies.length, 1, JSON.stringify(events));
  assert.equal(replies[0].event === "reply" && replies[0].payload, "ack");
  assert.equal(replies[0].event === "reply" && replies[0].from, LOOPBACK);
  const { perResponder, durationMs, ...counts } = events.at(
    -1,
  ) as unknown as Record<
    string,
    unknown
  >;
  assert.deepEqual(counts, {
    event: "summary",
    sent: 1,
    replies: 1,
    responders: 1,
    // The library's default transport (node:dgram) times in the event loop.
    clock: "user",
  });
  assert.equal(typeof durationMs, "number");
  assert.deepEqual(
    (perResponder as { from: string; replies: number }[]).map((
      row,
    ) => [row.from, row.replies]),
    [[LOOPBACK, 1]],
  );
  const received = await receiver.out.waitFor(
    (line) => line.includes('"received"'),
    "the Python receiver's report",
    PROCESS_TIMEOUT_MS,
  );
  assert.deepEqual(JSON.parse(received), {
    received: "from the library",
    from: LOOPBACK,
  });

  // The CLI.
  const sent = await runMcast(
    [
      "send",
      "--json",
      ...onLoopback(group, port),
      "-w",
      "300ms",
      "from the CLI",
    ],
    { timeoutMs: PROCESS_TIMEOUT_MS },
  );
  assert.equal(sent.code, 0, sent.stderr.join("\n"));
  const cliEvents = sent.stdout.map((line) => JSON.parse(line));
  const cliReplies = cliEvents.filter((event) => event.event === "reply");
  assert.equal(cliReplies.length, 1, sent.stdout.join("\n"));
  assert.equal(cliReplies[0].payload, "ack");
  assert.equal(cliReplies[0].size, 3);
  const {
    perResponder: cliRows,
    clock: cliClock,
    durationMs: cliDurationMs,
    time: cliTime,
    ...cliCounts
  } = cliEvents.at(-1) as Record<string, unknown>;
  assert.ok(cliClock === "kernel" || cliClock === "user", String(cliClock));
  assert.ok(Number.isFinite(Date.parse(cliTime as string)), String(cliTime));
  assert.equal(typeof cliDurationMs, "number");
  assert.deepEqual(cliCounts, {
    event: "summary",
    sent: 1,
    replies: 1,
    responders: 1,
  });
  assert.deepEqual(
    (cliRows as { from: string; replies: number }[]).map((
      row,
    ) => [row.from, row.replies]),
    [[LOOPBACK, 1]],
  );

  const done = await receiver.wait(PROCESS_TIMEOUT_MS);
  assert.equal(done.code, 0, done.stderr.join("\n"));
  assert.deepEqual(
    done.stdout.slice(1).map((line) => JSON.parse(line).received),
    ["from the library", "from the CLI"],
  );
});
