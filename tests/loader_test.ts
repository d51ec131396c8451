import assert from "node:assert/strict";
import { PluginError } from "../lib/errors.ts";
import {
  loadCodec,
  loadResponder,
  resolvePluginSpecifier,
} from "../lib/loader.ts";
import { newListenerStats } from "../lib/plugin.ts";
import { builtins } from "../plugins/builtins.ts";

const root = new URL("..", import.meta.url);

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  ...naming: string[]
) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PluginError, String(error));
    assert.equal(error.code, code);
    for (const text of naming) {
      assert.ok(
        error.message.includes(text),
        `"${error.message}" should name ${text}`,
      );
    }
    return true;
  });
}

Deno.test("resolvePluginSpecifier: names, paths against cwd, URLs", () => {
  const names = ["ack", "echo"];
  assert.deepEqual(resolvePluginSpecifier("echo", names, "/x"), {
    builtin: "echo",
  });
  const relative = resolvePluginSpecifier("./p/mine.ts", names, "/home/me");
  assert.equal(
    "url" in relative && relative.url.href,
    "file:///home/me/p/mine.ts",
  );
  const bare = resolvePluginSpecifier("mine.ts", names, "/home/me");
  assert.equal("url" in bare && bare.url.href, "file:///home/me/mine.ts");
  const absolute = resolvePluginSpecifier("/opt/p.ts", names, "/home/me");
  assert.equal("url" in absolute && absolute.url.href, "file:///opt/p.ts");
  const url = resolvePluginSpecifier(
    "https://example.org/p.ts",
    names,
    "/home/me",
  );
  assert.equal("url" in url && url.url.href, "https://example.org/p.ts");
  assert.throws(
    () => resolvePluginSpecifier("ech", names, "/x"),
    (error: unknown) =>
      error instanceof PluginError && error.code === "ERR_PLUGIN_NOT_FOUND" &&
      error.message.includes('"ech"') && error.message.includes("ack, echo"),
  );
});

Deno.test("loader: every built-in loads by name, with options", async () => {
  for (const name of Object.keys(builtins.responders)) {
    const responder = await loadResponder(name, {
      builtins: builtins.responders,
    });
    assert.equal(responder.name, name);
  }
  for (const name of Object.keys(builtins.codecs)) {
    const codec = await loadCodec(name, { builtins: builtins.codecs });
    assert.equal(codec.name, name);
  }
  const pong = await loadResponder("ack", {
    builtins: builtins.responders,
    options: { text: "pong" },
  });
  assert.equal(
    await pong.respond({
      payload: "",
      bytes: new Uint8Array(),
      from: { address: "", port: 0, family: "IPv4" },
    }, {
      group: "239.0.0.1",
      port: 1,
      interface: undefined,
      startedAt: 0,
      stats: newListenerStats(),
    }),
    "pong",
  );
  await rejectsWith(
    loadResponder("ack", {
      builtins: builtins.responders,
      options: { txt: "x" },
    }),
    "ERR_PLUGIN_HOOK",
    '"ack"',
    '"txt"',
    "text",
  );
});

Deno.test("loader: a file plugin loads by path relative to cwd", async () => {
  const responder = await loadResponder("./examples/uppercase.ts", {
    cwd: root.pathname,
    options: { prefix: "> " },
  });
  assert.equal(responder.name, "uppercase");
});

Deno.test("loader: bad modules get messages naming the plugin and the problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (name: string, source: string) =>
      Deno.writeTextFile(`${dir}/${name}`, source);
    await write("nodefault.ts", "export const x = 1;");
    await write("noname.ts", "export default { respond() {} };");
    await write("norespond.ts", 'export default { name: "half" };');
    await write(
      "badhook.ts",
      'export default { name: "h", respond() {}, setup: 3 };',
    );
    await write("number.ts", "export default 42;");
    await write(
      "throws.ts",
      'export default () => { throw new Error("factory says no"); };',
    );
    await write("evalerror.ts", 'throw new Error("module blew up");');
    await write(
      "instance.ts",
      'export default { name: "fixed", respond: () => "x" };',
    );
    await write(
      "asyncfactory.ts",
      'export default async (o) => ({ name: "async-" + (o.n ?? "none"), respond: () => "x" });',
    );
    await write(
      "codecish.ts",
      'export default { name: "c", encode: (v) => v };',
    );

    const load = (file: string, options?: Record<string, string>) =>
      loadResponder(`./${file}`, { cwd: dir, options });
    await rejectsWith(
      load("nodefault.ts"),
      "ERR_PLUGIN_SHAPE",
      "./nodefault.ts",
      "no default export",
    );
    await rejectsWith(load("noname.ts"), "ERR_PLUGIN_SHAPE", "no name");
    await rejectsWith(
      load("norespond.ts"),
      "ERR_PLUGIN_SHAPE",
      "./norespond.ts",
      "respond()",
    );
    await rejectsWith(
      load("badhook.ts"),
      "ERR_PLUGIN_SHAPE",
      "setup that is not a function",
    );
    await rejectsWith(load("number.ts"), "ERR_PLUGIN_SHAPE", "is number");
    await rejectsWith(load("throws.ts"), "ERR_PLUGIN_HOOK", "factory says no");
    await rejectsWith(
      load("evalerror.ts"),
      "ERR_PLUGIN_LOAD",
      "module blew up",
    );
    await rejectsWith(
      load("missing.ts"),
      "ERR_PLUGIN_LOAD",
      "./missing.ts",
      `${dir}/missing.ts`,
    );
    await rejectsWith(
      load("instance.ts", { a: "1" }),
      "ERR_PLUGIN_SHAPE",
      "takes no options",
    );
    assert.equal((await load("instance.ts")).name, "fixed");
    assert.equal((await load("asyncfactory.ts", { n: "7" })).name, "async-7");
    await rejectsWith(
      loadCodec("./codecish.ts", { cwd: dir }),
      "ERR_PLUGIN_SHAPE",
      "not a codec",
      "decode()",
    );
    await rejectsWith(
      loadResponder("nosuch", { builtins: builtins.responders }),
      "ERR_PLUGIN_NOT_FOUND",
      '"nosuch"',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
