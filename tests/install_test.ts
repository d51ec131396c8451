/**
 * The installable `mcast` command (issue 14): the README's `deno install`
 * line, run as written into a scratch install root (`DENO_INSTALL_ROOT`),
 * gives a `mcast` whose `--version`, `send`, `listen` and `mesh` work from any
 * directory; `--version` also works after a command, through `deno task`.
 *
 * Network safety: every send and listen is pinned to 127.0.0.1 (group
 * 239.44.4.x, port 44130-44139). Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { VERSION } from "../lib/version.ts";
import { text } from "../plugins/codecs/text.ts";
import { ack } from "../plugins/responders/ack.ts";
import { ROOT } from "./support/cli_process.ts";
import { shBlockAfter } from "./support/documents.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import { type Finished, Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";
import { tempDir } from "./support/temp_dir.ts";

const RUN_MS = 60_000;

/** The README's install block: the `deno install` line and what follows it. */
function readmeInstallBlock(): string[] {
  return shBlockAfter("README.md", "## The `mcast` command");
}

async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Finished> {
  await using proc = new Subprocess(command, args, {
    ...options,
    name: [command, ...args].join(" "),
  });
  return await proc.wait(RUN_MS);
}

Deno.test("install: the README's deno install line gives mcast --version, send, listen and mesh", async () => {
  const [installLine, versionLine] = readmeInstallBlock();
  assert.match(installLine, /^deno install -g /);
  assert.equal(versionLine, "mcast --version");
  await using root = await tempDir("mcast-install-");
  await using elsewhere = await tempDir("mcast-elsewhere-");
  const env = {
    DENO_INSTALL_ROOT: root.path,
    PATH: `${root.path}/bin:${Deno.env.get("PATH")}`,
  };
  // As written, with this Deno first on PATH (the line says "deno").
  const denoDir = Deno.execPath().replace(/\/[^/]+$/, "");
  const installed = await run("bash", ["-c", installLine], {
    cwd: ROOT,
    env: { ...env, PATH: `${denoDir}:${env.PATH}` },
  });
  assert.equal(installed.code, 0, installed.stderr.join("\n"));
  const mcast = `${root.path}/bin/mcast`;
  assert.ok((await Deno.stat(mcast)).isFile, "bin/mcast installed");

  const pathEnv = {
    ...env,
    PATH: `${root.path}/bin:${denoDir}:${env.PATH}`,
    // As an outer npm or deno task leaves it (npx ... task test does): not
    // where the installed command runs, so its paths must not start there.
    INIT_CWD: ROOT,
  };
  const version = await run("bash", ["-c", versionLine], {
    cwd: elsewhere.path,
    env: pathEnv,
  });
  assert.equal(version.code, 0, version.stderr.join("\n"));
  assert.deepEqual(version.stdout, [VERSION]);

  const help = await run(mcast, ["help"], {
    cwd: elsewhere.path,
    env: pathEnv,
  });
  assert.match(help.stdout.join("\n"), /mcast send \[options\] \[message\]/);
  if (help.stdout.some((line) => /^\s+mcast doctor/.test(line))) {
    const doctor = await run(mcast, ["doctor", "--help"], {
      cwd: elsewhere.path,
      env: pathEnv,
    });
    assert.equal(doctor.code, 0, doctor.stderr.join("\n"));
  }

  // send, from another directory, through the installed launcher.
  await using listener = await listenOnLoopback({
    group: "239.44.4.1",
    port: 44130,
    responder: ack(),
    codec: text(),
  });
  const sent = await run(mcast, [
    "send",
    "--json",
    "-g",
    "239.44.4.1",
    "-p",
    String(listener.port),
    "-i",
    LOOPBACK,
    "-w",
    "300ms",
    "hi",
  ], { cwd: elsewhere.path, env: pathEnv });
  assert.equal(sent.code, 0, sent.stderr.join("\n"));
  assert.equal(JSON.parse(sent.stdout[0]).payload, "ack");

  // listen: joins, says so, and stops on SIGINT with a summary.
  await using listening = new Subprocess(mcast, [
    "listen",
    "-g",
    "239.44.4.2",
    "-p",
    "44131",
    "-i",
    LOOPBACK,
  ], { cwd: elsewhere.path, env: pathEnv, name: "mcast listen" });
  await listening.waitForLine(
    (line) => line.startsWith("listening on 239.44.4.2 port 44131"),
    "the installed listener's ready line",
    RUN_MS,
  );
  const stopped = await listening.stop("SIGINT", 10_000);
  assert.equal(stopped.code, 0, stopped.stderr.join("\n"));
  assert.equal(stopped.stdout.at(-1), "0 received, 0 replied, 0 unanswered");

  // mesh: a mesh of one, three probes, the matrix and its verdict, and
  // the page --report names, written in the directory it was run from.
  const meshed = await run(mcast, [
    ...["mesh", "-g", "239.44.4.4", "-p", "44133", "-i", LOOPBACK],
    ...["--allow-from", "127.0.0.0/8", "-c", "3", "--interval", "50ms"],
    ...["--report", "mesh.html"],
  ], { cwd: elsewhere.path, env: pathEnv });
  assert.equal(meshed.code, 0, meshed.stderr.join("\n"));
  assert.equal(
    meshed.stdout.at(-1),
    "ok: every pair among 1 expected host within --max-loss 0%",
  );
  assert.match(
    await Deno.readTextFile(`${elsewhere.path}/mesh.html`),
    /<title>mcast mesh: 239\.44\.4\.4 port 44133, 1 host<\/title>/,
  );
});

Deno.test("--version after a command: deno task send --version, deno task listen --version, mcast send --version", async () => {
  for (const command of ["send", "listen"] as const) {
    const [deno, ...args] = denoTask(command, ["--version"]);
    const result = await run(deno, args, { cwd: ROOT });
    assert.equal(result.code, 0, result.stderr.join("\n"));
    assert.deepEqual(result.stdout, [VERSION]);
  }
  const direct = await run(Deno.execPath(), [
    "run",
    `${ROOT}/cli.ts`,
    "send",
    "-g",
    "239.44.4.3",
    "--version",
  ]);
  assert.deepEqual(direct.stdout, [VERSION]);
  // After "--" it is a message, not the flag.
  const [deno, ...args] = denoTask("send", [
    "-i",
    LOOPBACK,
    "-g",
    "239.44.4.3",
    "-p",
    "44132",
    "-w",
    "100ms",
    "--",
    "--version",
  ]);
  const message = await run(deno, args, { cwd: ROOT });
  assert.equal(message.code, 1, "sent, nobody answered");
  assert.equal(message.stdout.at(-1), "1 sent, 0 replies from 0 responders");
});
