/**
 * The lab topologies several namespace tests share, built (and their
 * addresses chosen) in one place:
 *
 * ```text
 * senderAndListener:  snd 10.77.1.10 ── "lan" ── lst 10.77.1.11
 *                     (with ipv6: also fd77:1::10 and fd77:1::11)
 * routedSegments:     "left" 10.77.1.0/24 ── eth0 .1 [r] eth1 .1 ── "right" 10.77.2.0/24
 * pimLine:            snd .1.10 ── [r1] ── [r2 = RP] ── [r3] ── lst .4.11
 *                     (three FRR PIM routers in a line, see pimLine)
 * ```
 *
 * @module
 */

import { waitForPimNeighbors } from "./frr.ts";
import type {
  Host,
  Lab,
  MulticastRoute,
  PimRouter,
  Router,
  Segment,
} from "./lab.ts";

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

/** What {@linkcode pimLine} builds. */
export interface PimLine {
  /** `snd` 10.77.1.10 on `edge1`, gateway r1. */
  sender: Host;
  /** `lst` 10.77.4.11 on `edge4`, gateway r3: three routers away. */
  listener: Host;
  /** The first-hop router (the sender's designated router). */
  r1: PimRouter;
  /** The middle router, the rendezvous point for 239.0.0.0/8. */
  r2: PimRouter;
  /** The last-hop router: it speaks IGMP with the listener. */
  r3: PimRouter;
  /** The RP's address, 10.77.2.2 (r2's eth0). */
  rp: string;
}

/**
 * Three PIM routers in a line, FRR's zebra and pimd in each, static unicast
 * routes, and the RP in the middle:
 *
 * ```text
 *  10.77.1.0/24      10.77.2.0/24         10.77.3.0/24      10.77.4.0/24
 *  "edge1"           "core12"             "core23"          "edge4"
 * [snd] .10 ── .1 [r1] .1 ── .2 [r2 = RP] .2 ── .3 [r3] .3 ── .11 [lst]
 *                  eth0  eth1   eth0     eth1   eth0  eth1 (IGMP)
 * ```
 *
 * 239.0.0.0/8 is any-source (PIM-SM, RP 10.77.2.2), 232.0.0.0/8
 * source-specific (PIM-SSM, no RP). Resolves once every router has its PIM
 * neighbours (polled, 10 s at most).
 */
export async function pimLine(lab: Lab): Promise<PimLine> {
  const edge1 = await lab.segment("edge1");
  const core12 = await lab.segment("core12");
  const core23 = await lab.segment("core23");
  const edge4 = await lab.segment("edge4");
  const rp = "10.77.2.2";
  const r1 = await lab.pimRouter("r1", {
    interfaces: [
      { segment: edge1, address: "10.77.1.1/24" },
      { segment: core12, address: "10.77.2.1/24" },
    ],
    routes: [
      { to: "10.77.3.0/24", via: "10.77.2.2" },
      { to: "10.77.4.0/24", via: "10.77.2.2" },
    ],
    rp,
  });
  const r2 = await lab.pimRouter("r2", {
    interfaces: [
      { segment: core12, address: "10.77.2.2/24" },
      { segment: core23, address: "10.77.3.2/24" },
    ],
    routes: [
      { to: "10.77.1.0/24", via: "10.77.2.1" },
      { to: "10.77.4.0/24", via: "10.77.3.3" },
    ],
    rp,
  });
  const r3 = await lab.pimRouter("r3", {
    interfaces: [
      { segment: core23, address: "10.77.3.3/24" },
      { segment: edge4, address: "10.77.4.3/24" },
    ],
    routes: [
      { to: "10.77.1.0/24", via: "10.77.3.2" },
      { to: "10.77.2.0/24", via: "10.77.3.2" },
    ],
    rp,
    igmp: ["eth1"],
  });
  const sender = await lab.host("snd", {
    segment: edge1,
    address: "10.77.1.10/24",
    gateway: "10.77.1.1",
  });
  const listener = await lab.host("lst", {
    segment: edge4,
    address: "10.77.4.11/24",
    gateway: "10.77.4.3",
  });
  await Promise.all([
    waitForPimNeighbors(r1, ["10.77.2.2"]),
    waitForPimNeighbors(r2, ["10.77.2.1", "10.77.3.3"]),
    waitForPimNeighbors(r3, ["10.77.3.2"]),
  ]);
  return { sender, listener, r1, r2, r3, rp };
}
