// Signals: SIGINT and SIGTERM stop a listener cleanly within a second, even
// when its plugin's teardown hangs; a second Ctrl-C exits at once.
// Loopback only: groups 239.24.x.x, ports 24001-24099.
import assert from "node:assert/strict";
import { startListener } from "./support/cli_process.ts";
import { tempDir } from "./support/temp_dir.ts";

const READY_MS = 10_000;

const STUCK_PLUGIN = `export default {
  name: "stuck",
  respond: () => undefined,
  teardown: () => new Promise(() => {}), // never finishes
};
`;

async function stuckListener(group: string, port: number, dir: string) {
  await Deno.writeTextFile(`${dir}/stuck.ts`, STUCK_PLUGIN);
  return await startListener(group, port, ["--plugin", "./stuck.ts"], {
    cwd: dir,
    env: { INIT_CWD: dir },
    readyTimeoutMs: READY_MS,
  });
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`signals: ${signal} stops within a second although teardown hangs`, async () => {
    await using dir = await tempDir();
    await using listener = await stuckListener(
      "239.24.0.1",
      signal === "SIGINT" ? 24001 : 24002,
      dir.path,
    );
    const started = performance.now();
    const result = await listener.proc.stop(signal, 5_000);
    const elapsed = performance.now() - started;
    assert.equal(result.code, 0);
    const events = result.stdout.map((line) => JSON.parse(line));
    assert.equal(events.at(-1).event, "summary");
    const teardown = events.find((event) => event.kind === "teardown");
    assert.ok(teardown, "the hanging teardown is reported");
    assert.match(
      teardown.message,
      /"stuck" failed in teardown\(\): did not finish within 500 ms/,
    );
    assert.ok(elapsed < 1000, `stopped in ${Math.round(elapsed)} ms`);
  });
}

Deno.test("signals: a second Ctrl-C exits at once, without waiting for the teardown", async () => {
  await using dir = await tempDir();
  await using listener = await stuckListener("239.24.0.2", 24003, dir.path);
  listener.proc.child.kill("SIGINT");
  await new Promise((resolve) => setTimeout(resolve, 100));
  const result = await listener.proc.stop("SIGINT", 5_000);
  assert.equal(result.code, 130);
  assert.ok(
    !result.stdout.some((line) => line.includes('"event":"summary"')),
    "it did not wait for the teardown to give up and print the summary",
  );
});
