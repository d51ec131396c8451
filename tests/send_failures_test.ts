// Issue 22, item 3: a sender that keeps going. A send the OS refuses after
// the first is counted by errno and the run goes on; only a failure of the
// first send, or every send failing for a whole second, ends the run.
// Here the refusals come from a transport that wraps a real socket on
// 127.0.0.1 and refuses the requests a test picks, as the kernel does
// (a SocketError with the errno's sentence; a SendBatchError for a batch);
// the kernel's own refusals (nftables in a namespace) are in
// tests/netns/truth_test.ts. Loopback only: groups 239.22.1.x.
import assert from "node:assert/strict";
import { SendBatchError, SocketError } from "../lib/errors.ts";
import { explainSocketFailure } from "../lib/transports/socket_failure.ts";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import type { TransportFactory } from "../lib/transports/transport.ts";
import { Sender, type SendSummary } from "../lib/sender/sender.ts";
import { FrameKind, frameValue } from "../lib/wire/frame.ts";
import { ack } from "../plugins/responders/ack.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import { reportPage, RunRecorder } from "../cli/report_html.ts";
import type { ResponderRow } from "../cli/responder_table.ts";

/** The error the kernel's EPERM makes for a send to `port`. */
function refusal(port: number, bytes: number): SocketError {
  const message = explainSocketFailure({
    operation: "send",
    family: "IPv4",
    address: "239.22.1.0",
    port,
    bytes,
  }, "EPERM")!;
  return new SocketError(message, { errno: "EPERM" });
}

/**
 * A real socket that refuses the requests whose sequence number `refuse`
 * picks (counted from 0 in the run): they never leave.
 */
function refusing(
  open: TransportFactory,
  refuse: (seq: number) => boolean,
): TransportFactory {
  return async (options) => {
    const transport = await open(options);
    const seqOf = (datagram: Uint8Array) =>
      frameValue(datagram, FrameKind.request) ?? -1;
    const send = transport.send.bind(transport);
    transport.send = (data, port, address) =>
      refuse(seqOf(data))
        ? Promise.reject(refusal(port, data.byteLength))
        : send(data, port, address);
    // ffi sends a ping-pong's request on the spot (sendNow): refused too.
    const sendNow = transport.sendNow?.bind(transport);
    if (sendNow !== undefined) {
      transport.sendNow = (data, port, address) => {
        if (refuse(seqOf(data))) throw refusal(port, data.byteLength);
        return sendNow(data, port, address);
      };
    }
    const sendBatch = transport.sendBatch?.bind(transport);
    if (sendBatch !== undefined) {
      transport.sendBatch = async (datagrams, port, address) => {
        const left = datagrams.filter((d) => !refuse(seqOf(d)));
        await sendBatch(left, port, address);
        const failed = datagrams.length - left.length;
        if (failed === 0) return;
        throw new SendBatchError(left.length, { EPERM: failed }, [
          refusal(port, datagrams[0].byteLength),
        ]);
      };
    }
    return transport;
  };
}

/** Runs `options` against an ack listener; returns the summary, the replies and the errors told. */
async function run(
  group: string,
  transport: TransportFactory,
  options: Parameters<Sender["send"]>[1],
) {
  const listener = await listenOnLoopback({
    group,
    responder: ack(),
    rateLimit: false,
    // Fast enough for a burst at full speed.
    transport: ffiTransportAvailable() ? openFfiTransport : undefined,
  });
  try {
    await using sender = await Sender.open({
      group,
      port: listener.port,
      interface: LOOPBACK,
      transport,
    });
    const told: Record<string, number>[] = [];
    let replies = 0;
    let summary: SendSummary | undefined;
    for await (
      const event of sender.send("x", {
        sequence: true,
        timeout: "300ms",
        ...options,
        onSendError: (error, counts) => {
          assert.equal(error.errno, "EPERM");
          assert.match(error.message, /a firewall rule on this host refused/);
          told.push({ ...counts });
        },
      })
    ) {
      if (event.event === "reply") replies++;
      else summary = event;
    }
    assert.ok(summary);
    return { summary, replies, told };
  } finally {
    await listener.close();
  }
}

const transports: [string, TransportFactory][] = [
  ["dgram", openDgramTransport],
  ...(ffiTransportAvailable()
    ? [["ffi", openFfiTransport] as [string, TransportFactory]]
    : []),
];

for (const [name, open] of transports) {
  Deno.test(`send failures (${name}): a refused send after the first is counted and the run goes on`, async () => {
    const { summary, replies, told } = await run(
      "239.22.1.1",
      refusing(open, (seq) => seq % 10 === 9),
      { count: 50, interval: "1ms" },
    );
    assert.equal(summary.sent, 45, "the requests that left");
    assert.deepEqual(summary.sendErrors, { EPERM: 5 });
    assert.equal(replies, 45);
    const [row] = summary.perResponder!;
    assert.equal(row.lossPercent, 0, "loss counts the requests that left");
    assert.deepEqual(
      told.at(-1),
      { EPERM: 5 },
      "told of each, with the counts",
    );
    assert.equal(told.length, 5);
  });

  Deno.test(`send failures (${name}): a failed first send ends the run with its sentence`, async () => {
    await assert.rejects(
      () =>
        run("239.22.1.2", refusing(open, (seq) => seq === 0), {
          count: 5,
          interval: "1ms",
        }),
      (error: unknown) =>
        error instanceof SocketError && error.errno === "EPERM" &&
        /a firewall rule on this host refused it/.test(error.message),
    );
  });

  Deno.test(`send failures (${name}): every send failing for a second ends the run`, async () => {
    const started = performance.now();
    await assert.rejects(
      () =>
        run("239.22.1.3", refusing(open, (seq) => seq >= 2), {
          count: 100,
          interval: "50ms",
        }),
      (error: unknown) =>
        error instanceof SocketError && error.errno === "EPERM" &&
        /a firewall rule .*; every send failed for 1 s, so the run stopped$/
          .test(error.message),
    );
    const took = performance.now() - started;
    // 2 left, then ~1 s of refusals: far from the 5 s that 100 would take.
    assert.ok(took < 4000, `stopped after ${took} ms`);
  });
}

Deno.test({
  name:
    "send failures (ffi, batches): refused datagrams of a burst are counted, the rest leave",
  ignore: !ffiTransportAvailable(),
  fn: async () => {
    const { summary, replies } = await run(
      "239.22.1.4",
      refusing(openFfiTransport, (seq) => seq % 10 === 3),
      { count: 2000, interval: 0 },
    );
    assert.equal(summary.sent, 1800);
    assert.deepEqual(summary.sendErrors, { EPERM: 200 });
    assert.equal(replies, 1800);
    assert.equal(summary.perResponder![0].lossPercent, 0);
  },
});

Deno.test({
  name:
    "send failures (ffi, batches): a first burst of which nothing left ends the run",
  ignore: !ffiTransportAvailable(),
  fn: async () => {
    await assert.rejects(
      () =>
        run("239.22.1.5", refusing(openFfiTransport, () => true), {
          count: 1000,
          interval: 0,
        }),
      (error: unknown) =>
        error instanceof SendBatchError && error.sent === 0 &&
        error.errno === "EPERM",
    );
  },
});

Deno.test("send failures: an error that is no refusal of the OS is thrown as it is", async () => {
  const broken: TransportFactory = async (options) => {
    const transport = await openDgramTransport(options);
    let sends = 0;
    const send = transport.send.bind(transport);
    transport.send = (data, port, address) =>
      ++sends === 2
        ? Promise.reject(new TypeError("a bug in a custom transport"))
        : send(data, port, address);
    return transport;
  };
  await assert.rejects(
    () => run("239.22.1.6", broken, { count: 3, interval: "1ms" }),
    TypeError,
  );
});

Deno.test("send failures: the HTML report says how many requests did not leave, and loss counts those that did", () => {
  const recorder = new RunRecorder();
  recorder.sent(10); // 8 left, 2 refused: numbered 0-9
  for (const seq of [0, 1, 2, 3, 5, 6, 7]) {
    recorder.reply({
      event: "reply",
      from: "10.77.1.12",
      port: 22000,
      rttMs: 1,
      clock: "user",
      size: 3,
      payload: "ack",
      seq,
    });
  }
  const row = {
    from: "10.77.1.12",
    port: 22000,
    replies: 7,
    lossPercent: 12.5,
    duplicates: 0,
    reordered: 0,
    rttMs: { min: 1, avg: 1, p50: 1, p99: 1, max: 1 },
  };
  const page = reportPage([{
    group: "239.22.1.9",
    port: 22000,
    sent: 8,
    sendErrors: { EPERM: 2 },
    rows: [row as unknown as ResponderRow],
    recorder,
  }], "mcast send --seq -c 10");
  assert.match(
    page,
    /239\.22\.1\.9 port 22000: 8 requests, 1 responder; 2 did not leave this host \(EPERM 2: the OS refused to send them; loss counts the 8 that left\)/,
  );
  assert.match(
    page,
    /7 of 8 requests answered, 1 lost \(red ticks under the axis\)\. 2 more did not leave this host \(ticked too\)\./,
  );
});
