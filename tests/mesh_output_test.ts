/**
 * `mcast mesh`'s output, from events made up here in the shape of
 * lib/mesh's (no sockets): the matrix as text (cells, legend, join
 * windows, the failing pairs in words), the interval lines (named pairs
 * while small, a count line a second when large), `--json` (every event,
 * the matrix last), `--max-loss`'s parsing, and the report page.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  MeshEvent,
  MeshIntervalEvent,
  MeshMatrixEvent,
  MeshPair,
} from "../lib/mesh/events.ts";
import type { Io } from "../cli/io.ts";
import { maxLossFlag } from "../cli/mesh_flags.ts";
import {
  failureWords,
  MATRIX_MAX_HOSTS,
  matrixLines,
  percentText,
} from "../cli/mesh_matrix_text.ts";
import { intervalLine, MeshOutput } from "../cli/mesh_output.ts";
import {
  lossColour,
  MeshRecorder,
  meshReportPage,
  SAMPLES_PER_PAIR,
} from "../cli/mesh_report_html.ts";
import { UsageError } from "../cli/usage_error.ts";

const T0 = Date.parse("2025-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** Host n: 10.77.1.n. */
const host = (n: number) => `10.77.1.${n}`;

/** A healthy pair after `probes` probes. */
function okPair(from: string, to: string, probes = 10): MeshPair {
  return {
    from,
    to,
    multicastLossPercent: 0,
    unicastLossPercent: 0,
    multicastRttMs: { p50: 0.2, p99: 0.4 },
    unicastRttMs: { p50: 0.15, p99: 0.3 },
    joinMissed: 0,
    duplicates: 0,
    reordered: 0,
    received: probes,
    expected: probes,
    state: "ok",
  };
}

/** Every ordered pair of `n` hosts, healthy, with `change` applied to each. */
function pairsOf(
  n: number,
  change: (pair: MeshPair) => MeshPair = (pair) => pair,
  probes = 10,
): MeshPair[] {
  const pairs: MeshPair[] = [];
  for (let a = 1; a <= n; a++) {
    for (let b = 1; b <= n; b++) {
      if (a !== b) pairs.push(change(okPair(host(a), host(b), probes)));
    }
  }
  return pairs;
}

/** 3 -> 7 hears no multicast; unicast works. */
function threeToSeven(pair: MeshPair): MeshPair {
  if (pair.from !== host(3) || pair.to !== host(7)) return pair;
  return {
    ...pair,
    multicastLossPercent: 100,
    multicastRttMs: null,
    received: 0,
    state: "multicast-fails",
  };
}

function matrixOf(n: number, pairs: MeshPair[]): MeshMatrixEvent {
  const hosts = Array.from({ length: n }, (_, i) => host(i + 1));
  const failures = pairs.filter((pair) =>
    pair.state !== "ok" && pair.state !== "gone"
  ).map((pair) => ({
    from: pair.from,
    to: pair.to,
    reason: `multicast ${pair.multicastLossPercent}% lost`,
    unicastWorks: pair.unicastLossPercent === 0,
  }));
  return {
    event: "matrix",
    time: at(5000),
    self: host(1),
    hosts,
    pairs,
    expected: hosts,
    missing: [],
    ok: failures.length === 0,
    failures,
  };
}

function interval(n: number, ms: number, pairs: MeshPair[]): MeshIntervalEvent {
  return {
    event: "interval",
    time: at(ms),
    probesSent: Math.round(ms / 1000),
    hosts: Array.from({ length: n }, (_, i) => host(i + 1)),
    pairs,
  };
}

/** An Io that keeps what is written. */
function captured(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (line) => lines.push(line),
    err: (line) => errors.push(line),
    write: () => {},
    isTerminal: false,
    cwd: "/",
  };
}

const LINES = { group: "239.77.21.9", port: 42100, maxLossPercent: 0 };

Deno.test("mesh matrix: 12 clean hosts, 132 cells 0/0, the legend, ok", () => {
  const lines = matrixLines(matrixOf(12, pairsOf(12)), LINES);
  assert.match(
    lines[0],
    /^--- mesh 239\.77\.21\.9 port 42100: 12 hosts, 132 pairs \(132 ok\), as seen from 10\.77\.1\.1 ---$/,
  );
  const grid = lines.slice(1, 14);
  assert.match(grid[0], /^sender \\ receiver\s+1\s+2\s+3 .* 12$/);
  assert.match(grid[1], /^\s+1\*10\.77\.1\.1\s+\.\s+0\/0(\s+0\/0){10}$/);
  assert.match(grid[12], /^\s+12 10\.77\.1\.12(\s+0\/0){11}\s+\.$/);
  assert.equal(lines.join("\n").match(/0\/0/g)?.length, 132);
  assert.ok(lines.some((line) => line.startsWith("cell: multicast loss %")));
  assert.equal(
    lines.at(-1),
    "ok: every pair among 12 expected hosts within --max-loss 0%",
  );
});

Deno.test("mesh matrix: 3 -> 7 named as a multicast-only failure, its cell 100/0", () => {
  const lines = matrixLines(matrixOf(12, pairsOf(12, threeToSeven)), LINES);
  const row3 = lines.find((line) => /^\s+3 10\.77\.1\.3 /.test(line))!;
  const cells = row3.trim().split(/\s+/).slice(2);
  assert.equal(cells[6], "100/0", row3);
  assert.equal(cells.filter((cell) => cell === "0/0").length, 10);
  assert.deepEqual(lines.slice(-2), [
    "FAILED: 1 pair among 12 expected hosts over --max-loss 0%:",
    "  10.77.1.3 -> 10.77.1.7: multicast 100% lost, unicast works",
  ]);
});

Deno.test("mesh matrix: both fail, lossy over --max-loss, missing nodes and join windows in words", () => {
  const pairs = pairsOf(4, (pair) => {
    if (pair.from === host(2) && pair.to === host(4)) {
      return {
        ...pair,
        multicastLossPercent: 100,
        unicastLossPercent: 100,
        state: "both-fail",
      };
    }
    if (pair.from === host(3) && pair.to === host(1)) {
      return { ...pair, multicastLossPercent: 12.5, state: "lossy" };
    }
    if (pair.to === host(4)) return { ...pair, joinMissed: 10 };
    if (pair.to === host(2) && pair.from === host(1)) {
      return { ...pair, joinMissed: 1 };
    }
    return pair;
  });
  const matrix = { ...matrixOf(4, pairs), missing: [host(9)] };
  const lines = matrixLines(matrix, { ...LINES, maxLossPercent: 5 });
  assert.ok(
    lines.includes(
      "probes missed while joining (not counted as loss), per sender: 10.77.1.2 1, 10.77.1.4 10",
    ),
    lines.join("\n"),
  );
  assert.ok(lines.includes("expected, never heard: 10.77.1.9"));
  assert.ok(
    lines.includes(
      "  10.77.1.2 -> 10.77.1.4: multicast 100% lost, unicast 100% lost too",
    ),
    lines.join("\n"),
  );
  assert.ok(
    lines.includes(
      "  10.77.1.3 -> 10.77.1.1: multicast 12.5% lost (over --max-loss 5%), unicast works",
    ),
    lines.join("\n"),
  );
});

Deno.test("mesh matrix: gone and never-heard cells; a mesh too wide is not drawn", () => {
  const pairs = pairsOf(
    3,
    (pair) =>
      pair.from === host(2)
        ? { ...pair, state: "gone" }
        : pair.to === host(3) && pair.from === host(1)
        ? {
          ...pair,
          multicastLossPercent: null,
          unicastLossPercent: null,
          state: "unheard",
        }
        : pair,
  ).filter((pair) => !(pair.from === host(3) && pair.to === host(2)));
  const lines = matrixLines(matrixOf(3, pairs), LINES);
  const row = (n: number) =>
    lines.find((line) =>
      new RegExp(`^\\s+${n}[* ]10\\.77\\.1\\.${n} `).test(line)
    )!
      .trim().split(/\s+/).slice(-3);
  assert.deepEqual(row(1), [".", "0/0", "?"]);
  assert.deepEqual(row(2), ["gone", ".", "gone"]);
  assert.deepEqual(row(3), ["0/0", "?", "."]);

  const wide = MATRIX_MAX_HOSTS + 1;
  const big = matrixLines(
    matrixOf(
      wide,
      pairsOf(wide, (pair) => ({ ...pair, joinMissed: pair.from.length })),
    ),
    LINES,
  );
  assert.match(big[1], /^\(21 hosts: too wide to draw here/);
  assert.ok(!big.some((line) => line.includes("0/0")));
  assert.equal(
    big[2],
    "probes missed while joining (not counted as loss): 9-10 per sender at 21 receivers (--json has each pair's)",
  );
});

Deno.test("mesh failure words: unicast unknown falls back on the library's reason", () => {
  const failure = {
    from: host(1),
    to: host(2),
    reason: "never heard",
    unicastWorks: null,
  };
  assert.equal(
    failureWords(failure, undefined, 0),
    "never heard",
  );
  assert.equal(percentText(0.123), "0.12");
  assert.equal(percentText(33.333), "33.3");
  assert.equal(percentText(null), "-");
});

Deno.test("mesh interval lines: pairs named while small, counts only when large", () => {
  const small = interval(12, 3000, pairsOf(12, threeToSeven));
  assert.equal(
    intervalLine(small, 3000, true),
    "   3.0s  3 sent, 12 hosts, 132 pairs: 131 ok, 1 multicast-fails (10.77.1.3 -> 10.77.1.7 multicast-fails 100%)",
  );
  const five = interval(
    4,
    1000,
    pairsOf(
      4,
      (pair) => pair.to === host(4) ? { ...pair, state: "unheard" } : pair,
    ),
  );
  assert.match(
    intervalLine(five, 1000, true),
    /9 ok, 3 unheard \(10\.77\.1\.1 -> 10\.77\.1\.4 unheard 0%; 10\.77\.1\.2 -> 10\.77\.1\.4 unheard 0%; 10\.77\.1\.3 -> 10\.77\.1\.4 unheard 0%\)$/,
  );

  // A big mesh: a line a second at most, with counts only.
  const io = captured();
  const output = new MeshOutput(io, {
    json: false,
    quiet: false,
    maxLossPercent: 0,
  });
  output.event({
    event: "ready",
    time: at(0),
    self: host(1),
    group: "239.77.21.9",
    port: 42100,
    family: "IPv4",
    watch: false,
  });
  const big = pairsOf(30, threeToSeven, 1);
  for (let ms = 200; ms <= 2000; ms += 200) {
    output.event(interval(30, ms, big));
  }
  const intervals = io.lines.slice(1);
  assert.equal(intervals.length, 2, intervals.join("\n"));
  assert.equal(
    intervals[0],
    "   0.2s  0 sent, 30 hosts, 870 pairs: 869 ok, 1 multicast-fails",
  );
});

Deno.test("mesh output: peers and drops while small; -q keeps the ready line and the matrix", () => {
  for (const quiet of [false, true]) {
    const io = captured();
    const output = new MeshOutput(io, {
      json: false,
      quiet,
      maxLossPercent: 0,
    });
    output.intervalMs = 500;
    const events: MeshEvent[] = [
      {
        event: "ready",
        time: at(0),
        self: host(1),
        group: "239.77.21.9",
        port: 42100,
        family: "IPv4",
        watch: false,
      },
      {
        event: "peer",
        time: at(100),
        peer: host(2),
        state: "joined",
        firstSeq: 3,
      },
      interval(2, 500, pairsOf(2)),
      {
        event: "drop",
        time: at(600),
        from: "10.77.1.66",
        reason: "forged",
        count: 2,
        detail: "a row entry for 10.77.1.2 -> 10.77.1.3",
      },
      { event: "peer", time: at(700), peer: host(2), state: "goodbye" },
      matrixOf(2, pairsOf(2)),
    ];
    for (const event of events) output.event(event);
    assert.equal(
      io.lines[0],
      "mesh on 239.77.21.9 port 42100 (IPv4) as 10.77.1.1, probing every 500 ms; Ctrl-C to stop with the matrix",
    );
    if (quiet) {
      assert.match(io.lines[1], /^--- mesh 239\.77\.21\.9 port 42100: 2 hosts/);
      assert.deepEqual(io.errors, []);
    } else {
      assert.deepEqual(io.lines.slice(1, 4), [
        "10.77.1.2 joined (first probe heard: number 3)",
        "   0.5s  1 sent, 2 hosts, 2 pairs: 2 ok",
        "10.77.1.2 stopped (said goodbye)",
      ]);
      assert.deepEqual(io.errors, [
        "drop (forged) from 10.77.1.66: a row entry for 10.77.1.2 -> 10.77.1.3 (2 since the last such line)",
      ]);
    }
    assert.equal(
      io.lines.at(-1),
      "ok: every pair among 2 expected hosts within --max-loss 0%",
    );
  }
});

Deno.test("mesh --json: every event a line, the matrix last", () => {
  const io = captured();
  const output = new MeshOutput(io, {
    json: true,
    quiet: false,
    maxLossPercent: 0,
  });
  const matrix = matrixOf(12, pairsOf(12, threeToSeven));
  output.event(interval(12, 1000, pairsOf(12)));
  output.event(matrix);
  const events = io.lines.map((line) => JSON.parse(line));
  assert.deepEqual(events.map((e) => e.event), ["interval", "matrix"]);
  assert.deepEqual(events[1], JSON.parse(JSON.stringify(matrix)));
  assert.equal(events[1].pairs.length, 132);
});

Deno.test("mesh --max-loss: 0-100, with or without %, else a usage error naming it", () => {
  assert.equal(maxLossFlag(undefined), 0);
  assert.equal(maxLossFlag("2.5"), 2.5);
  assert.equal(maxLossFlag("5%"), 5);
  for (const bad of ["", "%", "-1", "101", "five", "1e999"]) {
    assert.throws(
      () => maxLossFlag(bad),
      (error) =>
        error instanceof UsageError &&
        error.message.startsWith(`Invalid --max-loss "${bad}"`),
    );
  }
});

Deno.test("mesh report: heatmaps of both matrices, a plot per pair, self-contained", () => {
  const recorder = new MeshRecorder();
  for (let i = 1; i <= 5; i++) {
    recorder.interval(
      interval(
        4,
        i * 1000,
        pairsOf(4, (pair) => ({
          ...pair,
          multicastRttMs: { p50: 0.2 * i, p99: 0.3 * i },
          // 2 -> 3 loses one probe in the third interval.
          expected: i,
          received: pair.from === host(2) && pair.to === host(3) && i >= 3
            ? i - 1
            : i,
        }), i),
      ),
    );
  }
  const matrix = matrixOf(
    4,
    pairsOf(4, (pair) =>
      pair.from === host(2) && pair.to === host(3)
        ? {
          ...pair,
          multicastLossPercent: 100,
          unicastLossPercent: 0,
          state: "multicast-fails",
        }
        : pair),
  );
  const html = meshReportPage(matrix, recorder, {
    group: "239.77.21.9",
    port: 42100,
    command: "mcast mesh --report <x>.html",
    maxLossPercent: 0,
  }, new Date(0));
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/,
  );
  assert.doesNotMatch(html, /<script|<link|<img|src=|href=|url\(|@import/i);
  assert.doesNotMatch(html, /https?:\/\//);
  assert.match(html, /mcast mesh --report &lt;x&gt;\.html/);
  assert.match(
    html,
    /10\.77\.1\.2 -&gt; 10\.77\.1\.3: multicast 100% lost, unicast works/,
  );
  // Two heatmaps of 16 cells each; the failing cell red in the multicast one.
  const maps = html.match(/<svg class="heatmap [^]*?<\/svg>/g)!;
  assert.equal(maps.length, 2);
  for (const map of maps) assert.equal(map.match(/<rect/g)?.length, 16);
  assert.match(
    maps[0],
    new RegExp(
      `fill="${
        lossColour(100).replace(/[()]/g, "\\$&")
      }"><title>10\\.77\\.1\\.2 -&gt; 10\\.77\\.1\\.3: multicast 100% lost, multicast-fails`,
    ),
  );
  assert.equal(maps[1].match(/fill="#2da44e"/g)?.length, 12, "unicast all 0%");
  // A plot per pair, the failing one first, with its lost interval ticked.
  const plots = html.match(/<svg class="pair"[^]*?<\/svg>/g)!;
  assert.equal(plots.length, 12);
  assert.match(plots[0], /10\.77\.1\.2 -&gt; 10\.77\.1\.3/);
  assert.equal(plots[0].match(/class="lost"/g)?.length, 1);
  assert.match(plots[1], /<polyline class="mc" points="[^"]+"/);
  assert.equal(plots[1].match(/class="lost"/g), null);
});

Deno.test("mesh report: a long run keeps a bounded number of samples per pair", () => {
  const recorder = new MeshRecorder();
  const pairs = pairsOf(2);
  for (let i = 0; i < SAMPLES_PER_PAIR * 5; i++) {
    recorder.interval(interval(2, i * 1000, pairs));
  }
  const samples = recorder.samples(host(1), host(2));
  assert.ok(samples.length <= SAMPLES_PER_PAIR, String(samples.length));
  assert.ok(samples.length >= SAMPLES_PER_PAIR / 2, String(samples.length));
  assert.ok(samples[0][0] < 10, String(samples[0]));
  // Still spread over the whole run.
  assert.ok(samples.at(-1)![0] > SAMPLES_PER_PAIR * 4, String(samples.at(-1)));
});
