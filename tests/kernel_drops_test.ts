// Issue 13, part 1: the kernel's own drops, on every transport where this
// process can read them. A receiver that cannot read (its event loop is
// busy, or it is stopped) while datagrams keep coming loses them in the
// kernel; the count must show up in the transport, in the listener's stats
// and summary, and as a "drop" event. Loopback only: groups 239.47.x.x,
// ports 47xxx.
import assert from "node:assert/strict";
import {
  canonicalAddress,
  KernelDrops,
  parseUdpTable,
} from "../lib/transports/kernel_drops.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import { openDenoTransport } from "../lib/transports/deno_udp.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import type {
  Transport,
  TransportFactory,
} from "../lib/transports/transport.ts";
import type { ListenEvent } from "../lib/listener/listen.ts";
import { Sender, type SendSummary } from "../lib/sender/sender.ts";
import { ack } from "../plugins/responders/ack.ts";
import { CLI, ROOT } from "./support/cli_process.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import { RawSender } from "./support/raw_sender.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask, TaskRun } from "./support/task_process.ts";
import { until } from "./support/until.ts";

/** The synchronous sender (FFI: sendto in a loop that never yields) needs Linux and FFI. */
const ignore = !ffiTransportAvailable();
/** More datagrams than a default receive buffer (208 KiB) holds at 1000 bytes each. */
const FLOOD = 400;
const PAYLOAD = new Uint8Array(1000);

Deno.test("kernel drops: /proc/net/udp6 rows parse to addresses, ports, inodes and drops", () => {
  const text = [
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
    " 5644: 00000000000000000000000001000000:13D6 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 204286 2 000000003365ae01 7",
    " 5650: 000002FF000000000000000001000000:2710 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 204290 2 000000003365ae02 0",
    "garbage",
  ].join("\n");
  assert.deepEqual(parseUdpTable(text), [
    { address: "0:0:0:0:0:0:0:1", port: 5078, inode: 204286, drops: 7 },
    { address: "ff02:0:0:0:0:0:0:1", port: 10000, inode: 204290, drops: 0 },
  ]);
  assert.equal(canonicalAddress("::1"), "0:0:0:0:0:0:0:1");
  assert.equal(canonicalAddress("eth0"), undefined);
});

Deno.test("kernel drops: this process's own socket is found in /proc/net/udp, also beside another on the same port", async () => {
  const group = "239.47.0.1";
  const open = (port: number) =>
    openDgramTransport({
      family: "IPv4",
      address: group,
      port,
      reuseAddress: true,
    });
  const first = await open(47001);
  const second = await open(47001);
  try {
    // Two sockets on 239.47.0.1:47001: each knows its own row.
    assert.equal(first.droppedByKernel?.(), 0);
    assert.equal(second.droppedByKernel?.(), 0);
    const before = KernelDrops.beforeBind("IPv4", true);
    assert.ok(
      before !== undefined && before.size >= 2,
      "the table is readable here",
    );
  } finally {
    await first.close();
    await second.close();
  }
});

/**
 * Sends {@linkcode FLOOD} datagrams to `group`:`port` through loopback
 * with synchronous `sendto` calls, without yielding to the event loop:
 * nothing in this process reads meanwhile, so the kernel must drop what
 * the receive buffer cannot hold. Returns how many left.
 */
async function floodWithoutYielding(group: string, port: number) {
  const sender = await openFfiTransport({
    family: "IPv4",
    address: LOOPBACK,
    port: 0,
    reuseAddress: false,
  });
  sender.setInterface(LOOPBACK);
  let sent = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < FLOOD; i++) {
    // Resolved at once while the send buffer has room (no await here).
    pending.push(sender.send(PAYLOAD, port, group).then(() => void sent++));
  }
  await Promise.allSettled(pending);
  await sender.close();
  return sent;
}

const TRANSPORTS: [string, TransportFactory][] = [
  ["dgram", openDgramTransport],
  ["deno", openDenoTransport],
];

for (const [name, open] of TRANSPORTS) {
  Deno.test({
    name:
      `kernel drops: the ${name} transport reads its socket's drops, and received + dropped = sent`,
    ignore,
    async fn() {
      const group = `239.47.1.${name === "dgram" ? 1 : 2}`;
      const port = name === "dgram" ? 47011 : 47012;
      let transport: Transport | undefined;
      try {
        transport = await open({
          family: "IPv4",
          address: group,
          port,
          reuseAddress: true,
        });
        await transport.join(group, LOOPBACK);
        let received = 0;
        transport.onDatagram(() => received++);
        assert.equal(transport.droppedByKernel?.(), 0);
        const sent = await floodWithoutYielding(group, port);
        const dropped = transport.droppedByKernel?.() ?? -1;
        assert.ok(dropped > 0, `the kernel dropped ${dropped} of ${sent}`);
        await until(() => received + dropped === sent, 5_000, {
          message: `${received} received + ${dropped} dropped != ${sent}`,
        });
        assert.equal(transport.droppedByKernel?.(), dropped);
      } finally {
        await transport?.close();
      }
    },
  });
}

Deno.test({
  name:
    "kernel drops: a listener over deno counts them in stats.kernelDrops and says so in a drop event",
  ignore,
  async fn() {
    const events: ListenEvent[] = [];
    await using listener = await listenOnLoopback({
      group: "239.47.2.1",
      transport: openDenoTransport,
      responder: ack(),
      rateLimit: false,
      onEvent: (event) => events.push(event),
    });
    assert.equal(listener.stats.kernelDrops, 0);
    const sent = await floodWithoutYielding(listener.group, listener.port);
    // Read once a second, not per datagram.
    await until(() => (listener.stats.kernelDrops ?? 0) > 0, 5_000);
    const dropped = listener.stats.kernelDrops!;
    await until(() => listener.stats.received + dropped === sent, 5_000);
    const drops = events.filter((event) => event.event === "drop");
    assert.equal(drops.length, 1, JSON.stringify(drops));
    const [drop] = drops;
    assert.ok(drop.event === "drop");
    assert.equal(drop.reason, "kernel");
    assert.equal(drop.count, dropped);
    assert.equal(drop.from, undefined);
    assert.match(drop.message, /The kernel dropped \d+ datagrams/);
    assert.match(drop.hint, /--transport ffi/);
  },
});

/** Deno and `cli.ts` with every permission: the only way Deno reads /proc. */
function listenWithAllowAll(args: string[]): Subprocess {
  return new Subprocess(Deno.execPath(), [
    "run",
    "--allow-all",
    "--unstable-net",
    CLI,
    "listen",
    "--json",
    ...args,
  ], { cwd: ROOT, name: "mcast listen" });
}

/**
 * Stops the listener process `pid` (SIGSTOP), sends 3000 datagrams of
 * 1000 bytes to it, and lets it go on (SIGCONT): its socket could hold
 * only part of them. Returns how many were sent.
 */
async function floodWhileStopped(
  pid: number,
  group: string,
  port: number,
): Promise<number> {
  await using sender = await RawSender.open();
  Deno.kill(pid, "SIGSTOP");
  let sent = 0;
  try {
    for (let i = 0; i < 3000; i++) {
      await sender.send(PAYLOAD, port, group);
      sent++;
    }
  } finally {
    Deno.kill(pid, "SIGCONT");
  }
  return sent;
}

/** The JSON events among `lines`. */
function events(lines: string[]): Record<string, unknown>[] {
  return lines.filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line)
  );
}

for (const transport of ["deno", "dgram"]) {
  Deno.test(`kernel drops: listen --transport ${transport} with --allow-all reports them as they happen and in its summary`, async () => {
    const group = `239.47.3.${transport === "deno" ? 1 : 2}`;
    const port = transport === "deno" ? 47031 : 47032;
    await using proc = listenWithAllowAll([
      "-g",
      group,
      "-p",
      String(port),
      "-i",
      LOOPBACK,
      "--transport",
      transport,
      "--plugin",
      "silent",
    ]);
    const ready = JSON.parse(
      await proc.waitForLine(
        (line) => line.startsWith('{"event":"ready"'),
        "the ready line",
        30_000,
      ),
    );
    assert.equal(ready.transport, transport);
    const sent = await floodWhileStopped(ready.pid, group, port);
    await proc.waitForLine(
      (line) =>
        line.startsWith('{"event":"drop"') &&
        line.includes('"reason":"kernel"'),
      "a kernel drop event",
      10_000,
    );
    const result = await proc.stop("SIGINT", 10_000);
    const all = events(result.stdout);
    const summary = all.find((event) => event.event === "summary")!;
    const dropped = summary.kernelDrops as number;
    assert.ok(dropped > 0, JSON.stringify(summary));
    assert.equal((summary.received as number) + dropped, sent);
    // The drop events account for every drop, one per second at most.
    const kernel = all.filter((event) =>
      event.event === "drop" && event.reason === "kernel"
    );
    assert.equal(
      kernel.reduce((sum, event) => sum + (event.count as number), 0),
      dropped,
    );
  });
}

Deno.test({
  name:
    "kernel drops: deno task listen (ffi) reports them in a drop line and its summary",
  ignore,
  async fn() {
    const group = "239.47.4.1";
    await using run = new TaskRun(
      denoTask("listen", [
        "--json",
        "-g",
        group,
        "-p",
        "47041",
        "-i",
        LOOPBACK,
        "--plugin",
        "silent",
        "--recv-buffer",
        "256K",
      ]),
      { marker: group },
    );
    const { ready, pids } = await run.ready(30_000);
    assert.equal(ready.transport, "ffi");
    const sent = await floodWhileStopped(pids.child, group, 47041);
    await run.proc.waitForLine(
      (line) =>
        line.startsWith('{"event":"drop"') &&
        line.includes('"reason":"kernel"'),
      "a kernel drop event",
      10_000,
    );
    Deno.kill(pids.child, "SIGINT");
    const result = await run.proc.wait(10_000);
    const summary = events(result.stdout).find((event) =>
      event.event === "summary"
    )!;
    const dropped = summary.kernelDrops as number;
    assert.ok(dropped > 0, JSON.stringify(summary));
    assert.equal((summary.received as number) + dropped, sent);
  },
});

Deno.test({
  name: "kernel drops: the human log says it in one line naming the fix",
  ignore,
  async fn() {
    const group = "239.47.5.1";
    await using run = new TaskRun(
      denoTask("listen", [
        "-g",
        group,
        "-p",
        "47051",
        "-i",
        LOOPBACK,
        "--plugin",
        "silent",
        "--recv-buffer",
        "256K",
      ]),
      { marker: group },
    );
    await run.proc.waitForLine(
      (line) => line.startsWith("listening on"),
      "the listening line",
      30_000,
    );
    // The command itself (cli.ts), not deno task or the launcher.
    const child = run.survivors().find((process) =>
      process.argv.some((arg) => arg.endsWith("/cli.ts"))
    )!;
    await floodWhileStopped(child.pid, group, 47051);
    const line = await run.proc.err.waitFor(
      (line) => line.startsWith("drop (kernel): "),
      "a kernel drop line",
      10_000,
    );
    assert.match(
      line,
      /^drop \(kernel\): The kernel dropped \d+ datagrams for this socket: its receive buffer was full, the listener fell behind; to change it: --recv-buffer 512K \(above net\.core\.rmem_max only as root\)/,
    );
    Deno.kill(child.pid, "SIGINT");
    const result = await run.proc.wait(10_000);
    assert.match(
      result.stdout.at(-1)!,
      /\d+ dropped by the kernel \(receive buffer full\)/,
    );
  },
});

Deno.test({
  name:
    "kernel drops: a sender's summary has the replies the kernel dropped at its socket",
  ignore,
  async fn() {
    let socket: Transport | undefined;
    await using sender = await Sender.open({
      group: "239.47.6.1",
      port: 47061,
      interface: LOOPBACK,
      transport: async (options) => socket = await openDgramTransport(options),
    });
    // Replies nobody reads: unicast to the sender's port, without yielding.
    const { port } = socket!.localAddress();
    const flood = await openFfiTransport({
      family: "IPv4",
      address: LOOPBACK,
      port: 0,
      reuseAddress: false,
    });
    const pending: Promise<void>[] = [];
    for (let i = 0; i < FLOOD; i++) {
      pending.push(flood.send(PAYLOAD, port, LOOPBACK));
    }
    await Promise.allSettled(pending);
    await flood.close();
    let summary: SendSummary | undefined;
    for await (const event of sender.send("hi", { timeout: 100 })) {
      if (event.event === "summary") summary = event;
    }
    assert.ok(
      (summary?.kernelDrops ?? 0) > 0,
      `kernelDrops in ${JSON.stringify({ ...summary, perResponder: [] })}`,
    );
    assert.equal(summary?.kernelDrops, socket!.droppedByKernel?.());
  },
});
