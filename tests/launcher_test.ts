// The least-privilege launcher behind `deno task send|listen`: what it
// grants for which arguments, and that a plugin really runs without more.
// Loopback only: group 239.25.0.1, port 25001.
import assert from "node:assert/strict";
import { permissionsFor } from "../cli/launch.ts";
import { UsageError } from "../cli/usage_error.ts";
import { ROOT } from "./support/cli_process.ts";
import { collectReplies } from "./support/loopback.ts";
import { Subprocess } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";
import { text } from "../plugins/codecs/text.ts";

const FFI_HERE = Deno.build.os === "linux" &&
  (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64");

Deno.test("launcher: built-ins need the network and interface names, and a listener gets FFI", () => {
  // Only mcast's own code runs: the listener may use the FFI receive path.
  assert.deepEqual(
    permissionsFor("listen", ["--plugin", "echo", "--codec", "json"], "/w"),
    [
      "--unstable-net",
      "--allow-net",
      "--allow-sys=networkInterfaces,hostname",
      ...(FFI_HERE ? ["--allow-ffi"] : []),
    ],
  );
  // A key file is data, not code: FFI still.
  assert.deepEqual(
    permissionsFor("listen", ["--key-file=/k.key"], "/w"),
    [
      "--unstable-net",
      "--allow-net",
      "--allow-sys=networkInterfaces,hostname",
      "--allow-read=/k.key",
      ...(FFI_HERE ? ["--allow-ffi"] : []),
    ],
  );
  // Another transport asked for: no FFI.
  for (const transport of ["deno", "dgram"]) {
    assert.deepEqual(
      permissionsFor("listen", ["--transport", transport], "/w"),
      [
        "--unstable-net",
        "--allow-net",
        "--allow-sys=networkInterfaces,hostname",
      ],
    );
  }
  assert.deepEqual(
    permissionsFor(
      "send",
      ["-g", "239.1.1.1", "--transport=dgram", "hi"],
      "/w",
    ),
    ["--allow-net", "--allow-sys=networkInterfaces"],
  );
});

Deno.test("launcher: send gets FFI by default when its codec is a built-in (a receive buffer for many replies), never with a codec file or URL", () => {
  for (const codec of [[], ["--codec", "json"], ["--codec=binary"]]) {
    assert.deepEqual(
      permissionsFor("send", ["-g", "239.1.1.1", ...codec, "hello"], "/w"),
      [
        "--allow-net",
        "--allow-sys=networkInterfaces",
        ...(FFI_HERE ? ["--allow-ffi"] : []),
      ],
      codec.join(" "),
    );
  }
  assert.deepEqual(
    permissionsFor(
      "send",
      ["--codec", "./c.ts", "--recv-buffer", "32M"],
      "/w",
      new URL("file:///opt/mcast/"),
    ),
    [
      "--allow-net",
      "--allow-sys=networkInterfaces",
      "--allow-read=/opt/mcast/mod.ts,/opt/mcast/plugin.ts,/opt/mcast/transport.ts,/opt/mcast/lib,/opt/mcast/plugins,/w/c.ts",
    ],
  );
  assert.deepEqual(
    permissionsFor("send", ["--codec", "https://c.example/c.ts"], "/w"),
    [
      "--allow-net",
      "--allow-sys=networkInterfaces",
      "--allow-import=c.example",
    ],
  );
});

Deno.test("launcher: doctor may run ip, nft, iptables-save and ip6tables-save, and use FFI (TTL 0, /proc); nothing else", () => {
  const run = "--allow-run=ip,nft,iptables-save,ip6tables-save";
  // No network, no read, no sys, no env: FFI opens its sockets and reads
  // /proc/sys/net and /proc/net (Deno reads /proc only with --allow-all).
  assert.deepEqual(permissionsFor("doctor", ["-g", "239.1.1.1"], "/w"), [
    run,
    FFI_HERE ? "--allow-ffi" : "--allow-net",
  ]);
  // Doctor takes no plugin, codec, key or grant: flags for them add nothing
  // (the child refuses them as unknown options).
  assert.deepEqual(
    permissionsFor(
      "doctor",
      [
        "--plugin",
        "./x.ts",
        "--key-file",
        "k",
        "--allow-read",
        "/etc",
        "--allow-import",
        "evil.example",
        "--transport",
        "dgram",
      ],
      "/w",
    ),
    [run, FFI_HERE ? "--allow-ffi" : "--allow-net"],
  );
  // mcast loaded by URL: cli.ts is imported from its host, and only there.
  assert.deepEqual(
    permissionsFor(
      "doctor",
      [],
      "/w",
      new URL("https://mcast.example:8443/v1/"),
    ),
    [
      run,
      FFI_HERE ? "--allow-ffi" : "--allow-net",
      "--allow-import=mcast.example:8443",
    ],
  );
});

/** Where the unit tests below pretend mcast was loaded from. */
const ON_DISK = new URL("file:///opt/mcast/");
/** mcast's library there, which a plugin file may import. */
const LIBRARY =
  "/opt/mcast/mod.ts,/opt/mcast/plugin.ts,/opt/mcast/transport.ts,/opt/mcast/lib,/opt/mcast/plugins";

Deno.test("launcher: with a plugin file or URL, read only the named files and mcast's library, import only the named hosts, ffi only when asked", () => {
  assert.deepEqual(
    permissionsFor(
      "listen",
      [
        "--plugin",
        "./p/mine.ts",
        "--codec=/abs/codec.ts",
        "--key-file",
        "k.key",
      ],
      "/w",
      ON_DISK,
    ),
    [
      "--unstable-net",
      "--allow-net",
      "--allow-sys=networkInterfaces,hostname",
      `--allow-read=${LIBRARY},/w/p/mine.ts,/abs/codec.ts,/w/k.key`,
    ],
  );
  // A plugin by file URL may import mcast too.
  assert.deepEqual(
    permissionsFor(
      "send",
      ["--codec", "file:///c/my%20codec.ts"],
      "/w",
      ON_DISK,
    ),
    [
      "--allow-net",
      "--allow-sys=networkInterfaces",
      `--allow-read=${LIBRARY},/c/my codec.ts`,
    ],
  );
  assert.deepEqual(
    permissionsFor(
      "listen",
      [
        "--plugin",
        "https://plugins.example.org:8443/x.ts",
      ],
      "/w",
      ON_DISK,
    ),
    [
      "--unstable-net",
      "--allow-net",
      "--allow-sys=networkInterfaces,hostname",
      "--allow-import=plugins.example.org:8443",
    ],
  );
  assert.deepEqual(
    permissionsFor(
      "listen",
      ["--plugin=./p/mine.ts", "--transport=ffi"],
      "/w",
      ON_DISK,
    ),
    [
      "--unstable-net",
      "--allow-net",
      "--allow-sys=networkInterfaces,hostname",
      `--allow-read=${LIBRARY},/w/p/mine.ts`,
      "--allow-ffi",
    ],
  );
  assert.deepEqual(
    permissionsFor("send", ["--transport", "ffi"], "/w"),
    [
      "--allow-net",
      "--allow-sys=networkInterfaces",
      "--allow-ffi",
    ],
  );
  // A word after "--" is a message, not a flag.
  assert.deepEqual(permissionsFor("send", ["--", "--codec", "./x.ts"], "/w"), [
    "--allow-net",
    "--allow-sys=networkInterfaces",
    ...(FFI_HERE ? ["--allow-ffi"] : []),
  ]);
});

Deno.test("launcher: --allow-import HOST[:PORT] and --allow-read PATH add what a plugin imports; a bad host is refused", () => {
  assert.deepEqual(
    permissionsFor(
      "listen",
      [
        "--plugin",
        "https://a.example/mine.ts",
        "--allow-import",
        "b.example",
        "--allow-import=127.0.0.1:8002",
        "--allow-import=[::1]:8003",
        "--allow-read",
        "./helpers",
        "--allow-read=/etc/mine.json",
      ],
      "/w",
      ON_DISK,
    ),
    [
      "--unstable-net",
      "--allow-net",
      "--allow-sys=networkInterfaces,hostname",
      "--allow-read=/w/helpers,/etc/mine.json",
      "--allow-import=a.example,b.example,127.0.0.1:8002,[::1]:8003",
    ],
  );
  // The grants alone are no plugin: mcast's own code may still use FFI.
  assert.deepEqual(
    permissionsFor("listen", ["--allow-import", "b.example"], "/w", ON_DISK),
    [
      "--unstable-net",
      "--allow-net",
      "--allow-sys=networkInterfaces,hostname",
      "--allow-import=b.example",
      ...(FFI_HERE ? ["--allow-ffi"] : []),
    ],
  );
  for (const bad of ["https://b.example", "b.example/x", "", "b.example:x"]) {
    assert.throws(
      () => permissionsFor("send", ["--allow-import", bad], "/w", ON_DISK),
      (error: unknown) =>
        error instanceof UsageError &&
        error.message.startsWith(`Invalid --allow-import "${bad}"`),
      bad,
    );
  }
});

Deno.test("launcher: mcast loaded by URL may be imported from its host, and no file of it is read", () => {
  assert.deepEqual(
    permissionsFor(
      "listen",
      ["--plugin", "./mine.ts"],
      "/w",
      new URL("https://mcast.example:8443/v1/"),
    ),
    [
      "--unstable-net",
      "--allow-net",
      "--allow-sys=networkInterfaces,hostname",
      "--allow-read=/w/mine.ts",
      "--allow-import=mcast.example:8443",
    ],
  );
  assert.deepEqual(
    permissionsFor("send", [], "/w", new URL("http://127.0.0.1:4507/")),
    [
      "--allow-net",
      "--allow-sys=networkInterfaces",
      "--allow-import=127.0.0.1:4507",
      ...(FFI_HERE ? ["--allow-ffi"] : []),
    ],
  );
});

const PROBE = `
const query = (descriptor) => Deno.permissions.querySync(descriptor).state;
export default {
  name: "probe",
  respond: () => JSON.stringify({
    ownFile: query({ name: "read", path: new URL(import.meta.url).pathname }),
    mcastLibrary: query({ name: "read", path: ${
  JSON.stringify(`${ROOT}/lib/plugin.ts`)
} }),
    mcastFolder: query({ name: "read", path: ${
  JSON.stringify(`${ROOT}/deno.json`)
} }),
    otherFile: query({ name: "read", path: "/etc/hostname" }),
    env: query({ name: "env" }),
    run: query({ name: "run" }),
    write: query({ name: "write" }),
    ffi: query({ name: "ffi" }),
    net: query({ name: "net" }),
  }),
};
`;

/**
 * Runs `deno task listen` as deno.json does (the launcher), on loopback,
 * with JSON output; resolves once the listener is ready, with its ready line.
 */
async function launchListener(
  group: string,
  port: number,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ launcher: Subprocess; ready: Record<string, unknown> }> {
  const launcher = new Subprocess(Deno.execPath(), [
    "run",
    "--allow-run",
    "--allow-env=INIT_CWD",
    `${ROOT}/cli/launch.ts`,
    "listen",
    "--json",
    ...["-g", group, "-p", String(port), "-i", "127.0.0.1"],
    ...args,
  ], { cwd: ROOT, env, name: "launcher" });
  try {
    const ready = await launcher.waitForLine(
      (line) => line.startsWith('{"event":"ready"'),
      "ready",
      10_000,
    );
    return { launcher, ready: JSON.parse(ready) };
  } catch (error) {
    await launcher[Symbol.asyncDispose]();
    throw error;
  }
}

Deno.test("launcher: a file plugin runs with its own file and mcast's library readable, and nothing else", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/probe.ts`, PROBE);
  const started = await launchListener("239.25.0.1", 25001, [
    "--plugin",
    "./probe.ts",
    "--max-reply-bytes",
    "512",
  ], { INIT_CWD: dir.path });
  await using launcher = started.launcher;
  // Third-party code in the process: no FFI, the Deno.listenDatagram path.
  assert.equal(started.ready.transport, "deno");
  const { replies } = await collectReplies("what may you do?", {
    group: "239.25.0.1",
    port: 25001,
    codec: text(),
    timeout: "500ms",
  });
  assert.equal(replies.length, 1);
  assert.deepEqual(JSON.parse(replies[0].payload as string), {
    ownFile: "granted",
    mcastLibrary: "granted",
    mcastFolder: "prompt",
    otherFile: "prompt",
    env: "prompt",
    run: "prompt",
    write: "prompt",
    ffi: "prompt",
    net: "granted",
  });
  // SIGTERM reaches the child through the launcher: a clean stop with a summary.
  const result = await launcher.stop("SIGTERM", 5_000);
  assert.equal(result.code, 0);
  const summary = JSON.parse(result.stdout.at(-1)!);
  assert.equal(summary.event, "summary");
  assert.equal(summary.kernelDrops, undefined, "Deno.listenDatagram cannot");
});

Deno.test({
  name:
    "launcher: a listener with built-in plugins receives over FFI and answers",
  ignore: !FFI_HERE,
  async fn() {
    const started = await launchListener("239.25.0.2", 25002, [
      "--plugin",
      "echo",
      "--recv-buffer",
      "1M",
    ]);
    await using launcher = started.launcher;
    assert.equal(started.ready.transport, "ffi");
    // What the kernel granted (it reports twice the size it accounts);
    // without privileges net.core.rmem_max caps it.
    const granted = started.ready.receiveBufferBytes as number;
    assert.ok(granted > 0);
    if (Deno.uid() === 0) assert.equal(granted, 2 << 20);
    const { replies } = await collectReplies("over ffi", {
      group: "239.25.0.2",
      port: 25002,
      codec: text(),
      timeout: "500ms",
    });
    assert.deepEqual(replies.map((reply) => reply.payload), ["over ffi"]);
    const result = await launcher.stop("SIGTERM", 5_000);
    assert.equal(result.code, 0);
    const summary = JSON.parse(result.stdout.at(-1)!);
    assert.equal(summary.event, "summary");
    assert.equal(summary.replied, 1);
    assert.equal(summary.kernelDrops, 0, "FFI sees the kernel's drops");
  },
});

/** The command line of `parent`'s child process (the command the launcher started). */
async function childCommandLine(parent: number): Promise<string[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const task of Deno.readDirSync(`/proc/${parent}/task`)) {
      const children = (await Deno.readTextFile(
        `/proc/${parent}/task/${task.name}/children`,
      )).trim();
      if (children !== "") {
        const cmdline = await Deno.readTextFile(`/proc/${children}/cmdline`);
        return cmdline.split("\0").filter((arg) => arg !== "");
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`No child of process ${parent}`);
}

Deno.test({
  name:
    "launcher: the command runs with V8's young generation capped (a long run reaches its size in its first minute)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const started = await launchListener("239.25.0.3", 25003, []);
    await using launcher = started.launcher;
    const argv = await childCommandLine(launcher.child.pid);
    const script = argv.findIndex((arg) => arg.endsWith("cli.ts"));
    assert.ok(script > 0, argv.join(" "));
    // A deno flag: before the script, or it would be the command's own.
    assert.ok(
      argv.slice(0, script).includes("--v8-flags=--max-semi-space-size=4"),
      argv.join(" "),
    );
    assert.deepEqual(argv.slice(script + 2, script + 3), ["listen"]);
    assert.equal((await launcher.stop("SIGTERM", 5_000)).code, 0);
  },
});

Deno.test("launcher: a bad --allow-import value is refused before anything runs", async () => {
  await using launcher = new Subprocess(Deno.execPath(), [
    "run",
    "--allow-run",
    "--allow-env=INIT_CWD",
    `${ROOT}/cli/launch.ts`,
    "listen",
    "--allow-import",
    "https://b.example/",
  ], { cwd: ROOT, name: "launcher" });
  const { code, stdout, stderr } = await launcher.wait(10_000);
  assert.equal(code, 2);
  assert.deepEqual(stdout, []);
  assert.deepEqual(stderr, [
    'mcast listen: Invalid --allow-import "https://b.example/": expected HOST or HOST:PORT, such as plugins.example.org or 127.0.0.1:8000',
    'Try "mcast listen --help".',
  ]);
});
