// examples/mcast-listen.service: the unit passes `systemd-analyze verify`
// without a warning (where systemd-analyze is installed; skipped with the
// reason elsewhere), sets the least privileges docs/service.md promises, and
// its ExecStart line runs as an unprivileged user with no capability and no
// new privileges (setpriv, root only), answering and serving metrics.
// Loopback only: the unit's group 239.1.2.3 port 10000 joined on 127.0.0.1
// inside the test's namespace; metrics on a free port of 127.0.0.1.
import assert from "node:assert/strict";
import { ROOT, runMcast } from "./support/cli_process.ts";
import { shBlockAfter } from "./support/documents.ts";
import { freeTcpPort } from "./support/prometheus.ts";
import { Subprocess } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";
import { hasProgram } from "../lab/availability.ts";

const UNIT = `${ROOT}/examples/mcast-listen.service`;
/** Where the unit expects the installed command (docs/service.md). */
const INSTALLED = "/usr/local/bin/mcast";
/** The unprivileged user the ExecStart line is tried as. */
const NOBODY = 65534;

const HAS_ANALYZE = hasProgram("systemd-analyze");
if (!HAS_ANALYZE) {
  console.warn(
    "service_test: no systemd-analyze here (apt-get install systemd): the unit is not verified",
  );
}
const CAN_DROP = Deno.uid() === 0 && hasProgram("setpriv");
if (!CAN_DROP) {
  console.warn(
    "service_test: not root or no setpriv: the unit's command is not run as an unprivileged user",
  );
}

/** The [Service] section's settings, each key with its values in order. */
function serviceSettings(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of unit.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    if (section !== "Service") continue;
    const at = line.indexOf("=");
    const key = line.slice(0, at);
    settings.set(key, [...settings.get(key) ?? [], line.slice(at + 1)]);
  }
  return settings;
}

/** mcast installed by the README's `deno install` line into `root`; returns the command's path. */
async function installMcast(root: string): Promise<string> {
  const [installLine] = shBlockAfter("README.md", "## The `mcast` command");
  const denoDir = Deno.execPath().replace(/\/[^/]+$/, "");
  await using proc = new Subprocess("bash", ["-c", installLine], {
    cwd: ROOT,
    env: {
      DENO_INSTALL_ROOT: root,
      PATH: `${denoDir}:${Deno.env.get("PATH")}`,
    },
    name: installLine,
  });
  const done = await proc.wait(60_000);
  assert.equal(done.code, 0, done.stderr.join("\n"));
  return `${root}/bin/mcast`;
}

/** `systemd-analyze verify` on a copy of the unit with ExecStart's command at `mcast`. */
async function verify(
  dir: string,
  unit: string,
): Promise<{ code: number; said: string }> {
  const copy = `${dir}/mcast-listen.service`;
  await Deno.writeTextFile(copy, unit);
  await using proc = new Subprocess("systemd-analyze", ["verify", copy], {
    name: "systemd-analyze verify",
  });
  const done = await proc.wait(30_000);
  return {
    code: done.code,
    said: [...done.stdout, ...done.stderr].join("\n"),
  };
}

Deno.test({
  name:
    "service: examples/mcast-listen.service passes systemd-analyze verify without a warning",
  ignore: !HAS_ANALYZE,
  async fn() {
    await using root = await tempDir("mcast-unit-");
    const mcast = await installMcast(root.path);
    const unit = (await Deno.readTextFile(UNIT)).replace(INSTALLED, mcast);
    const clean = await verify(root.path, unit);
    assert.equal(clean.code, 0, clean.said);
    assert.equal(clean.said, "", "a warning");
    // The check sees a mistake: a misspelled key is a warning.
    const typo = await verify(
      root.path,
      unit.replace("NoNewPrivileges=", "NoNewPrivilege="),
    );
    assert.match(typo.said, /Unknown key 'NoNewPrivilege'/);
    // A command that is not there fails it.
    const missing = await verify(
      root.path,
      unit.replace(mcast, INSTALLED + "-nope"),
    );
    assert.notEqual(missing.code, 0, missing.said);
  },
});

Deno.test("service: the unit restarts on failure with the least privileges, through the installed mcast with metrics", async () => {
  const settings = serviceSettings(await Deno.readTextFile(UNIT));
  const one = (key: string) => {
    const values = settings.get(key);
    assert.equal(values?.length, 1, `${key}= once`);
    return values![0];
  };
  assert.equal(one("Restart"), "on-failure");
  assert.equal(one("DynamicUser"), "yes");
  assert.equal(one("CapabilityBoundingSet"), "");
  assert.equal(one("AmbientCapabilities"), "");
  assert.equal(one("NoNewPrivileges"), "yes");
  assert.equal(one("ProtectSystem"), "strict");
  assert.equal(one("ProtectHome"), "yes");
  assert.equal(one("PrivateTmp"), "yes");
  assert.deepEqual(
    one("RestrictAddressFamilies").split(" ").sort(),
    ["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"],
  );
  assert.match(one("MemoryMax"), /^\d+M$/);
  assert.equal(settings.get("MemoryDenyWriteExecute"), undefined, "V8's JIT");
  const exec = one("ExecStart").split(" ");
  assert.deepEqual(exec.slice(0, 2), [INSTALLED, "listen"]);
  assert.equal(exec[exec.indexOf("--metrics") + 1], "127.0.0.1:9464");
});

Deno.test({
  name:
    "service: the unit's command runs as nobody without capabilities or new privileges, answers and serves its metrics, and stops on SIGTERM with exit 0",
  ignore: !CAN_DROP,
  async fn() {
    await using root = await tempDir("mcast-unit-");
    const mcast = await installMcast(root.path);
    const cache = `${root.path}/deno-dir`;
    await Deno.mkdir(cache);
    await Deno.chown(cache, NOBODY, NOBODY);
    await Deno.chmod(root.path, 0o755);
    const readable = await new Deno.Command("setpriv", {
      args: [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        "test",
        "-r",
        `${ROOT}/cli/launch.ts`,
      ],
    }).output();
    if (!readable.success) {
      console.warn(`service_test: nobody cannot read ${ROOT}: not run`);
      return;
    }
    const metricsPort = freeTcpPort();
    const exec = serviceSettings(await Deno.readTextFile(UNIT)).get(
      "ExecStart",
    )![0]
      .replace(INSTALLED, mcast)
      .replaceAll("%H", "unit-test")
      .replace("127.0.0.1:9464", `127.0.0.1:${metricsPort}`)
      .split(" ");
    const denoDir = Deno.execPath().replace(/\/[^/]+$/, "");
    await using service = new Subprocess("setpriv", [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      "--bounding-set=-all",
      "--inh-caps=-all",
      "--no-new-privs",
      "env",
      "-i",
      `PATH=${denoDir}:/usr/bin:/bin`,
      `DENO_DIR=${cache}`,
      "NO_COLOR=1",
      ...exec,
      // The test's namespace has only lo.
      "--interface",
      "127.0.0.1",
    ], { cwd: "/", name: "the unit's ExecStart" });
    const ready = await service.waitForLine(
      (line) => line.startsWith("listening on 239.1.2.3 port 10000"),
      "the ready line",
      60_000,
    );
    assert.match(
      ready,
      new RegExp(`metrics at http://127.0.0.1:${metricsPort}/metrics`),
    );
    const pid = Number(/pid (\d+)/.exec(ready)![1]);
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const field = (name: string) =>
      new RegExp(`^${name}:\\s+(.*)$`, "m").exec(status)![1];
    assert.equal(field("Uid").split(/\s+/)[0], String(NOBODY));
    assert.equal(field("CapEff"), "0000000000000000");
    assert.equal(field("CapBnd"), "0000000000000000");
    assert.equal(field("NoNewPrivs"), "1");
    // status answers a padded request (replies are at most 3x the request).
    const sent = await runMcast([
      "send",
      "-g",
      "239.1.2.3",
      "-p",
      "10000",
      "-i",
      "127.0.0.1",
      "--pad",
      "512",
      "-c",
      "3",
      "--interval",
      "20ms",
      "-w",
      "500ms",
      "--json",
    ], { timeoutMs: 30_000 });
    assert.equal(sent.code, 0, sent.stderr.join("\n"));
    const page = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`))
      .text();
    assert.match(
      page,
      /^mcast_listen_datagrams_total\{group="239.1.2.3"\} 3$/m,
    );
    assert.match(page, /^mcast_listen_replies_total\{group="239.1.2.3"\} 3$/m);
    assert.match(
      page,
      /^mcast_listen_info\{port="10000",plugin="status",codec="text",transport="ffi"\} 1$/m,
    );
    // As systemd stops it: SIGTERM to the main process (and the group).
    const stopped = await service.stop("SIGTERM", 10_000);
    assert.equal(stopped.code, 0, stopped.stderr.join("\n"));
    assert.equal(stopped.stdout.at(-1), "3 received, 3 replied, 0 unanswered");
  },
});
