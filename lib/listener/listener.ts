/**
 * What `listen()` returns: a running listener, of one group or several,
 * with its live counters and its close. Its own file, so that both ways of
 * making one (`listen.ts`, `groups.ts`) name it without importing each
 * other.
 *
 * @module
 */

import type { ListenerStats } from "../plugin.ts";

/** A running listener. */
export interface Listener extends AsyncDisposable {
  /** The group joined (the first, with several). */
  readonly group: string;
  /** Every group joined. */
  readonly groups: readonly string[];
  /**
   * With several groups: per group, the datagrams that arrived for it and
   * the replies sent to its senders (live; final once closed).
   */
  readonly perGroup?: Readonly<
    Record<string, { received: number; replied: number }>
  >;
  /** The UDP port bound (useful when 0 was asked for). */
  readonly port: number;
  /** The interface joined on, when one was chosen. */
  readonly interface: string | undefined;
  /** The socket layer in use: `deno`, `dgram`, `ffi`, or the custom transport's name. */
  readonly transport: string;
  /** Live counters. */
  readonly stats: Readonly<ListenerStats>;
  /**
   * How long after the join the first datagram arrived, in ms (to the
   * microsecond), whatever became of it: the time the network took to
   * deliver the group here (IGMP/MLD, the multicast tree). `undefined`
   * until one did. With several groups, the shortest of theirs, each from
   * its own join.
   */
  readonly firstDatagramAfterMs?: number;
  /** Resolves with the final counters once the listener has closed. */
  readonly closed: Promise<ListenerStats>;
  /** Leaves the group, closes the socket, runs the responder's teardown (for 500 ms at most); idempotent. */
  close(): Promise<ListenerStats>;
}
