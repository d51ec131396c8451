/**
 * Runs a command (the test suite) inside a fresh network namespace with
 * only `lo` up, so no test can reach a real interface. Falls back to
 * running it directly, on loopback, where that cannot be done (not root,
 * no `unshare`), and says so.
 *
 * The run gets a report folder (`MCAST_TEST_REPORT_DIR`) where namespace
 * tests note the ones ignored because the kernel lacks a feature; after the
 * run this prints one line per missing feature, naming those tests.
 *
 * Usage: deno run --allow-run --allow-env --allow-read --allow-write run_isolated.ts deno-args...
 * The first argument after the script is handed to this Deno binary.
 *
 * @module
 */

import { ignoredReport, REPORT_DIR_VARIABLE } from "../lab/kernel_features.ts";

const args = Deno.args;
const deno = Deno.execPath();

async function run(
  command: string,
  commandArgs: string[],
  env: Record<string, string> = {},
): Promise<number> {
  const child = new Deno.Command(command, {
    args: commandArgs,
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = () => child.kill("SIGTERM");
  Deno.addSignalListener("SIGINT", forward);
  try {
    return (await child.status).code;
  } finally {
    Deno.removeSignalListener("SIGINT", forward);
  }
}

async function canIsolate(): Promise<string | undefined> {
  if (Deno.env.get("MCAST_ISOLATED") === "1") return "already inside one";
  if (Deno.uid() !== 0) return "not root";
  try {
    const probe = await new Deno.Command("unshare", {
      args: ["--net", "--", "ip", "link", "set", "lo", "up"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!probe.success) {
      return `unshare --net failed: ${
        new TextDecoder().decode(probe.stderr).trim()
      }`;
    }
    return undefined;
  } catch (error) {
    return `cannot run unshare and ip: ${(error as Error).message}`;
  }
}

const why = await canIsolate();
const inherited = Deno.env.get(REPORT_DIR_VARIABLE);
const reportDir = inherited ??
  await Deno.makeTempDir({ prefix: "mcast-tests-" });
let code: number;
if (why === undefined) {
  console.error(
    "mcast tests: running inside a fresh network namespace (only lo is up)",
  );
  code = await run(
    "unshare",
    [
      "--net",
      "--",
      "sh",
      "-c",
      'ip link set lo up && exec "$0" "$@"',
      deno,
      ...args,
    ],
    { MCAST_ISOLATED: "1", [REPORT_DIR_VARIABLE]: reportDir },
  );
} else {
  if (why !== "already inside one") {
    console.error(
      `mcast tests: not isolated in a network namespace (${why}); tests pin 127.0.0.1`,
    );
  }
  code = await run(deno, args, { [REPORT_DIR_VARIABLE]: reportDir });
}
if (inherited === undefined) {
  for (const line of ignoredReport(reportDir)) console.error(line);
  await Deno.remove(reportDir, { recursive: true });
}
Deno.exit(code);
