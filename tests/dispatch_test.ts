import assert from "node:assert/strict";
import { dispatch, type Outcome, type Pipeline } from "../lib/dispatch.ts";
import { PluginError } from "../lib/errors.ts";
import {
  newListenerStats,
  type Responder,
  type ResponderContext,
} from "../lib/plugin.ts";
import type { Peer } from "../lib/transports/transport.ts";
import { json } from "../plugins/codecs/json.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { echo } from "../plugins/responders/echo.ts";
import { silent } from "../plugins/responders/silent.ts";
import { status } from "../plugins/responders/status.ts";

const from: Peer = { address: "127.0.0.1", port: 40000, family: "IPv4" };
const utf8 = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);

function context(): ResponderContext {
  const stats = newListenerStats();
  stats.received = 1;
  return {
    group: "239.1.2.3",
    port: 10000,
    interface: undefined,
    startedAt: Date.now() - 2000,
    stats,
  };
}

function pipeline(
  responder: Responder,
  extra: Partial<Pipeline> = {},
): Pipeline {
  return { responder, codec: text(), context: context(), ...extra };
}

function sync(outcome: Outcome | Promise<Outcome>): Outcome {
  assert.ok(
    !(outcome instanceof Promise),
    "a synchronous responder must not cost a promise",
  );
  return outcome;
}

Deno.test("dispatch: built-in responders answer synchronously", () => {
  const acked = sync(dispatch(utf8("hi"), from, pipeline(ack())));
  assert.equal(acked.kind, "reply");
  assert.equal(read((acked as { reply: Uint8Array }).reply), "ack");
  assert.equal(acked.kind === "reply" && acked.payload, "hi");

  const request = utf8("echo me ✓");
  const echoed = sync(dispatch(request, from, pipeline(echo())));
  assert.equal(echoed.kind === "reply" && echoed.reply, request);

  const quiet = sync(dispatch(utf8("x"), from, pipeline(silent())));
  assert.equal(quiet.kind, "unanswered");
  assert.equal(quiet.payload, "x");
});

Deno.test("dispatch: status replies with a JSON document about the listener", () => {
  const responder = status({ name: "unit" });
  const outcome = sync(dispatch(utf8("?"), from, pipeline(responder)));
  assert.equal(outcome.kind, "reply");
  const document = JSON.parse(read((outcome as { reply: Uint8Array }).reply));
  assert.equal(document.name, "unit");
  assert.equal(document.group, "239.1.2.3");
  assert.equal(document.port, 10000);
  assert.equal(document.messages, 1);
  assert.ok(
    document.uptimeSeconds >= 2 && document.uptimeSeconds < 10,
    String(document.uptimeSeconds),
  );
  assert.match(document.version, /^\d+\.\d+\.\d+/);
  assert.ok(!Number.isNaN(Date.parse(document.time)));
});

Deno.test("dispatch: undecodable payloads become decode errors", () => {
  const outcome = sync(
    dispatch(new Uint8Array([0xff, 0xfe]), from, pipeline(ack())),
  );
  assert.equal(outcome.kind, "decode-error");
  assert.ok(
    outcome.kind === "decode-error" && outcome.error instanceof SyntaxError,
  );
  const bad = sync(
    dispatch(utf8("{oops"), from, pipeline(ack(), { codec: json() })),
  );
  assert.equal(bad.kind, "decode-error");
});

Deno.test("dispatch: a throwing responder is a plugin error naming it and the hook", () => {
  const responder: Responder = {
    name: "boom",
    respond() {
      throw new Error("kaput");
    },
  };
  const outcome = sync(dispatch(utf8("x"), from, pipeline(responder)));
  assert.equal(outcome.kind, "plugin-error");
  const error = (outcome as { error: PluginError }).error;
  assert.ok(error instanceof PluginError);
  assert.equal(error.code, "ERR_PLUGIN_HOOK");
  assert.equal(error.plugin, "boom");
  assert.equal(error.hook, "respond");
  assert.match(error.message, /"boom" failed in respond\(\): kaput/);
});

Deno.test("dispatch: a reply of the wrong type is a plugin error, not a crash", () => {
  const returns = (value: unknown): Responder => ({
    name: "odd",
    respond: () => value,
  });
  const encodeFail = sync(dispatch(utf8("x"), from, pipeline(returns(42))));
  assert.equal(encodeFail.kind, "plugin-error");
  assert.match(
    (encodeFail as { error: Error }).error.message,
    /Codec "text" cannot encode the reply of "odd"/,
  );
  const noCodec = sync(
    dispatch(
      utf8("x"),
      from,
      pipeline(returns({ a: 1 }), { codec: undefined }),
    ),
  );
  assert.equal(noCodec.kind, "plugin-error");
  assert.match(
    (noCodec as { error: Error }).error.message,
    /returned an object/,
  );
  const badCodec = sync(dispatch(
    utf8("x"),
    from,
    pipeline(ack(), {
      codec: {
        name: "liar",
        encode: () => "nope" as unknown as Uint8Array,
        decode: (b) => b,
      },
    }),
  ));
  assert.equal(badCodec.kind, "plugin-error");
  assert.match(
    (badCodec as { error: Error }).error.message,
    /not a Uint8Array/,
  );
});

Deno.test("dispatch: without a codec payloads are bytes and strings encode as UTF-8", () => {
  let seen: unknown;
  const responder: Responder = {
    name: "raw",
    respond: (message) => {
      seen = message.payload;
      return "ok";
    },
  };
  const request = new Uint8Array([1, 2, 3]);
  const outcome = sync(
    dispatch(request, from, pipeline(responder, { codec: undefined })),
  );
  assert.equal(seen, request);
  assert.equal(outcome.kind === "reply" && read(outcome.reply), "ok");
});

Deno.test("dispatch: asynchronous responders resolve, reject, or time out", async () => {
  const later: Responder = {
    name: "later",
    respond: (m) => Promise.resolve(`got ${m.payload}`),
  };
  const ok = await dispatch(utf8("a"), from, pipeline(later));
  assert.equal(ok.kind === "reply" && read(ok.reply), "got a");

  const rejects: Responder = {
    name: "rejects",
    respond: () => Promise.reject(new Error("no")),
  };
  const failed = await dispatch(utf8("a"), from, pipeline(rejects));
  assert.equal(failed.kind, "plugin-error");

  const never: Responder = {
    name: "never",
    respond: () => new Promise(() => {}),
  };
  const started = performance.now();
  const hung = await dispatch(
    utf8("a"),
    from,
    pipeline(never, { respondTimeoutMs: 50 }),
  );
  assert.equal(hung.kind, "plugin-error");
  assert.match(
    (hung as { error: Error }).error.message,
    /"never" did not answer within 50 ms/,
  );
  assert.ok(performance.now() - started < 1000);
});
