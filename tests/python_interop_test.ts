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
import { fileURLToPath } from "node:url";
import { listen } from "../lib/listen.ts";
import { send, type SendEvent } from "../lib/send.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const LOOPBACK = "127.0.0.1";
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
sock.bind(("", port))
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

  /** The first line at index >= `from` matching `match`; throws after `timeoutMs` or at the end of the stream. */
  async waitFor(
    match: (line: string) => boolean,
    what: string,
    timeoutMs: number,
    from = 0,
  ): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    let index = from;
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

/** A subprocess with its output read line by line; disposal kills it. */
class Proc implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly out: Lines;
  readonly err: Lines;
  readonly status: Promise<Deno.CommandStatus>;
  exited = false;

  constructor(command: string, args: string[], cwd = ROOT) {
    this.child = new Deno.Command(command, {
      args,
      cwd,
      env: { NO_COLOR: "1", PYTHONDONTWRITEBYTECODE: "1" },
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
  async wait(timeoutMs = PROCESS_TIMEOUT_MS) {
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

/** Writes a Python script to a temp dir; removes the dir on disposal. */
async function pythonScript(name: string, source: string) {
  const dir = await Deno.makeTempDir({ prefix: "mcast_python_" });
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, source);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
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

  await using python = new Proc("python3", [
    "-u",
    script.path,
    group,
    String(port),
    "very important data",
    LOOPBACK,
  ]);
  const { code, stdout, stderr } = await python.wait();
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
  await using python = new Proc("python3", [
    "-u",
    script.path,
    group,
    String(port),
    LOOPBACK,
    "2",
    "5",
  ]);
  await python.out.waitFor(
    (line) => line.includes('"ready"'),
    "the Python receiver's ready line",
    PROCESS_TIMEOUT_MS,
  ).catch((error) => {
    throw new Error(
      `${error.message}\nstderr:\n${python.err.lines.join("\n")}`,
    );
  });

  // The library.
  const events: SendEvent[] = [];
  for await (
    const event of send("from the library", {
      group,
      port,
      interface: LOOPBACK,
      codec: text(),
      timeout: "300ms",
    })
  ) events.push(event);
  const replies = events.filter((event) => event.event === "reply");
  assert.equal(replies.length, 1, JSON.stringify(events));
  assert.equal(replies[0].event === "reply" && replies[0].payload, "ack");
  assert.equal(replies[0].event === "reply" && replies[0].from, LOOPBACK);
  assert.deepEqual(events.at(-1), {
    event: "summary",
    sent: 1,
    replies: 1,
    responders: 1,
  });
  const received = await python.out.waitFor(
    (line) => line.includes('"received"'),
    "the Python receiver's report",
    PROCESS_TIMEOUT_MS,
  );
  assert.deepEqual(JSON.parse(received), {
    received: "from the library",
    from: LOOPBACK,
  });

  // The CLI.
  await using cli = new Proc(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-sys",
    CLI,
    "send",
    "--json",
    "-g",
    group,
    "-p",
    String(port),
    "-i",
    LOOPBACK,
    "-w",
    "300ms",
    "from the CLI",
  ]);
  const sent = await cli.wait();
  assert.equal(sent.code, 0, sent.stderr.join("\n"));
  const cliEvents = sent.stdout.map((line) => JSON.parse(line));
  const cliReplies = cliEvents.filter((event) => event.event === "reply");
  assert.equal(cliReplies.length, 1, sent.stdout.join("\n"));
  assert.equal(cliReplies[0].payload, "ack");
  assert.equal(cliReplies[0].size, 3);
  assert.deepEqual(cliEvents.at(-1), {
    event: "summary",
    sent: 1,
    replies: 1,
    responders: 1,
  });

  const done = await python.wait();
  assert.equal(done.code, 0, done.stderr.join("\n"));
  assert.deepEqual(
    done.stdout.slice(1).map((line) => JSON.parse(line).received),
    ["from the library", "from the CLI"],
  );
});
