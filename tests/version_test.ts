import assert from "node:assert/strict";
import { VERSION } from "../lib/version.ts";

Deno.test("VERSION matches deno.json", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  assert.equal(VERSION, config.version);
});

Deno.test("the pinned Deno version is the one in .deno-version", async () => {
  const pinned =
    (await Deno.readTextFile(new URL("../.deno-version", import.meta.url)))
      .trim();
  assert.match(pinned, /^\d+\.\d+\.\d+$/);
  const ci = await Deno.readTextFile(new URL("../.ci/run", import.meta.url));
  assert.ok(
    ci.includes(".deno-version"),
    ".ci/run installs the version pinned in .deno-version",
  );
});
