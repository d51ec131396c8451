// Issue 22, item 7: send says what explains its loss. Against a default
// listener, `send --seq --rate 1000` loses most of its requests to the
// listener's per-source limit (10 replies a second, a burst of 20), which
// only the listener's summary showed; now send's summary names the limits
// that could explain it and the listener's flags. Loopback only: group
// 239.22.2.x, ports 22201-22209.
import assert from "node:assert/strict";
import { onLoopback, runMcast, startListener } from "./support/cli_process.ts";
import { listenerLimitsHint } from "../cli/listener_limits.ts";

const LOSSY = ["--seq", "--rate", "1000", "-c", "500", "-w", "500ms"];

Deno.test("send hints: loss at 1,000 requests a second against a default listener names its per-source limit and --rate-limit", async () => {
  await using _listener = await startListener("239.22.2.1", 22201, [], {
    readyTimeoutMs: 30_000,
  });
  const text = await runMcast(
    ["send", ...onLoopback("239.22.2.1", 22201), ...LOSSY],
    { timeoutMs: 30_000 },
  );
  const report = [...text.stdout, ...text.stderr].join("\n");
  const hint = text.stdout.find((line) => line.startsWith("hint: "));
  assert.ok(hint, report);
  assert.match(
    hint,
    /^hint: 127\.0\.0\.1:22201 answered \d+ of 500 at \d+ requests a second: no more than a listener's default limit allows, 10 replies a second to each source \(a burst of 20; listen --rate-limit R raises it, 0 turns it off\); its summary counts the rest as rate-limited$/,
  );
  assert.doesNotMatch(hint, /--global-rate/, "1,000 a second in all is not it");
  // --json: the same words in the summary (a listener of its own: the first
  // one's bucket for 127.0.0.1 is empty now).
  await using _again = await startListener("239.22.2.5", 22205, [], {
    readyTimeoutMs: 30_000,
  });
  const json = await runMcast(
    ["send", "--json", ...onLoopback("239.22.2.5", 22205), ...LOSSY],
    { timeoutMs: 30_000 },
  );
  const summary = JSON.parse(json.stdout.at(-1)!);
  assert.equal(summary.event, "summary");
  assert.equal(summary.hints.length, 1, json.stdout.at(-1));
  assert.match(summary.hints[0], /listen --rate-limit R raises it/);
});

Deno.test("send hints: with the per-source limit off, 2,000 requests a second lose what the global limit (1,000 a second) refuses, and the hint names --global-rate only", async () => {
  await using _listener = await startListener("239.22.2.2", 22202, [
    "--rate-limit",
    "0",
  ], { readyTimeoutMs: 30_000 });
  const run = await runMcast([
    "send",
    "--json",
    ...onLoopback("239.22.2.2", 22202),
    "--seq",
    "--rate",
    "2000",
    "-c",
    "8000",
    "-w",
    "500ms",
  ], { timeoutMs: 30_000 });
  const summary = JSON.parse(run.stdout.at(-1)!);
  const [row] = summary.perResponder;
  assert.ok(row.lossPercent > 0, run.stdout.at(-1));
  assert.equal(summary.hints?.length, 1, run.stdout.at(-1));
  assert.match(
    summary.hints[0],
    /1000 replies a second in all \(a burst of 2000; listen --global-rate R\)/,
  );
  assert.doesNotMatch(summary.hints[0], /--rate-limit/);
});

Deno.test("send hints: no loss, or loss no limit explains, has no hint", async () => {
  await using _listener = await startListener("239.22.2.3", 22203, [
    "--rate-limit",
    "0",
    "--global-rate",
    "0",
  ], { readyTimeoutMs: 30_000 });
  const run = await runMcast(
    ["send", "--json", ...onLoopback("239.22.2.3", 22203), ...LOSSY],
    { timeoutMs: 30_000 },
  );
  const summary = JSON.parse(run.stdout.at(-1)!);
  assert.equal(summary.perResponder[0].lossPercent, 0, run.stdout.at(-1));
  assert.equal(summary.hints, undefined);
  // A rate a default listener answers in full: nothing to explain.
  await using _plain = await startListener("239.22.2.4", 22204, [], {
    readyTimeoutMs: 30_000,
  });
  const slow = await runMcast([
    "send",
    ...onLoopback("239.22.2.4", 22204),
    "--seq",
    "--rate",
    "8",
    "-c",
    "4",
    "-w",
    "300ms",
  ], { timeoutMs: 30_000 });
  assert.equal(slow.code, 0, slow.stderr.join("\n"));
  assert.ok(!slow.stdout.some((line) => line.startsWith("hint:")));
});

Deno.test("send hints: a limit is named only when it binds and the answers fit it", () => {
  const row = (replies: number, sent: number) => ({
    from: "10.77.1.2",
    port: 10000,
    replies,
    lossPercent: Math.round((1 - replies / sent) * 10000) / 100,
    duplicates: 0,
  });
  const hint = (sent: number, seconds: number, rate: number, replies: number) =>
    listenerLimitsHint({ sent, seconds, rate, rows: [row(replies, sent)] });
  // 500 at 1,000/s over 1 s, 25 answered: the per-source limit (20 + 10/s).
  assert.match(hint(500, 1, 1000, 25)!, /--rate-limit R/);
  assert.doesNotMatch(hint(500, 1, 1000, 25)!, /--global-rate/);
  // 6,000 at 3,000/s over 2.5 s, 4,400 answered: the global one (2,000 + 1,000/s).
  assert.match(hint(6000, 2.5, 3000, 4400)!, /--global-rate R/);
  assert.doesNotMatch(hint(6000, 2.5, 3000, 4400)!, /--rate-limit/);
  // Fewer sent than a burst lets through: no limit refused any.
  assert.equal(hint(2, 0.5, 5000, 1), undefined);
  // Far fewer answered than the limit allows: something stricter.
  assert.equal(hint(500, 1, 1000, 3), undefined);
  // Slower than the limit: not it.
  assert.equal(hint(50, 10, 5, 20), undefined);
  // No loss: nothing to explain.
  assert.equal(hint(500, 1, 1000, 500), undefined);
});
