/**
 * Decoding on first read: with a codec that has `check`, a request is
 * checked on arrival and decoded only when something reads its payload;
 * what a responder reads, and what becomes of bytes that do not decode,
 * stay as they were with eager decoding. In memory through the
 * dispatcher, then through a listener on loopback sockets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dispatch, type Outcome, type Pipeline } from "../lib/dispatch.ts";
import type { ListenEvent } from "../lib/listener/listen.ts";
import { type Codec, newListenerStats, type Responder } from "../lib/plugin.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/transports/ffi/ffi_transport.ts";
import type { Peer } from "../lib/transports/transport.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { groupSequence } from "./support/group_sequence.ts";
import { listenOnLoopback } from "./support/loopback.ts";
import { RawSender } from "./support/raw_sender.ts";
import { until } from "./support/until.ts";

const from: Peer = { address: "127.0.0.1", port: 40000, family: "IPv4" };
const utf8 = (s: string) => new TextEncoder().encode(s);
// Every socket here is pinned to the loopback interface; each test has its own group.
const newGroup = groupSequence("239.61");

/** The text codec, counting its decodes; without `check` when asked. */
function counting(withCheck: boolean): Codec<string> & { decodes: number } {
  const inner = text();
  const codec = {
    ...inner,
    name: "counting",
    decodes: 0,
    decode(bytes: Uint8Array): string {
      codec.decodes++;
      return inner.decode(bytes);
    },
  };
  if (!withCheck) delete (codec as Partial<typeof codec>).check;
  return codec;
}

/** Answers with what it read. */
const reader: Responder<string, string> = {
  name: "reader",
  respond: (message) => `read ${message.payload}`,
};

function pipeline(responder: Responder, codec: Codec): Pipeline {
  return {
    responder,
    codec,
    context: {
      group: "239.61.0.1",
      port: 1,
      interface: undefined,
      startedAt: 0,
      stats: newListenerStats(),
    },
  };
}

function sync(outcome: Outcome | Promise<Outcome>): Outcome {
  assert.ok(!(outcome instanceof Promise));
  return outcome;
}

Deno.test("lazy decode: a responder that never reads the payload costs no decode", () => {
  const codec = counting(true);
  for (const request of ["ping", "héllo ✓"]) {
    const outcome = sync(dispatch(utf8(request), from, pipeline(ack(), codec)));
    assert.equal(outcome.kind, "reply");
  }
  assert.equal(codec.decodes, 0);
  // A codec without check decodes every request on arrival, as before.
  const eager = counting(false);
  sync(dispatch(utf8("ping"), from, pipeline(ack(), eager)));
  assert.equal(eager.decodes, 1);
});

Deno.test("lazy decode: decodeOnArrival decodes every request at once, with no check first", () => {
  const codec = counting(true);
  let checks = 0;
  const check = codec.check!;
  codec.check = (bytes) => {
    checks++;
    check(bytes);
  };
  const outcome = sync(
    dispatch(utf8("ping"), from, {
      ...pipeline(ack(), codec),
      decodeOnArrival: true,
    }),
  );
  assert.equal(outcome.kind, "reply");
  assert.equal(codec.decodes, 1);
  assert.equal(checks, 0);
  const bad = sync(
    dispatch(new Uint8Array([0xff]), from, {
      ...pipeline(ack(), codec),
      decodeOnArrival: true,
    }),
  );
  assert.equal(bad.kind, "decode-error");
});

Deno.test("lazy decode: a responder that reads the payload gets it decoded, once", () => {
  const codec = counting(true);
  const twice: Responder<string, string> = {
    name: "twice",
    respond: (message) => `${message.payload}/${message.payload}`,
  };
  const outcome = sync(
    dispatch(utf8("héllo"), from, pipeline(twice as Responder, codec)),
  );
  assert.equal(
    outcome.kind === "reply" && new TextDecoder().decode(outcome.reply),
    "héllo/héllo",
  );
  // The outcome's payload is the same decoded value, not decoded again.
  assert.equal(outcome.kind === "reply" && outcome.payload, "héllo");
  assert.equal(codec.decodes, 1);
});

Deno.test("lazy decode: bytes that are not UTF-8 are a decode error, never answered, even for ack", () => {
  const codec = counting(true);
  for (const bad of [[0xff, 0xfe], [0x61, 0xc3], [0xed, 0xa0, 0x80]]) {
    const outcome = sync(
      dispatch(new Uint8Array(bad), from, pipeline(ack(), codec)),
    );
    assert.equal(outcome.kind, "decode-error", String(bad));
    assert.ok(
      outcome.kind === "decode-error" && outcome.error instanceof SyntaxError,
    );
  }
});

Deno.test("lazy decode: a codec whose check passes but whose decode throws is a decode error for a responder that reads", () => {
  const liar: Codec<string> = {
    name: "liar",
    encode: (value) => utf8(value),
    decode: () => {
      throw new SyntaxError("cannot read this after all");
    },
    check: () => {},
  };
  const read = sync(dispatch(utf8("x"), from, pipeline(reader, liar)));
  assert.equal(read.kind, "decode-error");
  assert.match(
    read.kind === "decode-error" ? read.error.message : "",
    /cannot read this after all/,
  );
  // Catching the decode's throw does not make the request answerable.
  const catcher: Responder = {
    name: "catcher",
    respond(message) {
      try {
        return String(message.payload);
      } catch {
        return "caught";
      }
    },
  };
  assert.equal(
    sync(dispatch(utf8("x"), from, pipeline(catcher, liar))).kind,
    "decode-error",
  );
  // Not read, not decoded: the codec's check is what counts.
  assert.equal(
    sync(dispatch(utf8("x"), from, pipeline(ack(), liar))).kind,
    "reply",
  );
});

Deno.test({
  name:
    "lazy decode: a listener on loopback answers ack without decoding, reports decoded payloads, and counts bad UTF-8",
  ignore: !ffiTransportAvailable(),
  async fn() {
    const codec = counting(true);
    const events: ListenEvent[] = [];
    const quietGroup = newGroup();
    await using quiet = await listenOnLoopback({
      group: quietGroup,
      responder: ack(),
      codec,
      transport: openFfiTransport,
      rateLimit: false,
    });
    const loudGroup = newGroup();
    await using loud = await listenOnLoopback({
      group: loudGroup,
      responder: ack(),
      codec: text(),
      transport: openFfiTransport,
      rateLimit: false,
      onEvent: (event) => events.push(event),
    });
    await using sender = await RawSender.open();
    const replies: string[] = [];
    sender.onMessage((reply) => replies.push(new TextDecoder().decode(reply)));
    const requests = [utf8("ping"), utf8("héllo"), new Uint8Array([0xff])];
    for (const listener of [quiet, loud]) {
      for (const request of requests) {
        await sender.send(request, listener.port, listener.group);
      }
    }
    await until(
      () =>
        quiet.stats.received === 3 && loud.stats.received === 3 &&
        replies.length === 4,
      2000,
    );
    for (const listener of [quiet, loud]) {
      assert.equal(listener.stats.replied, 2);
      assert.equal(listener.stats.decodeErrors, 1);
    }
    assert.deepEqual(replies, ["ack", "ack", "ack", "ack"]);
    assert.equal(codec.decodes, 0);
    assert.deepEqual(
      events.filter((event) => event.event === "message").map((event) =>
        event.event === "message" && event.payload
      ),
      ["ping", "héllo"],
    );
    assert.deepEqual(
      events.filter((event) => event.event === "error").map((event) =>
        event.event === "error" && event.kind
      ),
      ["decode"],
    );
  },
});
