/**
 * `mesh --report FILE.html` in a real browser: the page of a made-up run
 * of six hosts (one pair whose multicast fails, another lossy) rendered
 * by headless Chromium, with green and red heatmap cells, blue (multicast)
 * and orange (unicast) round-trip lines, and no console message; and the
 * launcher lets `mesh`'s child write that one file.
 *
 * Without Chromium the browser test is skipped with the reason, except
 * under CI=true, where a missing browser fails. No socket is opened here.
 *
 * @module
 */

import assert from "node:assert/strict";
import { permissionsFor } from "../cli/launch.ts";
import { MeshRecorder, meshReportPage } from "../cli/mesh_report_html.ts";
import type { MeshMatrixEvent, MeshPair } from "../lib/mesh/events.ts";
import { CHROMIUM, ON_CI, screenshot } from "./support/chromium.ts";
import { countPixels, decodePng } from "./support/png.ts";
import { tempDir } from "./support/temp_dir.ts";

const HOSTS = Array.from({ length: 6 }, (_, i) => `10.77.1.${i + 1}`);
const T0 = Date.parse("2025-01-01T00:00:00.000Z");

/** Pair `from -> to` after `i` intervals: 1 -> 4 fails, 2 -> 5 loses some. */
function pair(from: string, to: string, i: number): MeshPair {
  const fails = from === HOSTS[0] && to === HOSTS[3];
  const lossy = from === HOSTS[1] && to === HOSTS[4];
  const received = fails ? 0 : lossy ? i - Math.floor(i / 4) : i;
  const rtt = 0.2 + 0.05 * Math.sin(i + from.length + to.length);
  return {
    from,
    to,
    multicastLossPercent: i === 0 ? null : 100 * (1 - received / i),
    unicastLossPercent: 0,
    multicastRttMs: fails ? null : { p50: rtt, p99: rtt * 2 },
    unicastRttMs: { p50: rtt * 0.8, p99: rtt * 1.5 },
    joinMissed: 0,
    duplicates: 0,
    reordered: 0,
    received,
    expected: i,
    state: fails ? "multicast-fails" : lossy ? "lossy" : "ok",
  };
}

function pairsAt(i: number): MeshPair[] {
  return HOSTS.flatMap((from) =>
    HOSTS.filter((to) => to !== from).map((to) => pair(from, to, i))
  );
}

/** The page of a 20-interval run. */
function page(): string {
  const recorder = new MeshRecorder();
  for (let i = 1; i <= 20; i++) {
    recorder.interval({
      event: "interval",
      time: new Date(T0 + i * 500).toISOString(),
      probesSent: i,
      hosts: HOSTS,
      pairs: pairsAt(i),
    });
  }
  const pairs = pairsAt(20);
  const matrix: MeshMatrixEvent = {
    event: "matrix",
    time: new Date(T0 + 10_500).toISOString(),
    self: HOSTS[0],
    hosts: HOSTS,
    pairs,
    expected: HOSTS,
    missing: [],
    ok: false,
    failures: pairs.filter((p) => p.state !== "ok").map((p) => ({
      from: p.from,
      to: p.to,
      reason: `multicast ${p.multicastLossPercent}% lost`,
      unicastWorks: true,
    })),
  };
  return meshReportPage(matrix, recorder, {
    group: "239.77.21.9",
    port: 42100,
    command: "mcast mesh -c 20 --interval 500ms --report run.html",
    maxLossPercent: 0,
  });
}

Deno.test("launcher: mesh --report FILE lets the child write that file only", () => {
  const flags = permissionsFor(
    "mesh",
    ["--report", "run.html", "-c", "3"],
    "/w",
  );
  assert.ok(flags.includes("--allow-write=/w/run.html"), flags.join(" "));
  assert.ok(flags.includes("--allow-net"), flags.join(" "));
  assert.equal(
    permissionsFor("mesh", ["-c", "3"], "/w").some((flag) =>
      flag.startsWith("--allow-write")
    ),
    false,
  );
});

const isGreen = (r: number, g: number, b: number) =>
  Math.abs(r - 0x2d) < 20 && Math.abs(g - 0xa4) < 20 && Math.abs(b - 0x4e) < 20;
const isRed = (r: number, g: number, b: number) => r > 170 && g < 90 && b < 90;
const isBlue = (r: number, g: number, b: number) =>
  b > 180 && r < 90 && g > 70 && g < 160;
const isOrange = (r: number, g: number, b: number) =>
  r > 150 && g > 50 && g < 120 && b < 60;

Deno.test({
  name:
    "mesh report page in headless Chromium: heatmaps, round-trip lines, no console message",
  ignore: CHROMIUM === undefined && !ON_CI,
  async fn() {
    assert.ok(CHROMIUM, "CI must install chromium");
    await using dir = await tempDir("mcast-mesh-report-");
    await Deno.writeTextFile(`${dir.path}/run.html`, page());
    const shot = `${dir.path}/run.png`;
    const rendered = await screenshot(
      `file://${dir.path}/run.html`,
      shot,
      2400,
    );
    assert.deepEqual(rendered.console, [], rendered.stderr.join("\n"));
    const image = await decodePng(await Deno.readFile(shot));
    const green = countPixels(image, isGreen);
    const red = countPixels(image, isRed);
    const blue = countPixels(image, isBlue);
    const orange = countPixels(image, isOrange);
    // 30 + 30 cells, all but one or two green; one red cell (1 -> 4).
    assert.ok(green > 20_000, `${green} green heatmap pixels`);
    assert.ok(red > 200, `${red} red pixels (a failing cell, lost ticks)`);
    assert.ok(blue > 1_000, `${blue} blue multicast line pixels`);
    assert.ok(orange > 1_000, `${orange} orange unicast line pixels`);
  },
});
