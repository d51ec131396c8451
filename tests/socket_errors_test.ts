// Issue 13, part 2: errors that name the fix. Every socket error a user
// can cause maps to one sentence, chosen by errno in one place
// (lib/transports/socket_failure.ts) and the same whatever the transport.
// Loopback only: group 239.48.x.x, ports 48xxx. No route for a group and
// a firewall rule need a host of their own: tests/netns/no_route_test.ts.
// EACCES (a port below 1024 without root) is not tested here: the suite
// runs as root, which may bind any port.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  describeInterfaceChoices,
  interfaceChoices,
  type InterfaceEntry,
} from "../lib/interface.ts";
import { listen } from "../lib/listener/listen.ts";
import { SocketError } from "../lib/errors.ts";
import {
  errnoOf,
  explainSocketFailure,
  type FailedCall,
} from "../lib/transports/socket_failure.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import { openDenoTransport } from "../lib/transports/deno_udp.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import type { TransportFactory } from "../lib/transports/transport.ts";
import { ack } from "../plugins/responders/ack.ts";
import { LOOPBACK } from "./support/loopback.ts";
import { denoTask } from "./support/task_process.ts";
import { ROOT } from "./support/cli_process.ts";

const LIST: InterfaceEntry[] = [
  { name: "lo", family: "IPv4", address: "127.0.0.1" },
  { name: "eth1", family: "IPv4", address: "10.77.2.11" },
  { name: "eth0", family: "IPv4", address: "10.77.1.11" },
  { name: "eth0", family: "IPv6", address: "fe80::1" },
  { name: "eth0", family: "IPv6", address: "fd77:1::11" },
];
/** IFF_UP 0x1, IFF_LOOPBACK 0x8, IFF_MULTICAST 0x1000. */
const FLAGS: Record<string, number> = {
  lo: 0x9,
  eth1: 0x1002, // multicast, down
  eth0: 0x1003, // multicast, up
};

Deno.test("socket errors: interfaces to choose with -i, multicast-capable and up first, loopback last", () => {
  const flags = (name: string) => FLAGS[name];
  const v4 = interfaceChoices("IPv4", { list: LIST, flags });
  assert.deepEqual(v4.map((c) => c.name), ["eth0", "eth1", "lo"]);
  assert.equal(
    describeInterfaceChoices(v4),
    "eth0 10.77.1.11, eth1 10.77.2.11 (down), lo 127.0.0.1 (this host only)",
  );
  // IPv6: a global address before a link-local one.
  assert.deepEqual(
    interfaceChoices("IPv6", { list: LIST, flags }).map((c) => c.address),
    ["fd77:1::11"],
  );
  // Without flags (Deno reads /sys only with --allow-all): loopback last.
  const guessed = interfaceChoices("IPv4", {
    list: LIST,
    flags: () => undefined,
  });
  assert.deepEqual(guessed.map((c) => [c.name, c.multicast, c.up]), [
    ["eth1", true, undefined],
    ["eth0", true, undefined],
    ["lo", false, undefined],
  ]);
  // Multicast switched off (ip link set eth0 multicast off).
  assert.equal(
    describeInterfaceChoices(
      interfaceChoices("IPv4", {
        list: LIST.slice(2, 3),
        flags: () => 0x1003 & ~0x1000,
      }),
    ),
    "eth0 10.77.1.11 (multicast off)",
  );
});

Deno.test("socket errors: the errno comes from the code, or from Deno's '(os error N)' when there is none", () => {
  assert.equal(
    errnoOf(Object.assign(new Error("x"), { code: "EPERM" })),
    "EPERM",
  );
  assert.equal(errnoOf(new Error("No such device (os error 19)")), "ENODEV");
  assert.equal(
    errnoOf(Object.assign(new Error("(os error 19)"), { code: "ENETUNREACH" })),
    "ENETUNREACH",
    "a code wins over the text",
  );
  assert.equal(
    errnoOf(Object.assign(new Error("x"), { code: "UNKNOWN" })),
    undefined,
  );
  assert.equal(
    errnoOf(Object.assign(new Error("x"), { code: "ERR_SOCKET" })),
    undefined,
  );
  assert.equal(errnoOf("text"), undefined);
});

Deno.test("socket errors: each errno a user can cause is one sentence naming the fix", () => {
  const send: FailedCall = {
    operation: "send",
    family: "IPv4",
    address: "239.48.0.1",
    port: 48000,
    bytes: 19,
  };
  const join: FailedCall = {
    operation: "join",
    family: "IPv4",
    address: "239.48.0.1",
  };
  const bind: FailedCall = {
    operation: "bind",
    family: "IPv4",
    address: "239.48.0.1",
    port: 80,
  };
  const cases: [FailedCall, string, RegExp][] = [
    [
      bind,
      "EADDRINUSE",
      /^Cannot bind 239\.48\.0\.1:80: another program holds port 80 without sharing it \(it did not set SO_REUSEADDR\): stop it, or choose another port with -p \(EADDRINUSE\)$/,
    ],
    [
      bind,
      "EACCES",
      /^Cannot bind 239\.48\.0\.1:80: ports below 1024 need root \(or CAP_NET_BIND_SERVICE\): choose a port from 1024 up with -p \(EACCES\)$/,
    ],
    [
      { ...bind, address: "192.0.2.9" },
      "EADDRNOTAVAIL",
      /^Cannot bind 192\.0\.2\.9:80: 192\.0\.2\.9 is not an address of this host/,
    ],
    [
      { operation: "interface", family: "IPv4", address: "192.0.2.9" },
      "EADDRNOTAVAIL",
      /^Cannot send multicast through interface 192\.0\.2\.9: 192\.0\.2\.9 is not an address of this host: choose the interface to send through with -i/,
    ],
    [
      join,
      "ENODEV",
      /^Cannot join group 239\.48\.0\.1 on the default interface: this host has no route for group 239\.48\.0\.1 \(no default route, no multicast route\): choose the interface to join on with -i/,
    ],
    [
      { ...join, iface: "10.77.1.11" },
      "ENODEV",
      /^Cannot join group 239\.48\.0\.1 on interface 10\.77\.1\.11: interface 10\.77\.1\.11 cannot join groups \(is it down\? ip link set \.\.\. up\): .* \(ENODEV\)$/,
    ],
    [
      send,
      "ENETUNREACH",
      /^Cannot send 19 bytes to 239\.48\.0\.1:48000: this host has no route for group 239\.48\.0\.1 \(no default route, no multicast route\): choose the interface to send through with -i/,
    ],
    [send, "EHOSTUNREACH", /: this host has no route for group 239\.48\.0\.1/],
    [
      { ...send, iface: "10.77.1.11" },
      "ENETUNREACH",
      /^Cannot send 19 bytes to 239\.48\.0\.1:48000 via interface 10\.77\.1\.11: interface 10\.77\.1\.11 is down or has no route to 239\.48\.0\.1: bring it up .* \(ENETUNREACH\)$/,
    ],
    [
      send,
      "ENETDOWN",
      /: the interface it would leave by is down: .* \(ENETDOWN\)$/,
    ],
    [
      send,
      "EPERM",
      /: a firewall rule on this host refused it \(nftables or iptables, output chain, UDP to port 48000\): allow the port there \(EPERM\)$/,
    ],
    [
      send,
      "EMSGSIZE",
      /: the datagram is larger than UDP allows \(at most 65,507 bytes over IPv4, 65,527 over IPv6\) \(EMSGSIZE\)$/,
    ],
    [
      send,
      "UNKNOWN",
      /: the OS refused it and Deno's node:dgram does not say why: most often a firewall rule on this host \(.*UDP to port 48000\) or an interface that is down; --transport ffi names the reason \(UNKNOWN\)$/,
    ],
    [
      join,
      "ENOBUFS",
      /: the socket or host has joined too many groups \(net\.ipv4\.igmp_max_memberships/,
    ],
  ];
  for (const [call, errno, expected] of cases) {
    const message = explainSocketFailure(call, errno);
    assert.ok(message !== undefined, `${call.operation} ${errno}`);
    assert.match(message, expected);
    assert.doesNotMatch(message, /\n/, "one line");
  }
  // No user action explains these: the transport keeps its own message.
  assert.equal(explainSocketFailure(send, "EBADF"), undefined);
  assert.equal(explainSocketFailure(join, "EADDRINUSE"), undefined);
  assert.equal(explainSocketFailure(bind, "EPERM"), undefined);
  assert.equal(explainSocketFailure(send, undefined), undefined);
  // No route: the same sentence, whatever errno the transport learnt.
  const [a, b] = ["ENETUNREACH", "EHOSTUNREACH"].map((errno) =>
    explainSocketFailure(send, errno)
  );
  assert.equal(a, b);
});

const TRANSPORTS: [string, TransportFactory, boolean][] = [
  ["dgram", openDgramTransport, false],
  ["deno", openDenoTransport, false],
  ["ffi", openFfiTransport, !ffiTransportAvailable()],
];

/** Holds 0.0.0.0:`port` without SO_REUSEADDR, as another program would. */
async function holdPort(port: number): Promise<AsyncDisposable> {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
  await new Promise<void>((resolve) => socket.bind(port, "0.0.0.0", resolve));
  return {
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

const IN_USE =
  "Cannot bind 239.48.1.1:48011: another program holds port 48011 without sharing it (it did not set SO_REUSEADDR): stop it, or choose another port with -p (EADDRINUSE)";

for (const [name, transport, ignore] of TRANSPORTS) {
  Deno.test({
    name:
      `socket errors: a port another program holds is one sentence over ${name}`,
    ignore,
    async fn() {
      await using _held = await holdPort(48011);
      await assert.rejects(
        listen({
          group: "239.48.1.1",
          port: 48011,
          interface: LOOPBACK,
          responder: ack(),
          transport,
        }),
        (error: Error) => {
          assert.ok(error instanceof SocketError);
          assert.equal(error.message, IN_USE);
          return true;
        },
      );
    },
  });
}

Deno.test("socket errors: deno task listen says it in one line, the same on every transport, and exits 1", async () => {
  await using _held = await holdPort(48011);
  for (const [name, , ignore] of TRANSPORTS) {
    if (ignore) continue;
    const [command, ...args] = denoTask("listen", [
      "-g",
      "239.48.1.1",
      "-p",
      "48011",
      "-i",
      LOOPBACK,
      "--transport",
      name,
    ]);
    const result = await new Deno.Command(command, {
      args,
      cwd: ROOT,
      env: { NO_COLOR: "1", INIT_CWD: ROOT },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr).split("\n")
      .filter((line) => line !== "" && !line.startsWith("Task "));
    assert.equal(result.code, 1, `${name}: ${stderr}`);
    assert.deepEqual(stderr, [`mcast listen: ${IN_USE}`], name);
  }
});
