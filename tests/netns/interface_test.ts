// Issue 4: choosing the interface with -i, by name or by address, for send
// and listen, on a real (namespaced) network. A two-homed node (the lab's
// router with no multicast routes, so it forwards nothing) sits on two
// segments: -i picks which one a datagram leaves by, and which one a
// listener hears. Every test builds its own lab; nothing leaves the
// namespaces. See lab.ts, topologies.ts and mcast_cli.ts.
//
//   dual is routedSegments' router "r", with routes: []
//   h1 10.77.1.11 ── seg "left" ── eth0 10.77.1.1 [dual] eth1 10.77.2.1 ── seg "right" ── h2 10.77.2.11
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Lab } from "../../lab/lab.ts";
import {
  assertHeard,
  describe,
  groupFlags,
  runMcast,
  send,
  type SendRun,
  startListener,
} from "../../lab/mcast_cli.ts";
import { routedSegments } from "../../lab/topologies.ts";

const GROUP = "239.77.7.1";
const WAIT = ["-w", "600ms"];

async function twoSegments(lab: Lab) {
  const { left, right, router: dual } = await routedSegments(lab, {
    routes: [],
  });
  const h1 = await lab.host("h1", { segment: left, address: "10.77.1.11/24" });
  const h2 = await lab.host("h2", { segment: right, address: "10.77.2.11/24" });
  return { dual, h1, h2 };
}

/**
 * Runs `mcast listen ARGS` and `mcast send ARGS` side by side on a lone host
 * (10.77.1.11); a wrongly started listener is cut off after 10 s. Each
 * result comes with `what`, its command, exit code and stderr for
 * assertion messages.
 */
async function listenAndSend(args: (command: "listen" | "send") => string[]) {
  await using lab = await createLab();
  const lan = await lab.segment("lan");
  const host = await lab.host("h", { segment: lan, address: "10.77.1.11/24" });
  return await Promise.all(
    (["listen", "send"] as const).map(async (command) => {
      const r = await runMcast(host, [command, ...args(command)], {
        timeoutMs: 10_000,
      });
      return { ...r, what: `${command}: exit ${r.code}\n${r.stderr}` };
    }),
  );
}

/** The two-homed node is a lab router: it runs smcrouted. */
const DUAL = { needs: ["smcrouted"] };

/** Stack traces look like "    at fn (file:line:col)". */
const STACK = /^\s+at\s/m;

netnsTest(
  "interface: send -i NAME and -i ADDRESS leave by the same interface",
  async () => {
    await using lab = await createLab();
    const { dual, h1, h2 } = await twoSegments(lab);
    // h1 joins by name, h2 by address; -i eth0 resolves to eth0's address.
    const [l1, l2] = await Promise.all([
      startListener(h1, groupFlags(GROUP, 10401, "eth0")),
      startListener(h2, groupFlags(GROUP, 10401, "10.77.2.11")),
    ]);
    assert.equal(l1.ready.interface, "10.77.1.11");
    assert.equal(l2.ready.interface, "10.77.2.11");

    const choices = ["eth0", "10.77.1.1", "eth1", "10.77.2.1", "lo"];
    const runs = await Promise.all(
      choices.map((i) => send(dual, [...groupFlags(GROUP, 10401, i), ...WAIT])),
    );
    const got = (run: SendRun) => ({
      code: run.code,
      from: run.replies.map((r) => r.from),
    });
    const expected = [
      { code: 0, from: [h1.address] },
      { code: 0, from: [h1.address] },
      { code: 0, from: [h2.address] },
      { code: 0, from: [h2.address] },
      { code: 1, from: [] }, // lo: nobody else on the loopback
    ];
    assert.deepEqual(
      runs.map(got),
      expected,
      runs.map((r, i) => `-i ${choices[i]}: ${describe(r)}`).join("\n"),
    );

    // Each host heard the two sends meant for its segment, from dual's
    // address on that segment.
    for (const [l, from] of [[l1, "10.77.1.1"], [l2, "10.77.2.1"]] as const) {
      await assertHeard(l, [from, from], { checkReplied: false });
    }
  },
  DUAL,
);

netnsTest(
  "interface: listen -i NAME and -i ADDRESS hear only that interface",
  async () => {
    await using lab = await createLab();
    const { dual, h1, h2 } = await twoSegments(lab);
    const [byName, byAddress] = await Promise.all([
      startListener(dual, groupFlags(GROUP, 10402, "eth1")),
      startListener(dual, groupFlags(GROUP, 10403, "10.77.2.1")),
    ]);
    assert.equal(byName.ready.interface, "10.77.2.1");
    assert.equal(byAddress.ready.interface, "10.77.2.1");

    const cases = [
      { host: h1, port: 10402, code: 1, from: [] },
      { host: h1, port: 10403, code: 1, from: [] },
      { host: h2, port: 10402, code: 0, from: ["10.77.2.1"] },
      { host: h2, port: 10403, code: 0, from: ["10.77.2.1"] },
    ];
    const runs = await Promise.all(
      cases.map((c) => send(c.host, [...groupFlags(GROUP, c.port), ...WAIT])),
    );
    assert.deepEqual(
      runs.map((r) => ({ code: r.code, from: r.replies.map((x) => x.from) })),
      cases.map((c) => ({ code: c.code, from: c.from })),
      runs.map((r, i) =>
        `${cases[i].host.name} -> port ${cases[i].port}: ${describe(r)}`
      ).join("\n"),
    );
    // h1's datagrams arrived on eth0, which neither listener joined on.
    for (const l of [byName, byAddress]) {
      await assertHeard(l, [h2.address], { checkReplied: false });
    }
  },
  DUAL,
);

netnsTest(
  "interface: -i nosuch0 exits 2 naming it and listing the host's interfaces",
  async () => {
    const runs = await listenAndSend(() => ["-g", GROUP, "-i", "nosuch0"]);
    for (const r of runs) {
      assert.equal(r.code, 2, r.what);
      assert.equal(r.stdout, "", r.what);
      const first = r.stderr.split("\n")[0];
      assert.match(first, /"nosuch0"/, r.what);
      // The interfaces the host does have: lo and eth0.
      assert.match(first, /\blo\b/, r.what);
      assert.match(first, /\beth0\b/, r.what);
      assert.doesNotMatch(r.stderr, STACK, r.what);
    }
  },
);

netnsTest(
  "interface: -i with an IPv4 address this host lacks fails with one line naming it",
  async () => {
    const runs = await listenAndSend((command) => [
      "--json",
      "-g",
      GROUP,
      "-i",
      "10.77.9.9",
      ...(command === "send" ? WAIT : []),
    ]);
    for (const r of runs) {
      assert.notEqual(r.code, 0, r.what);
      assert.ok(!r.timedOut, r.what);
      // Nothing was joined or sent: no ready line, no summary.
      assert.equal(r.stdout, "", r.what);
      const lines = r.stderr.split("\n").filter((l) =>
        l.trim() !== "" && !/^Try "mcast/.test(l)
      );
      assert.equal(lines.length, 1, r.what);
      assert.match(lines[0], /^mcast (listen|send): .*10\.77\.9\.9/, r.what);
      assert.doesNotMatch(r.stderr, STACK, r.what);
    }
  },
);
