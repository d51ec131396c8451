/**
 * Receive-throughput probe (not a test): a sender in another process
 * floods a multicast group on loopback and this process counts what it
 * receives through the FFI transport and through `node:dgram`.
 *
 * Bounded: at most `--count` datagrams (500,000) and `--seconds` (10) per
 * transport; everything stays on 127.0.0.1 (group 239.31.99.1, port
 * 31990). The sender is a small C program compiled with `gcc` into a
 * temporary directory (`sendmmsg`, batches of 64) when `gcc` is there,
 * else a Python loop; `--sender=c|python` forces one.
 *
 * Run:
 * ```sh
 * deno run --allow-all bench/ffi_receive_probe.ts [--count=500000] [--size=64]
 *   [--seconds=10] [--rate=0] [--transport=both|ffi|dgram] [--sender=auto|c|python]
 *   [--rcvbuf=8388608] [--batch=64]
 * ```
 * `--rate` paces the sender (datagrams per second; 0 = as fast as it can);
 * `--rcvbuf` and `--batch` tune the FFI receiver. `node:dgram` keeps the
 * default `SO_RCVBUF` (`net.core.rmem_default`): see `openDgram`.
 *
 * @module
 */

import dgram from "node:dgram";
import { createFfiTransportFactory } from "../lib/transports/ffi/ffi_transport.ts";

const GROUP = "239.31.99.1";
const PORT = 31990;
const LOOPBACK = "127.0.0.1";

const C_SENDER = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
static double now(void) {
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
  const char *group = argv[1]; int port = atoi(argv[2]);
  long count = atol(argv[3]); int size = atoi(argv[4]);
  double rate = atof(argv[5]), seconds = atof(argv[6]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in self = { .sin_family = AF_INET };
  inet_pton(AF_INET, "127.0.0.1", &self.sin_addr);
  if (bind(fd, (struct sockaddr *)&self, sizeof self) < 0) { perror("bind"); return 1; }
  struct in_addr lo = self.sin_addr;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo);
  int sndbuf = 4 << 20; setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, group, &to.sin_addr);
  enum { BATCH = 64 };
  static unsigned char data[BATCH][65536];
  struct iovec iov[BATCH]; struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = data[i]; iov[i].iov_len = size;
    msgs[i].msg_hdr.msg_name = &to; msgs[i].msg_hdr.msg_namelen = sizeof to;
    msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long sent = 0; double start = now();
  while (sent < count && now() - start < seconds) {
    int n = count - sent < BATCH ? (int)(count - sent) : BATCH;
    for (int i = 0; i < n; i++) { unsigned int seq = sent + i; memcpy(data[i], &seq, 4); }
    int r = sendmmsg(fd, msgs, n, 0);
    if (r < 0) { perror("sendmmsg"); return 1; }
    sent += r;
    if (rate > 0) {
      double due = start + sent / rate;
      while (now() < due) {}
    }
  }
  printf("{\"sent\":%ld,\"seconds\":%f}\n", sent, now() - start);
  return 0;
}
`;

const PYTHON_SENDER = `
import json, socket, struct, sys, time
group, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rate, seconds = float(sys.argv[5]), float(sys.argv[6])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
to = (group, port)
pad = b"x" * max(0, size - 4)
sent, start = 0, time.perf_counter()
send, pack, clock = s.sendto, struct.Struct("<I").pack, time.perf_counter
while sent < count:
    if (sent & 1023) == 0 and clock() - start > seconds:
        break
    send(pack(sent) + pad, to)
    sent += 1
    if rate > 0:
        due = start + sent / rate
        while clock() < due:
            pass
print(json.dumps({"sent": sent, "seconds": clock() - start}))
`;

interface Options {
  count: number;
  size: number;
  seconds: number;
  rate: number;
  transport: string;
  sender: string;
  rcvbuf: number;
  batch: number;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    count: 500_000,
    size: 64,
    seconds: 10,
    rate: 0,
    transport: "both",
    sender: "auto",
    rcvbuf: 8 << 20,
    batch: 64,
  };
  for (const arg of args) {
    const match = /^--(\w+)=(.*)$/.exec(arg);
    if (match === null || !(match[1] in options)) {
      throw new Error(`Unknown argument ${arg}`);
    }
    const key = match[1] as keyof Options;
    if (typeof options[key] === "number") {
      (options[key] as number) = Number(match[2]);
    } else (options[key] as string) = match[2];
  }
  options.count = Math.min(Math.max(1, options.count), 5_000_000);
  options.seconds = Math.min(Math.max(1, options.seconds), 30);
  options.size = Math.min(Math.max(4, options.size), 1400);
  return options;
}

/** Returns the command line of a sender: compiled C, or Python. */
async function prepareSender(kind: string): Promise<[string, string[]]> {
  if (kind !== "python") {
    try {
      const dir = await Deno.makeTempDir({ prefix: "mcast_probe_" });
      await Deno.writeTextFile(`${dir}/sender.c`, C_SENDER);
      const gcc = await new Deno.Command("gcc", {
        args: ["-O2", "-o", `${dir}/sender`, `${dir}/sender.c`],
        stderr: "inherit",
      }).output();
      if (gcc.success) return [`${dir}/sender`, []];
    } catch (error) {
      if (kind === "c") throw error;
    }
    if (kind === "c") throw new Error("gcc failed to build the C sender");
  }
  return ["python3", ["-c", PYTHON_SENDER]];
}

interface Probe {
  name: string;
  close(): Promise<void>;
}

async function openFfi(
  onDatagram: (data: Uint8Array) => void,
  options: Options,
) {
  const open = createFfiTransportFactory({
    receiveBufferBytes: options.rcvbuf,
    batchSize: options.batch,
  });
  const socket = await open({
    family: "IPv4",
    address: "0.0.0.0",
    port: PORT,
    reuseAddress: true,
  });
  socket.join(GROUP, LOOPBACK);
  socket.onDatagram(onDatagram);
  const buffer = socket.receiveBufferBytes?.() ?? 0;
  return {
    name: `ffi (batch ${options.batch}, SO_RCVBUF ${buffer >> 10} KiB)`,
    close: () => socket.close(),
  };
}

async function openDgram(onDatagram: (data: Uint8Array) => void) {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  socket.on("message", onDatagram);
  await new Promise<void>((resolve) => socket.bind(PORT, "0.0.0.0", resolve));
  socket.addMembership(GROUP, LOOPBACK);
  // Not setRecvBufferSize: in Deno 2.9 its receive cost grows with the
  // size (8 MiB: under 1k datagrams/s, event loop stalls of 2 s).
  const buffer = "default SO_RCVBUF";
  return {
    name: `node:dgram (${buffer})`,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

async function run(
  kind: "ffi" | "dgram",
  options: Options,
  sender: [string, string[]],
) {
  let received = 0;
  let bytes = 0;
  let outOfOrder = 0;
  let lastSeq = -1;
  const onDatagram = (data: Uint8Array) => {
    received++;
    bytes += data.byteLength;
    const seq = data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24;
    if (seq < lastSeq) outOfOrder++;
    lastSeq = seq;
  };
  const probe: Probe = kind === "ffi"
    ? await openFfi(onDatagram, options)
    : await openDgram(onDatagram);
  // Let the receiver settle (the FFI receiver starts on onDatagram).
  await new Promise((resolve) => setTimeout(resolve, 300));

  // Samples of (time, count) every 10 ms; the largest gap between ticks
  // is how long the main thread's event loop was held up.
  const samples: [number, number][] = [];
  let lastTick = performance.now();
  let maxTickGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxTickGap = Math.max(maxTickGap, now - lastTick);
    lastTick = now;
    samples.push([now, received]);
  }, 10);

  const child = new Deno.Command(sender[0], {
    args: [
      ...sender[1],
      GROUP,
      String(PORT),
      String(options.count),
      String(options.size),
      String(options.rate),
      String(options.seconds),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const killer = setTimeout(
    () => child.kill("SIGKILL"),
    (options.seconds + 2) * 1000,
  );
  const output = await child.output();
  clearTimeout(killer);
  const report = JSON.parse(new TextDecoder().decode(output.stdout) || "{}");
  // Drain: wait until nothing arrives for 300 ms (at most 5 s).
  const drainUntil = performance.now() + 5000;
  let seen = -1;
  while (seen !== received && performance.now() < drainUntil) {
    seen = received;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  clearInterval(ticker);
  await probe.close();

  const first = samples.find(([, count]) => count > 0);
  const last = samples.find(([, count]) => count === received);
  const seconds = first && last && last[0] > first[0]
    ? (last[0] - first[0]) / 1000
    : NaN;
  const counted = first ? received - first[1] : received;
  return {
    transport: probe.name,
    sent: report.sent as number,
    senderPerSecond: Math.round(report.sent / report.seconds),
    received,
    lossPercent: +(100 * (1 - received / report.sent)).toFixed(2),
    receivedPerSecond: Math.round(counted / seconds),
    megabytesPerSecond: +((bytes / received) * counted / seconds / 1e6)
      .toFixed(1),
    outOfOrder,
    maxEventLoopGapMs: +maxTickGap.toFixed(1),
  };
}

if (import.meta.main) {
  const options = parseOptions(Deno.args);
  const sender = await prepareSender(options.sender);
  console.log(
    `sender: ${sender[0] === "python3" ? "python3" : "C (sendmmsg)"}; ` +
      `${options.count} datagrams of ${options.size} bytes to ${GROUP}:${PORT} ` +
      `on ${LOOPBACK}, rate ${
        options.rate || "unpaced"
      }, cap ${options.seconds} s`,
  );
  const kinds = options.transport === "both"
    ? ["ffi", "dgram"] as const
    : [options.transport as "ffi" | "dgram"];
  const results = [];
  for (const kind of kinds) results.push(await run(kind, options, sender));
  console.table(results);
  if (sender[0] !== "python3") {
    await Deno.remove(sender[0].replace(/\/sender$/, ""), { recursive: true });
  }
}
