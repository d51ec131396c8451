/**
 * A listener's checked options (`planListen`): reply limits that can
 * refuse nothing leave no rate limiter in the reply path, while bad
 * limits are still refused.
 *
 * @module
 */

import assert from "node:assert/strict";
import { McastRangeError } from "../lib/errors.ts";
import { parseGroup } from "../lib/group.ts";
import { planListen } from "../lib/listener/options.ts";
import { ack } from "../plugins/responders/ack.ts";
import { LOOPBACK } from "./support/loopback.ts";

const group = parseGroup("239.61.8.1");
const base = { responder: ack(), interface: LOOPBACK };

Deno.test("listen options: every reply limit off leaves no rate limiter", () => {
  for (
    const rateLimit of [false, { perSource: 0, global: 0 }] as const
  ) {
    assert.equal(planListen(group, { ...base, rateLimit }).limiter, undefined);
  }
});

Deno.test("listen options: a limit that is on keeps the rate limiter, with its limits", () => {
  assert.notEqual(planListen(group, base).limiter, undefined);
  for (
    const rateLimit of [{ perSource: 0, global: 5 }, {
      perSource: 5,
      global: 0,
    }]
  ) {
    const limiter = planListen(group, { ...base, rateLimit }).limiter;
    assert.ok(limiter !== undefined);
    assert.equal(limiter.limits.perSource, rateLimit.perSource);
    assert.equal(limiter.limits.global, rateLimit.global);
  }
});

Deno.test("listen options: a bad reply limit is refused even with the other off", () => {
  assert.throws(
    () =>
      planListen(group, { ...base, rateLimit: { perSource: -1, global: 0 } }),
    McastRangeError,
  );
});
