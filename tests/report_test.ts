/**
 * `send --report FILE.html` (issue 14): the page is self-contained (no
 * network fetch, no script), the launcher lets the child write that one
 * file, a load run through `deno task send` writes it, and a real browser
 * (headless Chromium from Debian) renders it: a screenshot with the plots'
 * dots, lost-request ticks and histogram bars, and no console message.
 *
 * Without Chromium the browser test is skipped with the reason, except
 * under CI=true, where .ci/run installs it and a missing browser fails.
 *
 * Network safety: sockets on 127.0.0.1, group 239.44.3.x, port 44120;
 * the browser opens a file: URL with networking features off, inside the
 * test's network namespace (deno task test). Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { permissionsFor } from "../cli/launch.ts";
import { reportPage, RunRecorder } from "../cli/report_html.ts";
import type { Responder } from "../lib/plugin.ts";
import { text } from "../plugins/codecs/text.ts";
import { listenOnLoopback, LOOPBACK } from "./support/loopback.ts";
import { CHROMIUM, ON_CI, screenshot } from "./support/chromium.ts";
import { countPixels, decodePng } from "./support/png.ts";
import { Subprocess } from "./support/subprocess.ts";
import { denoTask } from "./support/task_process.ts";
import { tempDir } from "./support/temp_dir.ts";

if (CHROMIUM === undefined) {
  console.warn(
    `report_test: no chromium on PATH: the browser test is ${
      ON_CI ? "run and fails (CI must install it)" : "skipped"
    } (apt-get install chromium)`,
  );
}

/** A reply for the recorder. */
function reply(seq: number, rttMs: number) {
  return {
    event: "reply" as const,
    from: "10.0.0.7",
    port: 10000,
    rttMs,
    clock: "kernel" as const,
    size: 3,
    payload: "ack",
    seq,
  };
}

Deno.test("report page: self-contained, with a timeline, lost requests and a histogram per responder", () => {
  const recorder = new RunRecorder();
  for (let seq = 0; seq < 6; seq++) {
    recorder.sent(seq + 1);
    if (seq !== 2 && seq !== 4) recorder.reply(reply(seq, 0.5 + seq / 10));
  }
  recorder.reply(reply(1, 9)); // a duplicate: the first reply counts
  const rows = [{
    from: "10.0.0.7",
    port: 10000,
    replies: 5,
    lossPercent: 33.33,
    duplicates: 1,
    reordered: 0,
    rttMs: {
      min: 0.5,
      avg: 0.7,
      p50: 0.6,
      p90: 1,
      p99: 1,
      p999: 1,
      max: 1,
      stddev: 0,
    },
    jitterMs: null,
    name: "rack-<7>",
    hostname: "h1",
    version: "0.1.0",
  }];
  const html = reportPage(
    [{ group: "239.1.2.3", port: 10000, sent: 6, rows, recorder }],
    "mcast send --seq --report run.html",
    new Date(0),
  );
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/,
  );
  // Nothing to fetch and nothing to run.
  assert.doesNotMatch(html, /<script|<link|<img|src=|href=|url\(|@import/i);
  assert.doesNotMatch(html, /https?:\/\//);
  assert.match(html, /<h2>10\.0\.0\.7:10000<\/h2>/);
  assert.match(html, /4 of 6 requests answered, 2 lost/);
  assert.equal(html.match(/class="lost"/g)?.length, 2);
  assert.equal(
    html.match(/<svg class="timeline"[^]*?<\/svg>/)?.[0].match(/<circle/g)
      ?.length,
    4,
  );
  assert.match(html, /<svg class="histogram"/);
  assert.match(html, /<td class="text">rack-&lt;7&gt;<\/td>/, "escaped");
  assert.match(html, /<td>33\.33%<\/td>/);
});

Deno.test("report page: several groups, each with its table and sections", () => {
  const first = new RunRecorder();
  first.sent(1);
  first.reply({ ...reply(0, 0.5), from: "10.0.0.8" });
  const row = {
    from: "10.0.0.8",
    port: 10000,
    replies: 1,
    lossPercent: 0,
    duplicates: 0,
    reordered: 0,
    rttMs: {
      min: 0.5,
      avg: 0.5,
      p50: 0.5,
      p90: 0.5,
      p99: 0.5,
      p999: 0.5,
      max: 0.5,
      stddev: 0,
    },
    jitterMs: null,
  };
  const html = reportPage([
    { group: "239.1.2.3", port: 10000, sent: 1, rows: [row], recorder: first },
    {
      group: "ff15::1:2",
      port: 10000,
      sent: 1,
      rows: [],
      recorder: new RunRecorder(),
    },
  ], "mcast send -g 239.1.2.3 -g ff15::1:2 --report x.html");
  assert.match(
    html,
    /<title>mcast send: 239\.1\.2\.3 port 10000, ff15::1:2 port 10000<\/title>/,
  );
  assert.match(
    html,
    /<h2 class="group">239\.1\.2\.3 port 10000: 1 request, 1 responder<\/h2>/,
  );
  assert.match(
    html,
    /<h2 class="group">ff15::1:2 port 10000: 1 request, 0 responders<\/h2><p>No responder answered\.<\/p>/,
  );
  assert.match(
    html,
    /<h2>10\.0\.0\.8:10000<\/h2><p>1 of 1 requests answered, 0 lost/,
  );
});

Deno.test("report page: a run nobody answered says so", () => {
  const html = reportPage(
    [{
      group: "239.1.2.3",
      port: 10000,
      sent: 3,
      rows: [],
      recorder: new RunRecorder(),
    }],
    "mcast send --report x.html",
  );
  assert.match(html, /No responder answered\./);
});

Deno.test("launcher: send --report FILE lets the child write that file only", () => {
  assert.deepEqual(
    // FFI (built-in codec, Linux) is no write: left out here.
    permissionsFor("send", ["--seq", "--report", "run.html"], "/w")
      .filter((flag) => flag !== "--allow-ffi"),
    [
      "--allow-net",
      "--allow-sys=networkInterfaces",
      "--allow-write=/w/run.html",
    ],
  );
  assert.ok(
    permissionsFor("send", ["--report=/tmp/r.html"], "/w").includes(
      "--allow-write=/tmp/r.html",
    ),
  );
  assert.ok(
    !permissionsFor("listen", ["--report", "x.html"], "/w").some((flag) =>
      flag.startsWith("--allow-write")
    ),
    "listen has no --report: nothing to write",
  );
});

/** Answers two requests of every three (seq 2, 5, 8, ... are lost). */
function twoOfThree(): Responder {
  let seen = 0;
  return {
    name: "two-of-three",
    respond: () => (seen++ % 3 === 2 ? undefined : "ok"),
  };
}

/** `deno task send ... --report FILE` against a lossy listener; returns the page. */
async function loadRunReport(dir: string): Promise<string> {
  await using _listener = await listenOnLoopback({
    group: "239.44.3.1",
    port: 44120,
    responder: twoOfThree(),
    codec: text(),
    rateLimit: false,
  });
  const file = `${dir}/run.html`;
  await using proc = new Subprocess(
    denoTask("send", [])[0],
    [
      ...denoTask("send", []).slice(1),
      "-g",
      "239.44.3.1",
      "-p",
      "44120",
      "-i",
      LOOPBACK,
      "-c",
      "30",
      "--rate",
      "200",
      "--seq",
      "-q",
      "-w",
      "300ms",
      "--report",
      "run.html",
    ],
    { cwd: dir, env: { INIT_CWD: dir }, name: "deno task send --report" },
  );
  const run = await proc.wait(30_000);
  assert.equal(run.code, 0, run.stderr.join("\n"));
  assert.equal(run.stderr.at(-1), `report written to ${file}`);
  return await Deno.readTextFile(file);
}

Deno.test("deno task send --seq --report writes the page of a load run", async () => {
  await using dir = await tempDir("mcast-report-");
  const html = await loadRunReport(dir.path);
  assert.match(html, /<h2>127\.0\.0\.1:44120<\/h2>/);
  assert.match(html, /20 of 30 requests answered, 10 lost/);
  assert.match(html, /<td>33\.33%<\/td>/);
  assert.match(html, /mcast send -g 239\.44\.3\.1 -p 44120/);
});

const isBlue = (r: number, g: number, b: number) =>
  b > 180 && r < 90 && g > 70 && g < 160;
const isRed = (r: number, g: number, b: number) => r > 170 && g < 90 && b < 90;
const isGreen = (r: number, g: number, b: number) =>
  g > 130 && r < 90 && b < 120;

Deno.test({
  name:
    "report page in headless Chromium: rendered with dots, lost ticks and bars, no console message",
  ignore: CHROMIUM === undefined && !ON_CI,
  async fn() {
    assert.ok(CHROMIUM, "CI must install chromium (.ci/run)");
    await using dir = await tempDir("mcast-report-");
    await loadRunReport(dir.path);
    const shot = `${dir.path}/run.png`;
    const rendered = await screenshot(`file://${dir.path}/run.html`, shot);
    assert.deepEqual(rendered.console, [], rendered.stderr.join("\n"));
    const image = await decodePng(await Deno.readFile(shot));
    assert.deepEqual([image.width, image.height], [1000, 1300]);
    const nonWhite = countPixels(image, (r, g, b) => r + g + b < 720);
    assert.ok(nonWhite > 5_000, `${nonWhite} pixels drawn`);
    const dots = countPixels(image, isBlue);
    const ticks = countPixels(image, isRed);
    const bars = countPixels(image, isGreen);
    assert.ok(dots > 100, `${dots} blue dot pixels`);
    assert.ok(ticks > 40, `${ticks} red tick pixels (10 lost requests)`);
    assert.ok(bars > 300, `${bars} green bar pixels`);

    // The checks can fail: a blank page has none of it, and a page that
    // fetches or throws is caught by its console lines.
    await Deno.writeTextFile(`${dir.path}/blank.html`, "<!DOCTYPE html>");
    await screenshot(`file://${dir.path}/blank.html`, `${dir.path}/blank.png`);
    const blank = await decodePng(await Deno.readFile(`${dir.path}/blank.png`));
    assert.equal(countPixels(blank, (r, g, b) => r + g + b < 720), 0);
    await Deno.writeTextFile(
      `${dir.path}/bad.html`,
      '<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><script>throw new Error("boom")</script>',
    );
    const bad = await screenshot(
      `file://${dir.path}/bad.html`,
      `${dir.path}/bad.png`,
    );
    assert.ok(
      bad.console.some((line) => line.includes("Uncaught Error: boom")),
      bad.stderr.join("\n"),
    );
  },
});
