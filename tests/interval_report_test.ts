// listen's interval lines and batched output, in memory: what an interval
// added to the counters, per second, with only the drop counters that grew;
// output lines gathered into one write, diagnostics after what came before
// them, nothing lost at flush.
import assert from "node:assert/strict";
import {
  intervalEvent,
  intervalFigures,
  intervalLine,
} from "../cli/interval_report.ts";
import { BatchedLines } from "../cli/batched_lines.ts";
import { type ListenerStats, newListenerStats } from "../lib/plugin.ts";

const ZERO: ListenerStats = { ...newListenerStats(), kernelDrops: 0 };

Deno.test("interval: per-second rates over the interval, drop counters only when they grew", () => {
  const before = { ...ZERO, received: 100, replied: 50, refused: 3 };
  const after = {
    ...ZERO,
    received: 1100,
    replied: 550,
    refused: 3,
    kernelDrops: 12,
    pending: 4,
  };
  const figures = intervalFigures(before, after, 1000, 1500);
  assert.deepEqual(figures, {
    start: 1,
    end: 1.5,
    received: 1000,
    receivedPerSecond: 2000,
    replied: 500,
    repliedPerSecond: 1000,
    drops: { kernelDrops: 12 },
  });
  assert.equal(
    intervalLine(figures),
    "[  1.0-  1.5 s] 1000 received (2000/s), 500 replied (1000/s), 12 dropped by the kernel",
  );
  assert.deepEqual(intervalEvent(figures), {
    event: "interval",
    start: 1,
    end: 1.5,
    received: 1000,
    receivedPerSecond: 2000,
    replied: 500,
    repliedPerSecond: 1000,
    kernelDrops: 12,
  });
});

Deno.test("interval: a listener without kernelDrops (not readable) has none in its lines", () => {
  const { kernelDrops: _, ...without } = ZERO;
  const figures = intervalFigures(
    without,
    { ...without, received: 5 },
    0,
    1000,
  );
  assert.deepEqual(figures.drops, {});
  assert.equal(
    intervalLine(figures),
    "[  0.0-  1.0 s] 5 received (5/s), 0 replied (0/s)",
  );
});

Deno.test("batched lines: one write per batch, diagnostics after the output before them, all written at flush", async () => {
  const writes: [string, string][] = [];
  const lines = new BatchedLines({
    out: (text) => writes.push(["out", text]),
    err: (text) => writes.push(["err", text]),
    write: () => {},
    isTerminal: false,
    cwd: ".",
  });
  lines.out("a");
  lines.out("b");
  assert.deepEqual(writes, [], "nothing written before the event loop turns");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(writes, [["out", "a\nb"]]);
  lines.out("c");
  lines.err("oops");
  lines.out("d");
  lines.flush();
  assert.deepEqual(writes.slice(1), [
    ["out", "c"],
    ["err", "oops"],
    ["out", "d"],
  ]);
  lines.flush();
  assert.equal(writes.length, 4, "a second flush writes nothing");
});

Deno.test("batched lines: 64 KiB waiting are written at once", () => {
  const writes: string[] = [];
  const lines = new BatchedLines({
    out: (text) => writes.push(text),
    err: () => {},
    write: () => {},
    isTerminal: false,
    cwd: ".",
  });
  const line = "x".repeat(1023);
  for (let i = 0; i < 64; i++) lines.out(line);
  assert.equal(writes.length, 1);
  assert.equal(writes[0].split("\n").length, 64);
  lines.flush();
  assert.equal(writes.length, 1);
});
