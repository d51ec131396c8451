/**
 * Smoke test of `deno task bench`: runs `bench/run.ts --quick` in a
 * subprocess (a few seconds; loopback only, like the whole bench, but for
 * row 9's 20 and row 10's 6 namespaced hosts where root can build them) and
 * checks that it exits 0 and writes valid JSON with every row. No
 * assertion on any figure: they depend on the machine.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type BenchResults, ROWS } from "../bench/results.ts";

const RUN = fileURLToPath(new URL("../bench/run.ts", import.meta.url));

Deno.test("bench --quick exits 0 and writes every row as JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcast_bench_smoke_" });
  try {
    const output = `${dir}/results.json`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", RUN, "--quick", `--output=${output}`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, `bench --quick failed:\n${stderr}`);

    const results = JSON.parse(await Deno.readTextFile(output)) as BenchResults;
    assert.equal(results.version, 1);
    assert.equal(results.plan, "quick");
    assert.deepEqual(
      results.rows.map((row) => row.id),
      ROWS.map((row) => row.id),
    );
    for (const row of ROWS) {
      const here = results.measurements.filter((m) => m.row === row.id);
      // Row 2c needs a C compiler; without one it is skipped, and says so.
      const cClientSkipped = results.skipped.some((s) =>
        s.id === "c-pingpong-client"
      );
      if (row.id === "request-reply-c" && cClientSkipped) continue;
      // Row 9 needs root, network namespaces and gcc; without them it is
      // skipped, and says so.
      const hostsSkipped = results.skipped.some((s) => s.id === "fan-in-hosts");
      if (row.id === "fan-in-hosts" && hostsSkipped) continue;
      // Row 11 too, and python3 for its rotating sources.
      const longRunSkipped = results.skipped.some((s) => s.id === "long-run");
      if (row.id.startsWith("long-run-") && longRunSkipped) continue;
      // Row 10 too; and its baseline, dbeacon, needs the Debian package.
      const meshSkipped = results.skipped.some((s) =>
        s.id === "mesh" || s.id === "dbeacon"
      );
      if (row.id === "mesh" && meshSkipped) continue;
      // Rows 2s compare with sockperf (the Debian package) and the C client.
      const sockperfSkipped = results.skipped.some((s) =>
        s.id === "sockperf-server"
      );
      const sockperfRows = [
        "ping-pong-listen",
        "ping-pong-mcast",
        "ping-pong-mcast-rtt",
      ];
      if (sockperfRows.includes(row.id) && sockperfSkipped) continue;
      if (row.id === "ping-pong-send" && cClientSkipped) continue;
      // Row 2p needs python3 (its client); without it it is skipped.
      const pythonSkipped = results.skipped.some((s) =>
        s.id === "request-reply-py"
      );
      if (row.id === "request-reply-py" && pythonSkipped) continue;
      assert.ok(
        here.some((m) => m.side !== "baseline") &&
          here.some((m) => m.side === "baseline"),
        `row ${row.id} lacks mcast or baseline measurements`,
      );
      for (const m of here.filter((m) => m.required)) {
        assert.equal(m.error, undefined, `${row.id} ${m.label}: ${m.error}`);
        assert.ok(m.runs.length > 0, `${row.id} ${m.label} has no runs`);
        assert.equal(typeof m.metrics[row.primary], "number");
      }
    }
    assert.ok(Array.isArray(results.ratios));
    const printed = new TextDecoder().decode(run.stdout);
    for (const row of ROWS) assert.ok(printed.includes(row.title), row.title);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
