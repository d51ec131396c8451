// Issue 13, part 2: errors that name the fix, on hosts built to fail.
// A host with no default route and no multicast route cannot send to or
// join a group on no interface in particular: send and listen must say so
// in one line, the same on every transport, listing the interfaces to pass
// with -i (multicast-capable first). A firewall rule that drops the port
// must be named as such, not taken for a missing route. Every host is a
// lab namespace; nothing leaves them.
//
//   h  10.77.1.11/24 ── segment "lan"   (no default route, no 224.0.0.0/4 route)
import assert from "node:assert/strict";
import { ROOT } from "../support/cli_process.ts";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host, type Lab } from "../../lab/lab.ts";
import { runMcast } from "../../lab/mcast_cli.ts";

const GROUP = "239.1.1.1";
const PORT = "5053";
const DENO = Deno.execPath();

/**
 * A lone host on a segment, without a default route and without the
 * multicast route (224.0.0.0/4 dev eth0) the lab gives its hosts.
 */
async function loneHost(lab: Lab): Promise<Host> {
  const lan = await lab.segment("lan");
  const host = await lab.host("h", { segment: lan, address: "10.77.1.11/24" });
  const r = await host.run([
    "ip",
    "route",
    "del",
    "224.0.0.0/4",
    "dev",
    "eth0",
  ]);
  assert.equal(r.code, 0, r.stderr);
  return host;
}

/** What one command printed: exit code and its stderr lines. */
interface Outcome {
  command: string;
  what: string;
  code: number;
  lines: string[];
}

/** Runs `mcast ARGS` in `host` (with -A, as mcast_cli.ts does). */
async function mcast(host: Host, args: string[]): Promise<Outcome> {
  const r = await runMcast(host, args, { timeoutMs: 20_000 });
  return outcome(args, r.code, r.stderr, r.timedOut);
}

/** Runs `deno task send|listen ARGS` in `host`, as users do (least privilege). */
async function task(host: Host, args: string[]): Promise<Outcome> {
  const r = await host.run(
    [DENO, "task", "-q", "--config", `${ROOT}/deno.json`, ...args],
    { timeoutMs: 30_000 },
  );
  return outcome(["task", ...args], r.code, r.stderr, r.timedOut);
}

function outcome(
  args: string[],
  code: number,
  stderr: string,
  timedOut: boolean,
): Outcome {
  const lines = stderr.split("\n").filter((line) => line.trim() !== "");
  return {
    command: args.find((arg) => arg === "send" || arg === "listen") ?? "",
    what: `${args.join(" ")}: exit ${code}${
      timedOut ? " (timed out)" : ""
    }\n${stderr}`,
    code,
    lines,
  };
}

const SEND_TRANSPORTS = ["dgram", "ffi"];
const LISTEN_TRANSPORTS = ["dgram", "deno", "ffi"];

/** The one line each command must print, with `choices` after `-i: `. */
function noRoute(command: "send" | "listen", choices: string): string {
  const head = command === "send"
    ? `mcast send: Cannot send 19 bytes to ${GROUP}:${PORT}`
    : `mcast listen: Cannot join group ${GROUP} on the default interface`;
  const what = command === "send" ? "to send through" : "to join on";
  return `${head}: this host has no route for group ${GROUP} (no default route, no multicast route): choose the interface ${what} with -i: ${choices}`;
}

/** send and listen without -i, on every transport. */
function withoutInterface(host: Host, run = mcast): Promise<Outcome[]> {
  return Promise.all([
    ...SEND_TRANSPORTS.map((t) =>
      run(host, [
        "send",
        "-g",
        GROUP,
        "-p",
        PORT,
        "-w",
        "200ms",
        "--transport",
        t,
      ])
    ),
    ...LISTEN_TRANSPORTS.map((t) =>
      run(host, ["listen", "-g", GROUP, "-p", PORT, "--transport", t])
    ),
  ]);
}

function assertNoRoute(runs: Outcome[], choices: string): void {
  for (const run of runs) {
    assert.equal(run.code, 1, run.what);
    assert.deepEqual(
      run.lines,
      [noRoute(run.command as "send" | "listen", choices)],
      run.what,
    );
  }
}

netnsTest(
  "no route: send and listen without -i say so in one line, the same on every transport, naming the interfaces",
  async () => {
    await using lab = await createLab();
    const host = await loneHost(lab);
    // With every permission mcast reads the interfaces' flags (/sys).
    assertNoRoute(
      await withoutInterface(host),
      "eth0 10.77.1.11, lo 127.0.0.1 (this host only)",
    );
    // As users run it: deno task, least privilege (no flags to read).
    const [send, listen] = await Promise.all([
      task(host, ["send", "-g", GROUP, "-p", PORT, "-w", "200ms"]),
      task(host, ["listen", "-g", GROUP, "-p", PORT]),
    ]);
    assertNoRoute(
      [send, listen],
      "eth0 10.77.1.11, lo 127.0.0.1 (this host only)",
    );
  },
);

netnsTest(
  "no route: with only lo up, the list says that eth0 is down",
  async () => {
    await using lab = await createLab();
    const host = await loneHost(lab);
    const down = await host.run(["ip", "link", "set", "eth0", "down"]);
    assert.equal(down.code, 0, down.stderr);
    assertNoRoute(
      await withoutInterface(host),
      "eth0 10.77.1.11 (down), lo 127.0.0.1 (this host only)",
    );
  },
);

netnsTest(
  "no route: -i lo gets past it (this host only)",
  async () => {
    await using lab = await createLab();
    const host = await loneHost(lab);
    const run = await mcast(host, [
      "send",
      "--json",
      "-g",
      GROUP,
      "-p",
      PORT,
      "-i",
      "lo",
      "-w",
      "200ms",
    ]);
    // Nobody listens: exit 1, but the datagram left (no error line).
    assert.equal(run.code, 1, run.what);
    assert.deepEqual(run.lines, [], run.what);
  },
);

netnsTest(
  "firewall: a rule dropping the port is named, not taken for a missing route",
  async () => {
    await using lab = await createLab();
    const host = await loneHost(lab);
    for (
      const cmd of [
        [
          "iptables",
          "-A",
          "OUTPUT",
          "-p",
          "udp",
          "--dport",
          PORT,
          "-j",
          "DROP",
        ],
        ["ip", "route", "add", "default", "dev", "eth0"],
      ]
    ) {
      const r = await host.run(cmd);
      assert.equal(r.code, 0, `${cmd.join(" ")}: ${r.stderr}`);
    }
    const sends = (iface: string[]) =>
      Promise.all(
        SEND_TRANSPORTS.map((t) =>
          mcast(host, [
            "send",
            "-g",
            GROUP,
            "-p",
            PORT,
            "-w",
            "200ms",
            "--transport",
            t,
            ...iface,
          ])
        ),
      );
    for (const iface of [[], ["-i", "eth0"]]) {
      const via = iface.length === 0 ? "" : " via interface 10.77.1.11";
      const [dgram, ffi] = await sends(iface);
      assert.equal(ffi.code, 1, ffi.what);
      assert.deepEqual(ffi.lines, [
        `mcast send: Cannot send 19 bytes to ${GROUP}:${PORT}${via}: a firewall rule on this host refused it (nftables or iptables, output chain, UDP to port ${PORT}): allow the port there (EPERM)`,
      ], ffi.what);
      // node:dgram does not say why; there is a route, so it is not "no route".
      assert.equal(dgram.code, 1, dgram.what);
      assert.deepEqual(dgram.lines, [
        `mcast send: Cannot send 19 bytes to ${GROUP}:${PORT}${via}: the OS refused it and Deno's node:dgram does not say why: most often a firewall rule on this host (nftables or iptables, output chain, UDP to port ${PORT}) or an interface that is down; --transport ffi names the reason (UNKNOWN)`,
      ], dgram.what);
    }
  },
  { needs: ["iptables"] },
);
