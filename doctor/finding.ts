/**
 * One line of `mcast doctor`: a check, its verdict, what was found and
 * the fix.
 *
 * @module
 */

/** `ok`: nothing to do; `warn`: works, with a caveat; `fail`: multicast cannot work as asked. */
export type Verdict = "ok" | "warn" | "fail";

/** The result of one check. */
export interface Finding {
  /** The check's name: `interfaces`, `route`, `rp_filter`, ... */
  check: string;
  /** Its verdict. */
  verdict: Verdict;
  /** What was found, in one sentence. */
  found: string;
  /** What to type or change, when something is to be done. */
  fix?: string;
}

/**
 * Builds a finding; leaves `fix` out when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { finding } from "./finding.ts";
 * assert.deepEqual(finding("ttl", "ok", "fine"), { check: "ttl", verdict: "ok", found: "fine" });
 * ```
 */
export function finding(
  check: string,
  verdict: Verdict,
  found: string,
  fix?: string,
): Finding {
  return fix === undefined
    ? { check, verdict, found }
    : { check, verdict, found, fix };
}

/**
 * The exit status doctor ends with: 1 when any check failed (multicast
 * cannot work for the target on this host), else 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { doctorExitStatus, finding } from "./finding.ts";
 * assert.equal(doctorExitStatus([finding("a", "warn", "x")]), 0);
 * assert.equal(doctorExitStatus([finding("a", "fail", "x")]), 1);
 * ```
 */
export function doctorExitStatus(findings: readonly Finding[]): 0 | 1 {
  return findings.some((f) => f.verdict === "fail") ? 1 : 0;
}
