/**
 * Several groups on one listener (issue 14), like mcjoin: `listen({ groups
 * })` and `listen -g A -g B` join every group on one port with one
 * responder and count each group's datagrams and replies (`perGroup` in
 * `stats` and the summary), on every transport; IPv4 and IPv6 groups mix
 * where the transport serves both, and a clear error where it does not.
 *
 * Network safety: every socket on 127.0.0.1 (or `lo`), groups 239.44.6.x
 * and ff15::44:x, ports 44150-44169. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { McastRangeError, McastTypeError } from "../lib/errors.ts";
import { listen, type ListenEvent } from "../lib/listener/listen.ts";
import type { Responder } from "../lib/plugin.ts";
import { send } from "../lib/sender/send.ts";
import { text } from "../plugins/codecs/text.ts";
import { ROOT } from "./support/cli_process.ts";
import { LOOPBACK } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";
import { until } from "./support/until.ts";
import dgram from "node:dgram";
import { openFfiTransport } from "../lib/transports/ffi/ffi_transport.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";

const RUN_MS = 30_000;

async function sendTo(group: string, port: number, times = 1) {
  let replies = 0;
  for (let i = 0; i < times; i++) {
    for await (
      const event of send("hi", {
        group,
        port,
        interface: LOOPBACK,
        codec: text(),
        timeout: "200ms",
        pad: 64, // room for a reply of up to 192 bytes
      })
    ) if (event.event === "reply") replies++;
  }
  return replies;
}

Deno.test("listen({ groups }): one port, one responder, counted per group", async () => {
  const [a, b, other] = ["239.44.6.1", "239.44.6.2", "239.44.6.3"];
  const calls: string[] = [];
  const responder: Responder = {
    name: "counting",
    setup: () => void calls.push("setup"),
    respond: (_message, context) => `ok from ${context.group}`,
    teardown: () => void calls.push("teardown"),
  };
  const events: ListenEvent[] = [];
  const listener = await listen({
    groups: [a, b],
    port: 0,
    interface: LOOPBACK,
    responder,
    codec: text(),
    rateLimit: false,
    onEvent: (event) => events.push(event),
  });
  try {
    assert.deepEqual(listener.groups, [a, b]);
    assert.equal(listener.group, a);
    assert.deepEqual(calls, ["setup"], "setup once for both groups");
    assert.equal(await sendTo(a, listener.port), 1);
    assert.equal(await sendTo(b, listener.port, 2), 2);
    assert.equal(await sendTo(other, listener.port), 0, "a group not joined");
    await until(() => listener.stats.replied === 3, 5_000);
    assert.equal(listener.stats.received, 3);
    assert.deepEqual({ ...listener.perGroup }, {
      [a]: { received: 1, replied: 1 },
      [b]: { received: 2, replied: 2 },
    });
    const messages = events.filter((e) => e.event === "message");
    assert.deepEqual(
      messages.map((e) => (e as { group?: string }).group).sort(),
      [a, b, b],
      "each event names its group",
    );
  } finally {
    const final = await listener.close();
    assert.equal(final.received, 3);
    assert.equal(final.replied, 3);
    assert.deepEqual(JSON.parse(JSON.stringify(listener.perGroup)), {
      [a]: { received: 1, replied: 1 },
      [b]: { received: 2, replied: 2 },
    });
  }
  assert.deepEqual(calls, ["setup", "teardown"], "teardown once, at the end");
});

for (
  const [name, transport, sockets] of [["ffi", openFfiTransport, 1], [
    "dgram",
    openDgramTransport,
    2,
  ]] as const
) {
  Deno.test(`listen({ groups, transport: ${name} }): ${sockets} socket(s) on the port, exact counts per group`, async () => {
    const [a, b] = [`239.44.6.${30 + sockets}`, `239.44.6.${40 + sockets}`];
    await using listener = await listen({
      groups: [a, b],
      port: 0,
      interface: LOOPBACK,
      responder: { name: "ok", respond: () => "ok" },
      codec: text(),
      rateLimit: false,
      transport,
    });
    assert.equal(listener.transport, name);
    assert.equal(socketsOn(listener.port), sockets);
    assert.equal(await sendTo(a, listener.port, 3), 3);
    assert.equal(await sendTo(b, listener.port), 1);
    assert.equal(await unicastReply(listener.port), undefined);
    await until(() => listener.stats.replied === 4, 5_000);
    assert.equal(listener.stats.received, 4);
    assert.deepEqual(JSON.parse(JSON.stringify(listener.perGroup)), {
      [a]: { received: 3, replied: 3 },
      [b]: { received: 1, replied: 1 },
    });
  });
}

Deno.test("listen({ groups }): the responder answers in each group's context", async () => {
  const [a, b] = ["239.44.6.4", "239.44.6.5"];
  await using listener = await listen({
    groups: [a, b],
    port: 0,
    interface: LOOPBACK,
    responder: {
      name: "where",
      respond: (_message, context) => context.group,
    },
    codec: text(),
  });
  for (const group of [a, b]) {
    const payloads: unknown[] = [];
    for await (
      const event of send("?", {
        group,
        port: listener.port,
        interface: LOOPBACK,
        codec: text(),
        timeout: "200ms",
        pad: 64,
      })
    ) if (event.event === "reply") payloads.push(event.payload);
    assert.deepEqual(payloads, [group]);
  }
});

Deno.test("listen({ groups }): bad lists are refused before any socket opens", async () => {
  const responder: Responder = { name: "x", respond: () => undefined };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ groups: [] }, /expected a non-empty list of multicast groups/],
    [
      { groups: ["239.44.6.6", "239.44.6.6"] },
      /"239\.44\.6\.6" is given twice/,
    ],
    [{ groups: ["239.44.6.6", "10.0.0.1"] }, /"10\.0\.0\.1"/],
    [
      { groups: ["239.44.6.6"], group: "239.44.6.7" },
      /group or groups, not both/,
    ],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(
      () => listen({ responder, interface: LOOPBACK, port: 0, ...options }),
      (error: Error) =>
        (error instanceof McastTypeError || error instanceof McastRangeError) &&
        message.test(error.message),
    );
  }
});

type Json = Record<string, unknown>;

/** The sockets bound to `port` in this network namespace (/proc/net/udp). */
function socketsOn(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  return Deno.readTextFileSync("/proc/net/udp").split("\n").filter((line) =>
    line.trim().split(/\s+/)[1]?.endsWith(hex.trim())
  ).length;
}

/** Sends `text` by unicast to 127.0.0.1:`port`; resolves with any reply within 300 ms. */
async function unicastReply(port: number): Promise<string | undefined> {
  const socket = dgram.createSocket("udp4");
  try {
    await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
    const reply = new Promise<string>((resolve) =>
      socket.once("message", (data) => resolve(String(data)))
    );
    socket.send("unicast, not to a group", port, LOOPBACK);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const none = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 300);
    });
    const answer = await Promise.race([reply, none]);
    clearTimeout(timer);
    return answer;
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** `deno task listen ARGS` until its ready line; then `body`; then SIGINT. */
async function withListenTask(
  args: string[],
  body: (ready: string) => Promise<void>,
): Promise<string[]> {
  const [deno, ...rest] = denoTask("listen", args);
  await using proc = new Subprocess(deno, rest, {
    cwd: ROOT,
    name: "deno task listen",
  });
  const ready = await proc.waitForLine(
    (line) =>
      line.startsWith("listening on") || line.startsWith('{"event":"ready"'),
    "the listener's ready line",
    RUN_MS,
  );
  await body(ready);
  const done = await proc.stop("SIGINT", 10_000);
  assert.equal(done.code, 0, done.stderr.join("\n"));
  return done.stdout;
}

// ffi reports each datagram's destination (IP_PKTINFO): one socket for
// both groups; deno and dgram cannot, so each group has its own.
const SOCKETS = { ffi: 1, deno: 2, dgram: 2 };

for (
  const [index, transport] of (["ffi", "deno", "dgram"] as const).entries()
) {
  Deno.test(`listen -g A -g B over ${transport}: ${SOCKETS[transport]} socket(s), a summary line per group, unicast ignored`, async () => {
    const [a, b] = [`239.44.6.${10 + index * 2}`, `239.44.6.${11 + index * 2}`];
    const port = 44150 + index;
    const out = await withListenTask(
      [
        "-g",
        a,
        "-g",
        b,
        "-p",
        String(port),
        "-i",
        LOOPBACK,
        "--transport",
        transport,
      ],
      async (ready) => {
        assert.match(
          ready,
          new RegExp(
            `^listening on ${a}, ${b} port ${port} .* transport ${transport},`,
          ),
        );
        assert.equal(socketsOn(port), SOCKETS[transport]);
        assert.equal(await sendTo(a, port, 2), 2);
        assert.equal(await sendTo(b, port), 1);
        // Bound to the wildcard (ffi) or not, unicast to the port is
        // neither answered nor counted.
        assert.equal(await unicastReply(port), undefined);
      },
    );
    assert.ok(
      out.some((line) => line.startsWith(`[${b}] message from 127.0.0.1:`)),
      out.join("\n"),
    );
    assert.match(out.at(-4)!, /^first datagram [\d.]+ m?s after the join$/);
    assert.deepEqual([out.at(-5), ...out.slice(-3)], [
      `--- ${a}, ${b} port ${port} ---`,
      "3 received, 3 replied, 0 unanswered",
      `${a}: 2 received, 2 replied`,
      `${b}: 1 received, 1 replied`,
    ]);
  });
}

Deno.test("listen -g IPv4 -g IPv6 --json: both joined where the transport serves both; perGroup in the summary", async () => {
  const [a, b] = ["239.44.6.20", "ff15::44:20"];
  const out = await withListenTask(
    [
      "--json",
      "-g",
      a,
      "-g",
      b,
      "-p",
      "44160",
      "-i",
      "lo",
      "--transport",
      "ffi",
    ],
    async (ready) => {
      const event = JSON.parse(ready) as Json;
      assert.deepEqual(event.groups, [a, b]);
      assert.equal(event.group, a);
      assert.equal(await sendTo(a, 44160), 1);
    },
  );
  const summary = JSON.parse(out.at(-1)!) as Json;
  assert.equal(summary.event, "summary");
  assert.deepEqual(summary.perGroup, {
    [a]: { received: 1, replied: 1 },
    [b]: { received: 0, replied: 0 },
  });
});

Deno.test("listen -g IPv4 -g IPv6: a clear error where the transport or interface cannot serve both", async () => {
  for (
    const [args, message] of [
      [
        ["--transport", "deno", "-i", "lo"],
        /^mcast listen: The Deno\.listenDatagram transport is IPv4 only \(use dgram or ffi for IPv6\)$/,
      ],
      [
        ["-i", LOOPBACK],
        /^mcast listen: Invalid interface "127\.0\.0\.1": an IPv4 address cannot serve an IPv6 group \(group ff15::44:21\)$/,
      ],
    ] as [string[], RegExp][]
  ) {
    const [deno, ...rest] = denoTask("listen", [
      "-g",
      "239.44.6.21",
      "-g",
      "ff15::44:21",
      "-p",
      "44161",
      ...args,
    ]);
    await using proc = new Subprocess(deno, rest, { cwd: ROOT });
    const done = await proc.wait(RUN_MS);
    assert.equal(done.code, 2, done.stderr.join("\n"));
    const line = done.stderr.find((l) => l.startsWith("mcast listen:"));
    assert.match(line ?? "", message, done.stderr.join("\n"));
  }
});
