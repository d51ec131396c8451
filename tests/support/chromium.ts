/**
 * Headless Chromium for the tests that look at a report page (`send
 * --report`, `mesh --report`): whether it is installed, and a screenshot
 * of a page with the console messages the page logged. The browser opens
 * a file: URL with its networking features off; every run is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Subprocess } from "./subprocess.ts";
import { tempDir } from "./temp_dir.ts";

/** The Chromium on PATH, if any. */
export const CHROMIUM: string | undefined = ["chromium", "chromium-browser"]
  .find((name) => {
    try {
      return new Deno.Command("sh", {
        args: ["-c", `command -v ${name}`],
        stdout: "null",
        stderr: "null",
      }).outputSync().success;
    } catch {
      return false;
    }
  });

/** Whether this run is CI's, where a missing browser fails the test. */
export const ON_CI: boolean = Deno.env.get("CI") === "true";

/**
 * Headless Chromium's screenshot of `url` (1000 x `height` pixels) and
 * its console messages (errors, CSP refusals, uncaught exceptions).
 *
 * @param url The page, usually `file://...`.
 * @param png Where the screenshot goes.
 * @param height The window's height. @default {1300}
 */
export async function screenshot(
  url: string,
  png: string,
  height = 1300,
): Promise<{ console: string[]; stderr: string[] }> {
  assert.ok(CHROMIUM, "no chromium on PATH");
  await using profile = await tempDir("mcast-chromium-");
  await using proc = new Subprocess(CHROMIUM, [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    `--user-data-dir=${profile.path}`,
    "--enable-logging=stderr",
    "--v=0",
    `--window-size=1000,${height}`,
    `--screenshot=${png}`,
    url,
  ], { name: "chromium" });
  const done = await proc.wait(60_000);
  assert.equal(done.code, 0, done.stderr.join("\n"));
  return {
    console: done.stderr.filter((line) => /:CONSOLE[:(]/.test(line)),
    stderr: done.stderr,
  };
}
