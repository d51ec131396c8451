/**
 * The lab topologies several namespace tests share, built (and their
 * addresses chosen) in one place:
 *
 * ```text
 * senderAndListener:  snd 10.77.1.10 ── "lan" ── lst 10.77.1.11
 *                     (with ipv6: also fd77:1::10 and fd77:1::11)
 * routedSegments:     "left" 10.77.1.0/24 ── eth0 .1 [r] eth1 .1 ── "right" 10.77.2.0/24
 * ```
 *
 * @module
 */

import type { Host, Lab, MulticastRoute, Router, Segment } from "./lab.ts";

/** What {@linkcode senderAndListener} builds. */
export interface SenderAndListener {
  /** The one segment, `lan`. */
  lan: Segment;
  /** `snd`: 10.77.1.10/24 (and fd77:1::10/64). */
  sender: Host;
  /** `lst`: 10.77.1.11/24 (and fd77:1::11/64). */
  listener: Host;
}

/**
 * Two hosts on one segment `lan`: `snd` 10.77.1.10 and `lst` 10.77.1.11,
 * with `ipv6` also fd77:1::10 and fd77:1::11 (/64). More hosts can join
 * `lan`.
 */
export async function senderAndListener(
  lab: Lab,
  options: { ipv6?: boolean } = {},
): Promise<SenderAndListener> {
  const lan = await lab.segment("lan");
  const sender = await lab.host("snd", {
    segment: lan,
    address: "10.77.1.10/24",
    ipv6: options.ipv6 ? "fd77:1::10/64" : undefined,
  });
  const listener = await lab.host("lst", {
    segment: lan,
    address: "10.77.1.11/24",
    ipv6: options.ipv6 ? "fd77:1::11/64" : undefined,
  });
  return { lan, sender, listener };
}

/** What {@linkcode routedSegments} builds. */
export interface RoutedSegments {
  /** Segment `left`, 10.77.1.0/24. */
  left: Segment;
  /** Segment `right`, 10.77.2.0/24. */
  right: Segment;
  /** Router `r`: eth0 10.77.1.1 on `left`, eth1 10.77.2.1 on `right`. */
  router: Router;
}

/**
 * Two segments joined by router `r`: `left` (10.77.1.0/24, the router's
 * eth0 at 10.77.1.1) and `right` (10.77.2.0/24, eth1 at 10.77.2.1). Hosts
 * are left to the caller.
 *
 * @param options.routes The router's multicast routes (`[]`: it forwards
 *   none); by default 239.77.0.0/16 both ways.
 */
export async function routedSegments(
  lab: Lab,
  options: { routes?: MulticastRoute[] } = {},
): Promise<RoutedSegments> {
  const left = await lab.segment("left");
  const right = await lab.segment("right");
  const router = await lab.router("r", {
    interfaces: [
      { segment: left, address: "10.77.1.1/24" },
      { segment: right, address: "10.77.2.1/24" },
    ],
    routes: options.routes,
  });
  return { left, right, router };
}
