import assert from "node:assert/strict";
import { openDgramTransport } from "../lib/transports/node_dgram.ts";
import { openFfiTransport } from "../lib/transports/ffi/ffi_transport.ts";
import type { ListenEvent } from "../lib/listener/listen.ts";
import type { Responder } from "../lib/plugin.ts";
import {
  Sender,
  type SendEvent,
  type SendReply,
  type SendRunOptions,
  type SendSummary,
} from "../lib/sender/sender.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { echo } from "../plugins/responders/echo.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";

// Loopback only; groups 239.24.x.x.

async function runOnce(
  sender: Sender,
  message: unknown,
  options: SendRunOptions,
): Promise<{ replies: SendReply[]; summary: SendSummary }> {
  const replies: SendReply[] = [];
  let summary: SendSummary | undefined;
  for await (const event of sender.send(message, options)) {
    if (event.event === "reply") replies.push(event);
    else summary = event;
  }
  assert.ok(summary, "a run ends with a summary");
  return { replies, summary };
}

Deno.test("a Sender answers run after run over one socket", async () => {
  const group = "239.24.0.1";
  const seenPorts = new Set<number>();
  const listener = await listenOnLoopback({
    group,
    responder: ack(),
    codec: text(),
    rateLimit: false,
    onEvent: (event: ListenEvent) => {
      if (event.event === "message") seenPorts.add(event.port);
    },
  });
  try {
    await using sender = await Sender.open({
      group,
      port: listener.port,
      interface: LOOPBACK,
      codec: text(),
    });
    assert.equal(sender.group, group);
    assert.equal(sender.port, listener.port);
    for (let round = 0; round < 5; round++) {
      const { replies, summary } = await runOnce(sender, `round ${round}`, {
        timeout: "300ms",
      });
      assert.equal(replies.length, 1, `round ${round}: one reply`);
      assert.equal(replies[0].payload, "ack");
      assert.equal(replies[0].from, LOOPBACK);
      assert.deepEqual(
        { sent: summary.sent, replies: summary.replies },
        { sent: 1, replies: 1 },
      );
    }
    assert.equal(listener.stats.received, 5);
    assert.equal(seenPorts.size, 1, "every request left from the same socket");
  } finally {
    await listener.close();
  }
});

Deno.test("a Sender runs one send at a time and refuses to send once closed", async () => {
  const sender = await Sender.open({
    group: "239.24.0.2",
    port: 40_999,
    interface: LOOPBACK,
  });
  const first = sender.send("one", { timeout: "10s" });
  const pending = first.next(); // starts the run: it sends, then waits
  await assert.rejects(
    () => sender.send("two").next(),
    (error: Error & { code?: string }) =>
      error.code === "ERR_SENDER_BUSY" && error.message.includes("239.24.0.2"),
  );
  // Closing ends the run with its summary; the send it cut short is not
  // counted.
  await sender.close();
  assert.deepEqual((await pending).value, {
    event: "summary",
    sent: 0,
    replies: 0,
    responders: 0,
    // node:dgram: the round trips are timed in the event loop.
    clock: "user",
    perResponder: [],
  });
  assert.equal((await first.next()).done, true);
  await assert.rejects(
    () => sender.send("three").next(),
    (error: Error & { code?: string }) =>
      error.code === "ERR_SENDER_CLOSED" && error.message.includes("40999"),
  );
  await sender.close(); // idempotent
});

Deno.test("a run closed mid-wait still ends with its summary", async () => {
  const sender = await Sender.open({
    group: "239.24.0.3",
    port: 40_998,
    interface: LOOPBACK,
  });
  const events: SendEvent[] = [];
  const started = performance.now();
  const running = (async () => {
    for await (const event of sender.send("hello", { timeout: "10s" })) {
      events.push(event);
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await sender.close();
  await running;
  assert.ok(performance.now() - started < 2000, "close cut the wait short");
  const [{ durationMs, ...summary }] = events as SendSummary[];
  assert.deepEqual([summary], [
    {
      event: "summary",
      sent: 1,
      replies: 0,
      responders: 0,
      clock: "user",
      perResponder: [],
    },
  ]);
  // From the send to the summary: the wait that close cut short.
  assert.ok(durationMs! >= 40 && durationMs! < 2000, String(durationMs));
});

/** A responder that answers "ok" after `delayMs(payload)` milliseconds. */
function okAfter(
  delayMs: (payload: string) => number,
): Responder<string, string> {
  return {
    name: "ok-after",
    respond: async (message) => {
      await new Promise((resolve) =>
        setTimeout(resolve, delayMs(message.payload))
      );
      return "ok";
    },
  };
}

/** A text listener on loopback and a text Sender to it; disposing closes both. */
async function listenerAndSender(
  group: string,
  responder: Responder<string, string>,
  key?: Uint8Array,
) {
  const options = { codec: text(), key };
  const listener = await listenOnLoopback({
    group,
    responder,
    rateLimit: false,
    ...options,
  });
  const sender = await Sender.open({
    group,
    port: listener.port,
    interface: LOOPBACK,
    ...options,
  }).catch(async (error) => {
    await listener.close();
    throw error;
  });
  return {
    sender,
    async [Symbol.asyncDispose]() {
      await sender.close();
      await listener.close();
    },
  };
}

Deno.test("with sequence numbers, a late reply to an earlier run is not counted in the next", async () => {
  // Answers "slow" after 300 ms and anything else at once.
  await using pair = await listenerAndSender(
    "239.24.0.4",
    okAfter((payload) => payload === "slow" ? 300 : 0),
  );
  const first = await runOnce(pair.sender, "slow", {
    sequence: true,
    timeout: "50ms",
  });
  assert.equal(first.replies.length, 0, "the slow reply misses run 1");
  assert.equal(first.summary.perResponder?.length, 0);
  const second = await runOnce(pair.sender, "fast", {
    sequence: true,
    timeout: "600ms",
  });
  // Run 2 sees its own answer and run 1's late one, told apart.
  const counted = second.replies.filter((reply) => reply.seq !== undefined);
  const stale = second.replies.filter((reply) => reply.seq === undefined);
  assert.equal(counted.length, 1);
  assert.equal(counted[0].seq, 0, "numbered from 0 within the run");
  assert.equal(stale.length, 1, "run 1's reply arrives during run 2");
  assert.equal(stale[0].payload, "ok");
  const [row] = second.summary.perResponder!;
  assert.equal(row.replies, 2, "both replies are its");
  assert.equal(row.unmatched, 1, "one of them answers no request of run 2");
  assert.equal(row.duplicates, 0, "the late reply is no duplicate");
  assert.equal(row.lossPercent, 0);
});

Deno.test("with a key, a reply to an earlier run's request does not verify", async () => {
  const key = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
  await using pair = await listenerAndSender(
    "239.24.0.5",
    okAfter(() => 300),
    key,
  );
  const first = await runOnce(pair.sender, "one", { timeout: "50ms" });
  assert.equal(first.replies.length, 0);
  // Run 1's reply (~300 ms) and run 2's own (~350 ms) both arrive in run 2.
  const second = await runOnce(pair.sender, "two", { timeout: "600ms" });
  assert.equal(second.replies.length, 2);
  const [late, own] = second.replies;
  assert.equal(late.verified, false, "answers none of run 2's requests");
  assert.ok(late.authError, "refused, with a reason");
  assert.equal(own.verified, true);
  assert.equal(own.payload, "ok");
  assert.equal(second.summary.verified, 1);
});

Deno.test("Sender.open checks every option before opening a socket", async () => {
  await assert.rejects(
    () => Sender.open({ group: "10.0.0.1" }),
    (error: Error & { code?: string }) =>
      error.code === "ERR_INVALID_GROUP" && error.message.includes("10.0.0.1"),
  );
  await assert.rejects(
    () => Sender.open({ ttl: 256 }),
    (error: Error & { code?: string }) =>
      error.code === "ERR_INVALID_TTL" && error.message.includes("256"),
  );
  await assert.rejects(
    () => Sender.open({ interface: "no-such-if0" }),
    (error: Error & { code?: string }) =>
      error.code === "ERR_INVALID_INTERFACE" &&
      error.message.includes("no-such-if0"),
  );
  await using sender = await Sender.open({ interface: LOOPBACK });
  await assert.rejects(
    () => sender.send("x", { rate: 5, interval: 10 }).next(),
    (error: Error & { code?: string }) => error.code === "ERR_INVALID_OPTION",
  );
  await assert.rejects(
    () => sender.send(42).next(),
    (error: Error & { code?: string }) =>
      error.code === "ERR_INVALID_OPTION" && error.message.includes("number"),
  );
  // A refused run leaves the sender usable.
  const events: SendEvent[] = [];
  for await (
    const event of sender.send("x", { timeout: 0 })
  ) events.push(event);
  assert.equal(events.length, 1);
});

Deno.test("the node:dgram transport rejects a send that close cut short", async () => {
  // Deno's node:dgram never calls such a send back: without the rejection
  // an awaiting sender would hang.
  const transport = await openDgramTransport({
    family: "IPv4",
    address: "0.0.0.0",
    port: 0,
    reuseAddress: false,
  });
  transport.setInterface(LOOPBACK);
  const sending = transport.send(new Uint8Array(3), 40_997, "239.24.0.6")
    .then(() => undefined, (error: Error & { code?: string }) => error);
  await transport.close();
  const error = await sending;
  assert.ok(error instanceof Error, "the send rejects");
  assert.equal(error.code, "ERR_SOCKET");
  assert.match(error.message, /239\.24\.0\.6:40997: the socket was closed/);
});

Deno.test("a Sender takes replies up to replyBufferBytes whole, yields a larger one cut, then takes large ones whole", async () => {
  const group = "239.24.0.20";
  const listener = await listenOnLoopback({
    group,
    responder: echo(),
    codec: text(),
    rateLimit: false,
  });
  try {
    await using sender = await Sender.open({
      group,
      port: listener.port,
      interface: LOOPBACK,
      codec: text(),
      replyBufferBytes: 1000,
      transport: openDgramTransport,
    });
    // Deno allocates the buffer for a socket's first datagram before the
    // transport can size it: a small exchange first.
    const small = await runOnce(sender, "hi", { timeout: "300ms" });
    assert.equal(small.replies[0]?.payload, "hi");
    const fits = await runOnce(sender, "y".repeat(999), { timeout: "300ms" });
    assert.equal(fits.replies.length, 1);
    assert.equal(fits.replies[0].truncated, undefined);
    assert.equal(fits.replies[0].payload, "y".repeat(999));
    const message = "x".repeat(3000);
    const first = await runOnce(sender, message, { timeout: "300ms" });
    assert.equal(first.replies.length, 1);
    const [cut] = first.replies;
    assert.equal(cut.truncated, true);
    assert.equal(cut.size, 1000);
    assert.match(
      cut.decodeError ?? "",
      /cut at 1000 bytes: larger than the reply buffer \(1000 bytes\)/,
    );
    assert.ok(cut.payload instanceof Uint8Array, "a cut reply stays raw bytes");
    assert.equal(first.summary.replies, 1);

    const second = await runOnce(sender, message, { timeout: "300ms" });
    assert.equal(second.replies.length, 1);
    assert.equal(second.replies[0].truncated, undefined);
    assert.equal(second.replies[0].size, 3000);
    assert.equal(second.replies[0].payload, message);
  } finally {
    await listener.close();
  }
});

Deno.test("Sender.open refuses a bad replyBufferBytes, naming it", async () => {
  for (const bad of [0, -1, 1.5, 65_537, Number.NaN]) {
    await assert.rejects(
      () => Sender.open({ interface: LOOPBACK, replyBufferBytes: bad }),
      (error: Error & { code?: string }) =>
        error.code === "ERR_INVALID_OPTION" &&
        error.message.includes(`reply buffer bytes ${bad}`),
      `replyBufferBytes ${bad}`,
    );
  }
});

Deno.test("a sender waiting on its own thread lets a listener in the same process answer each round at once", async () => {
  // The listener reads through Deno's runtime (node:dgram): while the
  // sender holds the thread, the runtime must still poll that socket. It
  // once got each request ~930 ms late, so rounds ended on the 1 s
  // interval, not on their replies.
  const listener = await listenOnLoopback({
    group: "239.24.0.40",
    responder: ack(),
    codec: text(),
    rateLimit: false,
  });
  try {
    await using sender = await Sender.open({
      group: "239.24.0.40",
      port: listener.port,
      interface: LOOPBACK,
      codec: text(),
      transport: openFfiTransport,
      blockingWait: true,
    });
    const { replies, summary } = await runOnce(sender, "ping", {
      count: 20,
      sequence: true,
      expect: 1,
      interval: "1s",
      timeout: "1s",
    });
    assert.equal(replies.length, 20);
    assert.equal(summary.expect?.met, true);
    assert.ok(
      summary.durationMs! < 10_000,
      `20 rounds took ${summary.durationMs} ms: they waited for the interval`,
    );
  } finally {
    await listener.close();
  }
});

Deno.test("onReply is handed every reply as it comes, and the run yields only its summary", async (t) => {
  const transports = {
    "node:dgram": openDgramTransport,
    "ffi, waiting on this thread": openFfiTransport,
  };
  let group = 20;
  for (const [name, transport] of Object.entries(transports)) {
    await t.step(name, async () => {
      const listener = await listenOnLoopback({
        group: `239.24.0.${group}`,
        responder: ack(),
        codec: text(),
        rateLimit: false,
      });
      try {
        await using sender = await Sender.open({
          group: `239.24.0.${group++}`,
          port: listener.port,
          interface: LOOPBACK,
          codec: text(),
          transport,
          blockingWait: transport === openFfiTransport,
        });
        const handed: SendReply[] = [];
        const events: SendEvent[] = [];
        for await (
          const event of sender.send("ping", {
            count: 50,
            sequence: true,
            expect: 1,
            interval: "1s",
            timeout: "1s",
            onReply: (reply) => handed.push(reply),
          })
        ) events.push(event);
        assert.deepEqual(events.map((event) => event.event), ["summary"]);
        const summary = events[0] as SendSummary;
        assert.equal(summary.sent, 50);
        assert.equal(summary.replies, 50);
        assert.deepEqual(
          handed.map((reply) => reply.seq),
          Array.from({ length: 50 }, (_, i) => i),
        );
        assert.ok(handed.every((reply) => reply.payload === "ack"));
        assert.equal(summary.perResponder?.[0].replies, 50);
      } finally {
        await listener.close();
      }
    });
  }
});

Deno.test("a throw in onReply ends the run with that error, and the sender runs again", async () => {
  await using pair = await listenerAndSender("239.24.0.30", ack());
  const { sender } = pair;
  const broken = new Error("the caller's own failure");
  let handed = 0;
  await assert.rejects(async () => {
    for await (
      const _ of sender.send("ping", {
        count: 10,
        sequence: true,
        expect: 1,
        timeout: "1s",
        onReply: () => {
          if (++handed === 3) throw broken;
        },
      })
    ) {
      // Only a summary would come, and it does not.
    }
  }, (error) => error === broken);
  assert.equal(handed, 3);
  // Numbered on from the broken run: a late answer to it is no answer here.
  const { replies, summary } = await runOnce(sender, "again", {
    timeout: "500ms",
    sequence: true,
    expect: 1,
  });
  assert.deepEqual(
    replies.filter((reply) => reply.seq !== undefined).map((r) => r.seq),
    [0],
  );
  assert.equal(summary.expect?.met, true);
});
