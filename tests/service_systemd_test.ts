// examples/mcast-listen.service under a real systemd, booted by
// tests/support/systemd_machine.ts as PID 1 of namespaces of its own (lo
// alone): installed as docs/service.md says, the unit starts, runs as a user
// of its own with no capability and its seccomp filter, answers the installed
// mcast on 127.0.0.1, serves /metrics on the unit's address, is restarted by
// systemd after kill -9 (RestartSec apart), stops with SIGTERM as a success,
// and says all of it in the journal. Ignored with the reason where systemd
// cannot be booted (not root, no systemd, no cgroup2).
import assert from "node:assert/strict";
import { shBlockAfter } from "./support/documents.ts";
import {
  CHECKOUT,
  systemdAvailableSync,
  SystemdMachine,
} from "./support/systemd_machine.ts";

const UNIT = "mcast-listen";
const AVAILABLE = systemdAvailableSync();
if (!AVAILABLE.ok) {
  console.warn(
    `service_systemd_test: ${AVAILABLE.reason}: the unit is not run under systemd`,
  );
}
/** Whether this CPU has memory protection keys, which V8 asks for as Deno starts. */
const HAS_PKU = /^flags\s*:.*\bpku\b/m.test(
  Deno.readTextFileSync("/proc/cpuinfo"),
);
/** systemd's DynamicUser= range (systemd.exec(5)). */
const DYNAMIC_USERS = [61184, 65519];

/** What a command inside the machine printed; throws with it when it failed. */
async function ok(
  machine: SystemdMachine,
  command: string,
  cwd?: string,
): Promise<string[]> {
  const done = await machine.run(command, 60_000, cwd);
  assert.equal(
    done.code,
    0,
    `${command}:\n${[...done.stdout, ...done.stderr].join("\n")}`,
  );
  return done.stdout;
}

/** One property of the unit (`systemctl show -p`). */
async function property(machine: SystemdMachine, name: string) {
  const [value] = await ok(
    machine,
    `systemctl show -p ${name} --value ${UNIT}`,
  );
  return value;
}

/** The unit's journal, systemd's lines and the service's, `-o short-unix`. */
function journal(machine: SystemdMachine): Promise<string[]> {
  return ok(machine, `journalctl -u ${UNIT} -o short-unix --no-pager`);
}

/** Waits (polling the journal, at most `timeoutMs`) for `count` lines matching `pattern`. */
async function waitForJournal(
  machine: SystemdMachine,
  pattern: RegExp,
  count: number,
  timeoutMs: number,
): Promise<string[]> {
  let lines: string[] = [];
  const end = Date.now() + timeoutMs;
  for (;;) {
    lines = await journal(machine);
    if (lines.filter((line) => pattern.test(line)).length >= count) {
      return lines;
    }
    if (Date.now() > end) {
      throw new Error(
        `the journal has no ${count} lines like ${pattern}:\n${
          lines.join("\n")
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The seconds (Unix) of the first journal line matching `pattern`. */
function when(lines: string[], pattern: RegExp): number {
  const line = lines.find((line) => pattern.test(line));
  assert.ok(line, `a journal line like ${pattern}`);
  return Number(line.split(" ")[0]);
}

const READY =
  /mcast\[\d+\]: listening on 239\.1\.2\.3 port 10000 .*metrics at http:\/\/127\.0\.0\.1:9464\/metrics/;

/** The installed mcast sends `count` padded requests on lo; its last line. */
async function send(machine: SystemdMachine, count: number): Promise<string> {
  const out = await ok(
    machine,
    `mcast send -g 239.1.2.3 -p 10000 -i 127.0.0.1 --pad 512 -c ${count} --interval 20ms -w 500ms`,
  );
  return out.at(-1)!;
}

/** The unit's /metrics page, fetched inside the machine. */
async function metrics(machine: SystemdMachine): Promise<string> {
  const lines = await ok(
    machine,
    `deno eval 'console.log(await (await fetch("http://127.0.0.1:9464/metrics")).text())'`,
  );
  return lines.join("\n");
}

/** The service's processes (launcher, command): uid, capabilities, no_new_privs, seccomp. */
async function checkSandbox(machine: SystemdMachine): Promise<void> {
  const main = await property(machine, "MainPID");
  const [children] = await ok(
    machine,
    `cat /proc/${main}/task/${main}/children`,
  );
  for (const pid of [main, ...children.trim().split(" ")]) {
    const status = (await ok(machine, `cat /proc/${pid}/status`)).join("\n");
    const field = (name: string) =>
      new RegExp(`^${name}:\\s+(.*)$`, "m").exec(status)![1];
    const uid = Number(field("Uid").split(/\s+/)[0]);
    assert.ok(
      uid >= DYNAMIC_USERS[0] && uid <= DYNAMIC_USERS[1],
      `pid ${pid} runs as a dynamic user, not uid ${uid}`,
    );
    assert.equal(field("CapEff"), "0000000000000000", `pid ${pid}`);
    assert.equal(field("CapBnd"), "0000000000000000", `pid ${pid}`);
    assert.equal(field("NoNewPrivs"), "1", `pid ${pid}`);
    assert.equal(field("Seccomp"), "2", `pid ${pid}: a seccomp filter`);
  }
}

/** docs/service.md's install block, run inside the machine from the checkout (no sudo: root). */
async function installAsDocumented(machine: SystemdMachine): Promise<void> {
  const lines = shBlockAfter(
    "docs/service.md",
    "## Running mcast as a service",
  );
  assert.match(lines.at(-2)!, /systemctl enable --now mcast-listen$/);
  assert.match(lines.at(-1)!, /^journalctl -u mcast-listen/);
  for (const line of lines.slice(0, -1)) {
    await ok(machine, line.replace(/^sudo /, ""), CHECKOUT);
  }
}

Deno.test({
  name:
    "service: under a real systemd the unit starts as docs/service.md installs it, answers, serves /metrics, is restarted after kill -9 and stops as a success",
  ignore: !AVAILABLE.ok,
  async fn() {
    await using machine = await SystemdMachine.boot(30_000);
    await installAsDocumented(machine);
    let lines = await waitForJournal(machine, READY, 1, 30_000);
    assert.equal(await property(machine, "ActiveState"), "active");
    assert.equal(await property(machine, "User"), UNIT, "DynamicUser=yes");
    await checkSandbox(machine);
    assert.equal(await send(machine, 3), "3 sent, 3 replies from 1 responder");
    const page = await metrics(machine);
    assert.match(
      page,
      /^mcast_listen_datagrams_total\{group="239.1.2.3"\} 3$/m,
    );
    assert.match(page, /^mcast_listen_replies_total\{group="239.1.2.3"\} 3$/m);

    // kill -9 of the main process: systemd restarts it, RestartSec (2 s) later.
    const killed = await property(machine, "MainPID");
    await ok(machine, `kill -9 ${killed}`);
    lines = await waitForJournal(machine, READY, 2, 30_000);
    assert.equal(await property(machine, "NRestarts"), "1");
    assert.notEqual(await property(machine, "MainPID"), killed);
    const failed = when(
      lines,
      /Main process exited, code=killed, status=9\/KILL/,
    );
    const restarted = when(
      lines,
      /Scheduled restart job, restart counter is at 1/,
    );
    assert.ok(
      restarted - failed >= 1.9,
      `restarted ${restarted - failed} s after`,
    );
    assert.equal(await send(machine, 1), "1 sent, 1 reply from 1 responder");

    // systemctl stop: SIGTERM, the summary in the journal, and no failure.
    await ok(machine, `systemctl stop ${UNIT}`);
    assert.equal(await property(machine, "ActiveState"), "inactive");
    assert.equal(await property(machine, "Result"), "success");
    lines = await journal(machine);
    const stopping = lines.findIndex((line) =>
      /Stopping mcast-listen/.test(line)
    );
    assert.ok(stopping > 0, lines.join("\n"));
    const after = lines.slice(stopping).join("\n");
    assert.match(after, /mcast\[\d+\]: 1 received, 1 replied, 0 unanswered/);
    assert.match(after, /mcast-listen.service: Deactivated successfully/);
    assert.doesNotMatch(after, /timed out|SIGKILL|Failed/);

    // The check sees a sandbox that stops the command: without @pkey the
    // filter kills the launcher (SIGSYS) before its first line, as it did
    // before 8a8195c.
    if (!HAS_PKU) return;
    const dropIn = `/etc/systemd/system/${UNIT}.service.d`;
    await ok(
      machine,
      `mkdir -p ${dropIn} && printf '[Service]\\nSystemCallFilter=\\nSystemCallFilter=@system-service\\n' > ${dropIn}/no-pkey.conf && systemctl daemon-reload && systemctl start --no-block ${UNIT}`,
    );
    lines = await waitForJournal(
      machine,
      /Main process exited, code=killed, status=31\/SYS/,
      1,
      30_000,
    );
    await ok(machine, `systemctl stop ${UNIT}`);
    assert.equal(lines.filter((line) => READY.test(line)).length, 2);
  },
});
