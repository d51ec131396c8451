/**
 * Gathers what doctor needs to know about this host for one target: the
 * interfaces and routes (`ip -j`), the files under /proc its checks read
 * (`system_files.ts`), the firewall rules (`nft`, `iptables-save`), and
 * then the self-tests, one per interface that counts. Only here does
 * doctor touch the host; `diagnose()` judges what this returns.
 *
 * @module
 */

import type { InterfaceEntry } from "../lib/interface.ts";
import {
  type DoctorTarget,
  type HostFacts,
  type InterfaceFact,
  type Read,
  readFailed,
  readOk,
  type RouteFact,
} from "./facts.ts";
import { igmpFiles } from "./igmp_check.ts";
import { candidates, findInterface, interfaceUnderTest } from "./interfaces.ts";
import {
  parseIpAddr,
  parseIpDefaultRoutes,
  parseIpRouteGet,
} from "./ip_json.ts";
import { runProgram } from "./programs.ts";
import { RECEIVE_BUFFER_FILES } from "./receive_buffer_check.ts";
import { reversePathFiles } from "./reverse_path_check.ts";
import { runSelfTest } from "./self_test.ts";
import { readSystemFiles } from "./system_files.ts";

/** Options of {@linkcode gatherFacts}. */
export interface GatherOptions {
  /** How long each self-test waits for its datagram, in ms. @default {300} */
  selfTestWaitMs?: number;
  /** At most this many self-tests. @default {8} */
  maxSelfTests?: number;
}

function parsed<T>(read: Read<string>, parse: (text: string) => T): Read<T> {
  if (!read.ok) return read;
  try {
    return readOk(parse(read.value));
  } catch (error) {
    return readFailed((error as Error).message);
  }
}

/** `ip route get`: a route, `null` when there is none, or why it is unknown. */
async function routeTo(
  address: string,
  family: string,
  oif?: string,
): Promise<Read<RouteFact | null>> {
  const args = [
    ...(family === "IPv6" ? ["-6"] : []),
    "-j",
    "route",
    "get",
    address,
    ...(oif === undefined ? [] : ["oif", oif]),
  ];
  const read = await runProgram("ip", args);
  if (!read.ok && /unreachable|No route/i.test(read.error)) return readOk(null);
  return parsed(read, parseIpRouteGet);
}

function entries(interfaces: InterfaceFact[]): InterfaceEntry[] {
  return interfaces.flatMap((i) =>
    i.addresses.map((a) => ({
      name: i.name,
      family: a.family,
      address: a.address,
    }))
  );
}

/** The interfaces to self-test: `-i`'s, else the OS's choice and each other candidate. */
function selfTestPlan(
  facts: HostFacts,
  target: DoctorTarget,
  max: number,
): (string | undefined)[] {
  const interfaces = facts.interfaces.ok ? facts.interfaces.value : [];
  if (target.iface !== undefined) {
    return [findInterface(interfaces, target.iface)?.name ?? target.iface];
  }
  const routed = facts.route.ok ? facts.route.value?.dev : undefined;
  const others = candidates(interfaces, target.family)
    .map((i) => i.name)
    .filter((name) => name !== routed);
  return [undefined, ...others].slice(0, max);
}

/**
 * Gathers the facts for `target` on this host, self-tests included.
 *
 * @example
 * ```ts ignore
 * import { gatherFacts } from "./gather.ts";
 * const facts = await gatherFacts({ group: "239.1.1.1", family: "IPv4", port: 5000 });
 * ```
 */
export async function gatherFacts(
  target: DoctorTarget,
  options: GatherOptions = {},
): Promise<HostFacts> {
  const six = target.family === "IPv6" ? ["-6"] : [];
  const interfaces = parsed(
    await runProgram("ip", ["-j", "addr", "show"]),
    parseIpAddr,
  );
  const named = target.iface === undefined || !interfaces.ok
    ? undefined
    : findInterface(interfaces.value, target.iface)?.name;
  const facts: HostFacts = {
    interfaces,
    route: target.iface !== undefined && interfaces.ok && named === undefined
      ? readFailed(
        `no interface here is named or has the address "${target.iface}"`,
      )
      : await routeTo(target.group, target.family, named),
    defaultRoutes: parsed(
      await runProgram("ip", [...six, "-j", "route", "show", "default"]),
      parseIpDefaultRoutes,
    ),
    files: {},
    firewall: {
      nft: await runProgram("nft", ["-j", "list", "ruleset"]),
      iptables: await runProgram(
        target.family === "IPv4" ? "iptables-save" : "ip6tables-save",
        [],
      ),
    },
    selfTests: [],
  };
  if (target.source !== undefined) {
    facts.sourceRoute = await routeTo(target.source, target.family);
  }
  const under = interfaceUnderTest(facts, target)?.name;
  facts.files = readSystemFiles([
    ...(target.family === "IPv4" && under !== undefined
      ? reversePathFiles(under)
      : []),
    ...igmpFiles(target, under),
    ...RECEIVE_BUFFER_FILES,
  ]);
  // Last, so that its own join is not among the memberships read above.
  const list = entries(interfaces.ok ? interfaces.value : []);
  for (const iface of selfTestPlan(facts, target, options.maxSelfTests ?? 8)) {
    facts.selfTests.push(
      await runSelfTest(target, {
        iface,
        interfaces: list,
        waitMs: options.selfTestWaitMs,
      }),
    );
  }
  return facts;
}
