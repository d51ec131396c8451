// Signals: SIGINT, SIGTERM and SIGHUP stop a listener cleanly within a
// second, even when its plugin's teardown hangs; a second Ctrl-C exits at
// once. Through `deno task` (deno task, the launcher, the child), a signal
// sent by PID to any of them, to the whole process group (job control,
// GNU timeout) or from a terminal stops the command once, and no process
// outlives the launcher, even one killed with SIGKILL.
// Loopback only: groups 239.24.x.x, ports 24001-24099 (cli.ts run
// directly); groups 239.26.2.x, ports 26041-26069 (deno task).
import assert from "node:assert/strict";
import { startListener } from "./support/cli_process.ts";
import { tempDir } from "./support/temp_dir.ts";
import {
  denoProcessesWith,
  denoTask,
  shellWords,
  type TaskPids,
  TaskRun,
} from "./support/task_process.ts";
import { until } from "./support/until.ts";
import { REPEAT_WINDOW_MS } from "../cli/stop_signals.ts";

const READY_MS = 10_000;
/** When a deliberate second Ctrl-C comes: after the repeat window, before the stuck teardown gives up. */
const SECOND_CTRL_C_MS = REPEAT_WINDOW_MS + 125;

const STUCK_PLUGIN = `export default {
  name: "stuck",
  respond: () => undefined,
  teardown: () => new Promise(() => {}), // never finishes
};
`;

async function stuckListener(group: string, port: number, dir: string) {
  await Deno.writeTextFile(`${dir}/stuck.ts`, STUCK_PLUGIN);
  return await startListener(group, port, ["--plugin", "./stuck.ts"], {
    cwd: dir,
    env: { INIT_CWD: dir },
    readyTimeoutMs: READY_MS,
  });
}

const DIRECT_PORTS = { SIGINT: 24001, SIGTERM: 24002, SIGHUP: 24004 };
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.test(`signals: ${signal} stops within a second although teardown hangs`, async () => {
    await using dir = await tempDir();
    await using listener = await stuckListener(
      "239.24.0.1",
      DIRECT_PORTS[signal],
      dir.path,
    );
    const started = performance.now();
    const result = await listener.proc.stop(signal, 5_000);
    const elapsed = performance.now() - started;
    assert.equal(result.code, 0);
    const events = result.stdout.map((line) => JSON.parse(line));
    assert.equal(events.at(-1).event, "summary");
    const teardown = events.find((event) => event.kind === "teardown");
    assert.ok(teardown, "the hanging teardown is reported");
    assert.match(
      teardown.message,
      /"stuck" failed in teardown\(\): did not finish within 500 ms/,
    );
    assert.ok(elapsed < 1000, `stopped in ${Math.round(elapsed)} ms`);
  });
}

Deno.test("signals: a second Ctrl-C exits at once, without waiting for the teardown", async () => {
  await using dir = await tempDir();
  await using listener = await stuckListener("239.24.0.2", 24003, dir.path);
  listener.proc.child.kill("SIGINT");
  // Later than a copy of the first would come (the teardown gives up at 500 ms).
  await new Promise((resolve) => setTimeout(resolve, SECOND_CTRL_C_MS));
  const result = await listener.proc.stop("SIGINT", 5_000);
  assert.equal(result.code, 130);
  assert.ok(
    !result.stdout.some((line) => line.includes('"event":"summary"')),
    "it did not wait for the teardown to give up and print the summary",
  );
});

// Through deno task: deno task, the launcher and the child, as users run it.

const TASK_READY_MS = 20_000;
const TASK_EXIT_MS = 10_000;
const SUMMARY = (line: string) => line.startsWith('{"event":"summary"');

/** `listen --json` on loopback: the arguments of every listener below. */
function listenArgs(group: string, port: number, extra: string[] = []) {
  return [
    "--json",
    ...["-i", "127.0.0.1", "-g", group, "-p", String(port)],
    ...extra,
  ];
}

/** Milliseconds from now until the run prints its summary (at most 2 s). */
async function summaryAfter(run: TaskRun): Promise<number> {
  const started = performance.now();
  await run.proc.out.waitFor(SUMMARY, "the summary", 2_000);
  return performance.now() - started;
}

/** Asserts that none of the run's Deno processes is left. */
function assertNoneLeft(run: TaskRun) {
  const left = run.survivors();
  assert.deepEqual(
    left.map(({ pid, argv }) => `${pid} ${argv.join(" ")}`),
    [],
    "no process outlives deno task",
  );
}

const TARGETS = ["task", "launcher", "child"] as const;

for (
  const [index, signal] of (["SIGINT", "SIGTERM", "SIGHUP"] as const).entries()
) {
  Deno.test(`signals: ${signal} sent by PID to deno task, the launcher or the child stops deno task listen with a summary`, async () => {
    await using task = new TaskRun(
      denoTask(
        "listen",
        listenArgs(`239.26.2.${index * 3 + 1}`, 26041 + index * 3),
      ),
      { marker: `239.26.2.${index * 3 + 1}` },
    );
    await using launcher = new TaskRun(
      denoTask(
        "listen",
        listenArgs(`239.26.2.${index * 3 + 2}`, 26042 + index * 3),
      ),
      { marker: `239.26.2.${index * 3 + 2}` },
    );
    await using child = new TaskRun(
      denoTask(
        "listen",
        listenArgs(`239.26.2.${index * 3 + 3}`, 26043 + index * 3),
      ),
      { marker: `239.26.2.${index * 3 + 3}` },
    );
    const runs = { task, launcher, child };
    await Promise.all(TARGETS.map(async (target) => {
      const run = runs[target];
      const { pids } = await run.ready(TASK_READY_MS);
      Deno.kill(pids[target as keyof TaskPids], signal);
      const elapsed = await summaryAfter(run);
      assert.ok(
        elapsed < 1000,
        `${signal} to the ${target}: summary after ${Math.round(elapsed)} ms`,
      );
      const result = await run.proc.wait(TASK_EXIT_MS);
      assert.equal(
        result.code,
        0,
        `${signal} to the ${target}:\n${result.stderr.join("\n")}`,
      );
      assert.ok(SUMMARY(result.stdout.at(-1)!), result.stdout.join("\n"));
      assertNoneLeft(run);
    }));
  });
}

const STUCK_TEARDOWN = `export default {
  name: "stuck",
  respond: () => undefined,
  teardown: () => new Promise(() => {}), // never finishes: the stop takes 500 ms
};
`;

/**
 * `deno task listen` as a job of a bash with job control (`set -m`): in a
 * process group of its own, whose ID bash prints first ("job PGID"); bash
 * prints "exit STATUS" when it ends.
 */
function jobControlRun(dir: string, group: string, port: number): TaskRun {
  const command = shellWords(
    denoTask("listen", listenArgs(group, port, ["--plugin", "./stuck.ts"])),
  );
  return new TaskRun([
    "bash",
    "-c",
    `set -m; ${command} & echo "job $!"; wait $!; echo "exit $?"`,
  ], { cwd: dir, marker: group });
}

async function jobGroup(run: TaskRun): Promise<number> {
  const line = await run.proc.out.waitFor(
    (line) => line.startsWith("job "),
    "the job's process group",
    TASK_READY_MS,
  );
  return Number(line.slice(4));
}

Deno.test("signals: a signal to the whole process group (job control) counts once, although the stop takes 500 ms", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/stuck.ts`, STUCK_TEARDOWN);
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const runs = signals.map((_, index) =>
    jobControlRun(dir.path, `239.26.2.${20 + index}`, 26051 + index)
  );
  try {
    await Promise.all(signals.map(async (signal, index) => {
      const run = runs[index];
      const pgid = await jobGroup(run);
      await run.ready(TASK_READY_MS);
      // What Ctrl-C on a terminal, GNU timeout and systemd do: the group
      // gets it, and deno task and the launcher pass it on as well.
      Deno.kill(-pgid, signal);
      const elapsed = await summaryAfter(run);
      assert.ok(
        elapsed < 1000,
        `${signal}: summary after ${Math.round(elapsed)} ms`,
      );
      const result = await run.proc.wait(TASK_EXIT_MS);
      assert.equal(result.stdout.at(-1), "exit 0", `${signal}: counted once`);
      const events = result.stdout.filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line));
      assert.equal(events.at(-1).event, "summary");
      assert.ok(events.some((event) => event.kind === "teardown"));
      assertNoneLeft(run);
    }));
  } finally {
    for (const run of runs) await run[Symbol.asyncDispose]();
  }
});

Deno.test("signals: a deliberate second Ctrl-C to the process group exits at once with 130", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/stuck.ts`, STUCK_TEARDOWN);
  await using run = jobControlRun(dir.path, "239.26.2.23", 26054);
  const pgid = await jobGroup(run);
  await run.ready(TASK_READY_MS);
  Deno.kill(-pgid, "SIGINT");
  await new Promise((resolve) => setTimeout(resolve, SECOND_CTRL_C_MS));
  Deno.kill(-pgid, "SIGINT");
  const result = await run.proc.wait(TASK_EXIT_MS);
  assert.equal(result.stdout.at(-1), "exit 130");
  assert.ok(
    !result.stdout.some(SUMMARY),
    "it did not wait for the teardown to give up and print the summary",
  );
  assertNoneLeft(run);
});

Deno.test("signals: timeout -s INT, timeout (SIGTERM to the group) and timeout --foreground end deno task listen with a summary", async () => {
  const SECONDS = 4;
  const wrappers = [
    ["timeout", "-s", "INT", String(SECONDS)],
    ["timeout", String(SECONDS)],
    ["timeout", String(SECONDS)],
    ["timeout", "-s", "HUP", String(SECONDS)],
    ["timeout", "--foreground", "-s", "INT", "-k", "5", String(SECONDS)],
  ];
  const runs = wrappers.map((wrapper, index) => {
    const group = `239.26.2.${30 + index}`;
    return new TaskRun(
      [...wrapper, ...denoTask("listen", listenArgs(group, 26056 + index))],
      { marker: group },
    );
  });
  try {
    await Promise.all(runs.map(async (run, index) => {
      const what = wrappers[index].join(" ");
      await run.ready(SECONDS * 1000 - 500);
      const result = await run.proc.wait(TASK_EXIT_MS);
      // timeout's own status when the time ran out (137 if -k had to kill).
      assert.equal(result.code, 124, `${what}:\n${result.stderr.join("\n")}`);
      assert.ok(
        SUMMARY(result.stdout.at(-1)!),
        `${what}: ${result.stdout.at(-1)}`,
      );
      assertNoneLeft(run);
    }));
  } finally {
    for (const run of runs) await run[Symbol.asyncDispose]();
  }
});

Deno.test({
  name: "signals: Ctrl-C on a terminal counts once",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    await Deno.writeTextFile(`${dir.path}/stuck.ts`, STUCK_TEARDOWN);
    const group = "239.26.2.40";
    const out = `${dir.path}/out.ndjson`;
    const command = `${
      shellWords(
        denoTask(
          "listen",
          listenArgs(group, 26061, ["--plugin", "./stuck.ts"]),
        ),
      )
    } > ${shellWords([out])}`;
    // script(1) runs the command on a new terminal; typing Ctrl-C there
    // makes the terminal send SIGINT to its foreground process group.
    const typist = `for i in $(seq 200); do grep -q '"event":"ready"' ${
      shellWords([out])
    } 2>/dev/null && break; sleep 0.1; done; printf '\\003'; sleep 2`;
    await using run = new TaskRun([
      "bash",
      "-c",
      `(${typist}) | script -qefc ${
        shellWords([command])
      } /dev/null; echo; echo "exit $?"`,
    ], { cwd: dir.path, marker: group });
    const result = await run.proc.wait(TASK_EXIT_MS + TASK_READY_MS);
    assert.equal(result.stdout.at(-1), "exit 0", result.stdout.join("\n"));
    const lines = (await Deno.readTextFile(out)).trim().split("\n");
    assert.ok(SUMMARY(lines.at(-1)!), lines.join("\n"));
    assertNoneLeft(run);
  },
});

for (const [index, victim] of (["launcher", "task"] as const).entries()) {
  const name = victim === "task" ? "deno task" : "the launcher";
  Deno.test(`signals: no process outlives ${name} killed with SIGKILL`, async () => {
    const group = `239.26.2.${41 + index * 3}`;
    await using run = new TaskRun(
      denoTask("listen", listenArgs(group, 26062 + index)),
      { marker: group },
    );
    const { pids } = await run.ready(TASK_READY_MS);
    const killed = performance.now();
    Deno.kill(pids[victim], "SIGKILL");
    // The child stops as on a hang-up (told by the launcher, or noticing
    // that the launcher is gone): it leaves the group and prints its
    // summary on the output it shares with deno task.
    const elapsed = await summaryAfter(run);
    assert.ok(elapsed < 1000, `summary after ${Math.round(elapsed)} ms`);
    await until(() => denoProcessesWith(group).length === 0, 1000, {
      intervalMs: 20,
      message: `a process outlived ${name}`,
    });
    const gone = performance.now() - killed;
    assert.ok(gone < 1000, `all gone after ${Math.round(gone)} ms`);
    const result = await run.proc.wait(TASK_EXIT_MS);
    assert.equal(
      result.code,
      137,
      "deno task exits as SIGKILL ended it or its child",
    );
  });
}

Deno.test("signals: SIGINT by PID to deno task send --count 0 ends it with a summary", async () => {
  const group = "239.26.2.42";
  await using run = new TaskRun(
    denoTask("send", [
      "--json",
      ...["-i", "127.0.0.1", "-g", group, "-p", "26064"],
      ...["-c", "0", "--interval", "100ms", "-w", "100ms"],
      "anyone?",
    ]),
    { marker: group },
  );
  // send prints nothing before its summary: wait for all three processes.
  await until(() => denoProcessesWith(group).length === 3, TASK_READY_MS, {
    intervalMs: 50,
    message: "deno task send did not start",
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  Deno.kill(run.proc.child.pid, "SIGINT");
  const elapsed = await summaryAfter(run);
  assert.ok(elapsed < 1000, `summary after ${Math.round(elapsed)} ms`);
  const result = await run.proc.wait(TASK_EXIT_MS);
  assert.equal(result.code, 1, "no reply came");
  const summary = JSON.parse(result.stdout.at(-1)!);
  assert.equal(summary.event, "summary");
  assert.ok(summary.sent >= 1, `${summary.sent} sent`);
  assertNoneLeft(run);
});
