// Issue 14: discovery on a real (namespaced) segment, where responders
// have addresses of their own: send --expect stops as soon as N distinct
// hosts answered, --expect-from names the host that did not, --count
// rounds end early, and the responder table has a row per host with its
// status document's name. See lab.ts and mcast_cli.ts.
import assert from "node:assert/strict";
import { netnsTest } from "../../lab/availability.ts";
import { createLab, type Host } from "../../lab/lab.ts";
import {
  describe,
  groupFlags,
  runMcast,
  send,
  startListener,
  stopListener,
} from "../../lab/mcast_cli.ts";

/** `snd` 10.77.1.10, three status listeners .11-.13, and `mute` .14 with none. */
async function segment(lab: Awaited<ReturnType<typeof createLab>>) {
  const lan = await lab.segment("lan");
  const sender = await lab.host("snd", {
    segment: lan,
    address: "10.77.1.10/24",
  });
  const hosts: Host[] = [];
  for (let i = 1; i <= 3; i++) {
    hosts.push(
      await lab.host(`h${i}`, {
        segment: lan,
        address: `10.77.1.${10 + i}/24`,
      }),
    );
  }
  const mute = await lab.host("mute", {
    segment: lan,
    address: "10.77.1.14/24",
  });
  return { sender, hosts, mute };
}

type Row = { from: string; replies: number; lossPercent: number; name: string };

netnsTest(
  "discovery: --expect 3 stops as soon as three hosts answered; the table names them",
  async () => {
    await using lab = await createLab();
    const { sender, hosts, mute } = await segment(lab);
    const target = groupFlags("239.77.14.1", 11401);
    const running = await Promise.all(
      hosts.map((h, i) =>
        startListener(h, [
          ...target,
          "--plugin",
          "status",
          "--option",
          `name=node-${i + 1}`,
        ])
      ),
    );
    const status = ["--pad", "512"];

    // Without --expect this run would wait 30 s.
    const started = performance.now();
    const met = await send(sender, [
      ...target,
      ...status,
      "-w",
      "30s",
      "--expect",
      "3",
    ]);
    const elapsed = performance.now() - started;
    assert.equal(met.code, 0, describe(met));
    assert.ok(elapsed < 20_000, `stopped early: ${Math.round(elapsed)} ms`);
    assert.deepEqual(met.summary?.expect, {
      responders: 3,
      answered: 3,
      missing: [],
      met: true,
      roundsMet: 1,
    });
    const rows = met.summary?.perResponder as Row[];
    assert.deepEqual(
      rows.map((r) => [r.from, r.replies, r.lossPercent, r.name]).sort(),
      hosts.map((h, i) => [h.address, 1, 0, `node-${i + 1}`]),
      describe(met),
    );

    // A named host that never answers: named, exit 1.
    const missing = await send(sender, [
      ...target,
      ...status,
      "-w",
      "1s",
      "--expect",
      "3",
      "--expect-from",
      mute.address,
    ]);
    assert.equal(missing.code, 1, describe(missing));
    assert.deepEqual(missing.summary?.expect, {
      responders: 3,
      answered: 3,
      missing: [mute.address],
      met: false,
      roundsMet: 0,
    });

    // Too many expected: "3 of 4", exit 1, in the words people read.
    const human = await runMcast(sender, [
      "send",
      ...target,
      ...status,
      "-w",
      "1s",
      "--expect",
      "4",
    ], { timeoutMs: 60_000 });
    assert.equal(human.code, 1, human.stderr);
    const lines = human.stdout.trimEnd().split("\n");
    assert.equal(lines.at(-1), "3 of 4 expected responders answered");
    const header = lines.findIndex((line) => line.startsWith("responder "));
    assert.match(lines[header], /name +hostname +version$/);
    // Rows come in the order of first reply: sorted here by address.
    const table = lines.slice(header + 1, header + 4).sort();
    assert.deepEqual(
      table.map((line) => line.split(/ +/)[0]),
      hosts.map((h) => `${h.address}:11401`),
    );
    for (const [i, line] of table.entries()) {
      assert.match(line, new RegExp(` node-${i + 1} `));
      // Aligned: each row's name starts in the name column.
      assert.equal(line.indexOf("node-"), lines[header].indexOf("name"));
    }

    // With --count, each round ends as soon as the three answered: five
    // rounds 5 s apart would take 20 s and the wait 30 s more.
    const roundsStarted = performance.now();
    const rounds = await send(sender, [
      ...target,
      ...status,
      "-c",
      "5",
      "--interval",
      "5s",
      "-w",
      "30s",
      "--seq",
      "--expect",
      "3",
    ]);
    const roundsTook = performance.now() - roundsStarted;
    assert.equal(rounds.code, 0, describe(rounds));
    assert.ok(
      roundsTook < 20_000,
      `rounds ended early: ${Math.round(roundsTook)} ms`,
    );
    assert.equal(rounds.summary?.sent, 5);
    assert.equal(rounds.summary?.replies, 15);
    assert.equal(
      (rounds.summary?.expect as { roundsMet: number }).roundsMet,
      5,
    );

    for (const listener of running) {
      const result = await stopListener(listener);
      assert.equal(result.summary?.received, 1 + 1 + 1 + 5, result.output);
    }
  },
);
