/**
 * `mcast mesh` as a real subprocess on loopback: its help, bad input
 * (exit 2 with a message naming the value, before any socket opens), a
 * mesh of one (`-p 0`: a free port) that ends with its matrix by
 * `--count`, by `--duration` and by SIGINT, in people's lines, in
 * `--json` (the matrix last) and with `--report`. The many-node runs are
 * in tests/netns/mesh_test.ts.
 *
 * Network safety: every run is pinned to 127.0.0.1 with groups
 * 239.77.22.x and ports 42201-42205; every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CLI, runMcast, spawnMcast } from "./support/cli_process.ts";
import { Subprocess } from "./support/subprocess.ts";
import { tempDir } from "./support/temp_dir.ts";

const RUN_MS = 20_000;

/** A mesh of one on loopback (its port 42200 + the group's last number), probing every 20 ms. */
function alone(group: string, extra: string[]): string[] {
  const port = String(42200 + Number(group.split(".")[3]));
  return [
    "mesh",
    ...["-g", group, "-p", port, "-i", "127.0.0.1"],
    ...["--allow-from", "127.0.0.0/8", "--interval", "20ms"],
    ...extra,
  ];
}

Deno.test("mesh --help: the flags, the exit status and the output", async () => {
  const run = await runMcast(["mesh", "--help"], { timeoutMs: RUN_MS });
  assert.equal(run.code, 0, run.stderr.join("\n"));
  const help = run.stdout.join("\n");
  for (
    const flag of [
      "--group",
      "--port",
      "--interface",
      "--ttl",
      "--interval",
      "--count",
      "--duration",
      "--peer",
      "--expect",
      "--max-loss",
      "--watch",
      "--allow-from",
      "--key-file",
      "--json",
      "--report",
      "--quiet",
    ]
  ) assert.ok(help.includes(flag), `${flag} in the help`);
  assert.match(help, /Exit status: 0 when\s+every\s+pair/);
  const listed = await runMcast(["help"], { timeoutMs: RUN_MS });
  assert.match(listed.stdout.join("\n"), /^ {2}mcast mesh \[options\]/m);
});

Deno.test("mesh: bad input exits 2 naming the value", async () => {
  const cases: [string[], RegExp][] = [
    [["--max-loss", "150"], /Invalid --max-loss "150"/],
    [["--max-loss", "lots"], /Invalid --max-loss "lots"/],
    [["-c", "0"], /Invalid --count "0"/],
    [["-c", "2.5"], /Invalid --count "2\.5"/],
    [["--interval", "5ms"], /Invalid --interval "5ms"/],
    [["--interval", "soon"], /--interval "soon"/],
    [["--duration", "forever"], /--duration "forever"/],
    [["--expect", "0"], /Invalid --expect "0"/],
    [["-t", "300"], /300/],
    [["-p", "70000"], /70000/],
    [["-g", "10.1.2.3"], /10\.1\.2\.3/],
    [["-g", "232.1.2.3"], /232\.1\.2\.3/],
    [["--peer", "nobody"], /nobody/],
    [["--allow-from", "10.0.0.0/99"], /10\.0\.0\.0\/99/],
    [["--transport", "carrier-pigeon"], /carrier-pigeon/],
    [["stray"], /Unexpected argument "stray": mesh takes only options/],
    [["--no-such-flag"], /no-such-flag/],
  ];
  for (const [args, message] of cases) {
    const run = await runMcast(
      ["mesh", "-i", "127.0.0.1", "-c", "1", ...args],
      { timeoutMs: RUN_MS },
    );
    const said = run.stderr.join("\n");
    assert.equal(run.code, 2, `${args.join(" ")}: exit ${run.code}\n${said}`);
    assert.match(said, message, args.join(" "));
    assert.deepEqual(run.stdout, [], `${args.join(" ")}: nothing printed`);
  }
});

Deno.test("mesh of one, --count: people's lines, the matrix and ok, exit 0", async () => {
  const run = await runMcast(alone("239.77.22.1", ["-c", "3"]), {
    timeoutMs: RUN_MS,
  });
  assert.equal(run.code, 0, run.stderr.join("\n"));
  assert.match(
    run.stdout[0],
    /^mesh on 239\.77\.22\.1 port \d+ \(IPv4\) as 127\.0\.0\.1, probing every 20 ms; Ctrl-C to stop with the matrix$/,
  );
  assert.ok(
    run.stdout.some((line) =>
      /^\s+[\d.]+s\s+3 sent, 1 host, 0 pairs: 0 ok$/.test(line)
    ),
  );
  assert.ok(
    run.stdout.some((line) =>
      /^--- mesh 239\.77\.22\.1 port \d+: 1 host, 0 pairs, as seen from 127\.0\.0\.1 ---$/
        .test(line)
    ),
    run.stdout.join("\n"),
  );
  assert.equal(
    run.stdout.at(-1),
    "ok: every pair among 1 expected host within --max-loss 0%",
  );
});

Deno.test("mesh of one, --json: ready first, interval events, the matrix last", async () => {
  const run = await runMcast(alone("239.77.22.2", ["-c", "3", "--json"]), {
    timeoutMs: RUN_MS,
  });
  assert.equal(run.code, 0, run.stderr.join("\n"));
  const events = run.stdout.map((line) => JSON.parse(line));
  assert.equal(events[0].event, "ready");
  assert.equal(events[0].self, "127.0.0.1");
  assert.ok(events.some((e) => e.event === "interval"));
  const matrix = events.at(-1);
  assert.equal(matrix.event, "matrix");
  assert.deepEqual(
    [matrix.self, matrix.hosts, matrix.pairs, matrix.ok, matrix.failures],
    ["127.0.0.1", ["127.0.0.1"], [], true, []],
  );
});

Deno.test("mesh of one, --expect 2: the node never heard fails the run, exit 1", async () => {
  const run = await runMcast(
    alone("239.77.22.3", ["-c", "3", "--expect", "2"]),
    {
      timeoutMs: RUN_MS,
    },
  );
  assert.equal(run.code, 1, run.stdout.join("\n"));
  assert.match(run.stdout.join("\n"), /FAILED: 1 pair among 1 expected hosts/);
});

Deno.test("mesh --duration and SIGINT end the run with the matrix; --report writes the page", async () => {
  await using dir = await tempDir("mcast-mesh-cli-");
  // Writing a file: the permission deno task grants for --report, here all.
  await using writer = new Subprocess(Deno.execPath(), [
    "run",
    "-A",
    CLI,
    ...alone("239.77.22.4", ["--duration", "300ms", "--report", "run.html"]),
  ], { cwd: dir.path, env: { INIT_CWD: dir.path }, name: "mcast mesh" });
  const timed = await writer.wait(RUN_MS);
  assert.equal(timed.code, 0, timed.stderr.join("\n"));
  assert.equal(timed.stderr.at(-1), `report written to ${dir.path}/run.html`);
  const page = await Deno.readTextFile(`${dir.path}/run.html`);
  assert.match(
    page,
    /<title>mcast mesh: 239\.77\.22\.4 port \d+, 1 host<\/title>/,
  );

  await using proc = spawnMcast(alone("239.77.22.5", ["--json"]));
  await proc.waitForLine(
    (line) => line.startsWith('{"event":"interval"'),
    "an interval event",
    RUN_MS,
  );
  const stopped = await proc.stop("SIGINT", 5_000);
  assert.equal(stopped.code, 0, stopped.stderr.join("\n"));
  assert.equal(JSON.parse(stopped.stdout.at(-1)!).event, "matrix");
});
