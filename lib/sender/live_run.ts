/**
 * A run of `send` as it goes, for a reader that looks now and then (the
 * `--metrics` endpoint, at scrape time): the counters the run keeps for
 * its summary anyway, read in place. Nothing is copied or added per
 * reply for it. The public shape is `SendRunOptions.onStart`'s parameter
 * (written out there, so that mod.ts names no more types); this file
 * names it for the code that makes and reads it.
 *
 * @module
 */

import type { SendRunOptions } from "./options.ts";

/**
 * The live view of one run, handed out by `SendRunOptions.onStart`.
 *
 * @example Read it at any time during the run
 * ```ts ignore
 * import { send } from "./send.ts";
 * let live: LiveRun | undefined;
 * const run = send("ping", { count: 0, sequence: true, onStart: (view) => live = view });
 * // ... later, while the run goes on:
 * for (const responder of live!.responders()) console.log(responder.from, responder.rtt.count);
 * ```
 */
export type LiveRun = Parameters<NonNullable<SendRunOptions["onStart"]>>[0];

/** One responder of a {@linkcode LiveRun}, as it is at the moment it is read. */
export type LiveResponder = LiveRun extends { responders(): Iterable<infer R> }
  ? R
  : never;
