// Issue 22, item 3, as people see it: a send the host's firewall refuses
// (EPERM) after the first is counted and the run goes on. The first line
// about it gives the errno's sentence, later ones the counts, at most one a
// second; the summary, the JSON summary and the HTML report say how many
// did not leave, and loss counts only those that did. An nftables rule in
// the sender's namespace refuses a random 10% of its requests (never the
// first: a failed first send still ends the run).
//
//   s 10.77.1.11 ── segment "lan" ── l 10.77.1.12
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host, type Lab } from "../../lab/lab.ts";
import {
  groupFlags,
  type Json,
  parseJsonLines,
  runMcast,
  startListener,
  stopListener,
} from "../../lab/mcast_cli.ts";

const GROUP = "239.77.22.2";

async function refusingHost(
  lab: Lab,
  port: number,
): Promise<{ s: Host; l: Host }> {
  const lan = await lab.segment("lan");
  const s = await lab.host("s", { segment: lan, address: "10.77.1.11/24" });
  const l = await lab.host("l", { segment: lan, address: "10.77.1.12/24" });
  const r = await s.run(["nft", "-f", "-"], {
    stdin: `table ip refuse {
  chain out {
    type filter hook output priority 0; policy accept;
    udp dport ${port} @th,96,32 != 0 numgen random mod 10 0 counter drop
  }
}
`,
  });
  assert.equal(r.code, 0, r.stderr);
  return { s, l };
}

/** What the rule refused. */
async function refused(s: Host): Promise<number> {
  const r = await s.run(["nft", "-j", "list", "table", "ip", "refuse"]);
  for (const item of JSON.parse(r.stdout).nftables) {
    for (const expr of item.rule?.expr ?? []) {
      if (expr.counter !== undefined) return expr.counter.packets;
    }
  }
  throw new Error(`no counter in ${r.stdout}`);
}

/** 300 numbered requests 5 ms apart (about 1.5 s: two or three lines at most). */
const RUN = ["--seq", "-c", "300", "--interval", "5ms", "-w", "500ms"];

netnsTest(
  "send errors: refused sends are named once in their sentence, counted at most once a second, and in the summary and the report",
  async () => {
    await using lab = await createLab();
    const port = 22501;
    const { s, l } = await refusingHost(lab, port);
    const listener = await startListener(l, [
      ...groupFlags(GROUP, port, "eth0"),
      "-q",
      "--rate-limit",
      "0",
    ]);
    const dir = await Deno.makeTempDir({ prefix: "mcast-send-errors-" });
    try {
      const report = `${dir}/run.html`;
      const r = await runMcast(s, [
        "send",
        ...groupFlags(GROUP, port, "eth0"),
        ...RUN,
        "-q",
        "--report",
        report,
      ], { timeoutMs: 60_000 });
      await stopListener(listener);
      const n = await refused(s);
      const what = `refused ${n}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
      assert.equal(r.code, 0, what);
      assert.ok(n > 0, what);
      // Above the progress line, with the replies' lines (stdout).
      const errors = r.stdout.split("\n").filter((line) =>
        line.includes("not sent so far")
      );
      // The first says why, in the sentence a failed first send ends with.
      assert.match(
        errors[0],
        /^Cannot send \d+ bytes to 239\.77\.22\.2:22501 via interface \S+: a firewall rule on this host refused it \(nftables or iptables, output chain, UDP to port 22501\): allow the port there \(EPERM\); counting such sends and going on \(not sent so far: EPERM \d+\)$/,
        what,
      );
      for (const line of errors.slice(1)) {
        assert.match(line, /^not sent so far: EPERM \d+$/, what);
      }
      // At most one a second, over a run of about 1.5 s.
      assert.ok(errors.length <= 3, what);
      assert.match(
        r.stdout,
        new RegExp(
          `^${
            300 - n
          } sent, ${n} not sent \\(EPERM ${n}; loss counts only the ${
            300 - n
          } that left\\), ${300 - n} replies from 1 responder`,
          "m",
        ),
        what,
      );
      const page = await Deno.readTextFile(report);
      assert.match(
        page,
        new RegExp(`${n} did not leave this host \\(EPERM ${n}: the OS`),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { kernel: ["nftables"] },
);

netnsTest(
  "send errors: --json gives sendError events at most once a second, and the summary's sendErrors",
  async () => {
    await using lab = await createLab();
    const port = 22502;
    const { s, l } = await refusingHost(lab, port);
    const listener = await startListener(l, [
      ...groupFlags(GROUP, port, "eth0"),
      "-q",
      "--rate-limit",
      "0",
    ]);
    const r = await runMcast(s, [
      "send",
      "--json",
      ...groupFlags(GROUP, port, "eth0"),
      ...RUN,
    ], { timeoutMs: 60_000 });
    await stopListener(listener);
    const n = await refused(s);
    const events = parseJsonLines(r.stdout);
    const errors = events.filter((e) => e.event === "sendError");
    const summary = events.find((e) => e.event === "summary") as Json;
    const what = `refused ${n}\n${JSON.stringify(errors)}\n${
      JSON.stringify(summary)
    }`;
    assert.ok(errors.length >= 1 && errors.length <= 3, what);
    assert.equal(errors[0].errno, "EPERM", what);
    for (const error of errors) {
      assert.deepEqual(Object.keys(error).slice(0, 2), ["event", "time"]);
      assert.ok(Number.isFinite(Date.parse(error.time as string)), what);
    }
    assert.match(
      errors[0].message as string,
      /a firewall rule on this host refused it/,
    );
    assert.deepEqual(summary.sendErrors, { EPERM: n }, what);
    assert.equal(summary.sent, 300 - n, what);
    const [row] = summary.perResponder as Json[];
    assert.equal(row.lossPercent, 0, "loss counts only what left");
  },
  { kernel: ["nftables"] },
);
