/**
 * A small network-namespace lab for tests that must put real multicast on a
 * wire without touching the machine's network.
 *
 * Everything a {@linkcode Lab} makes lives in namespaces it creates itself,
 * named `mc-<pid>-<tag><n>-<name>` (see namespaces.ts):
 *
 * - a segment is a Linux bridge (multicast snooping off, so it floods like a
 *   hub) inside the lab's own `switch` namespace, never in the root namespace;
 * - a host is a namespace with `lo` and one veth `eth0` whose peer is plugged
 *   into a segment's bridge;
 * - a router is a namespace with one veth per segment, IP forwarding on and
 *   its own `smcrouted` (config, pid and socket files in a temporary folder);
 * - a PIM router is the same with FRRouting's `zebra` and `pimd` instead of
 *   `smcrouted`, static unicast routes and reverse-path filtering off (see
 *   frr.ts).
 *
 * The veth pairs are created inside the host namespace with their peer sent
 * straight to the switch namespace, so no interface ever exists in the root
 * namespace. Addresses must lie in the test ranges of addresses.ts
 * (10.77.0.0/16, fd77::/16). Disposing of the lab kills what it started
 * and deletes every namespace it made, also when a test fails.
 *
 * Needs root, `iproute2`, and for routers and captures `smcroute` and
 * `tcpdump` (captures: tcpdump.ts), for PIM routers `frr`. Register tests with `netnsTest` from
 * availability.ts, which skips them where namespaces cannot be used.
 *
 * @example Two hosts on one segment
 * ```ts ignore
 * import { netnsTest } from "./availability.ts";
 * import { createLab } from "./lab.ts";
 *
 * netnsTest("hosts ping", async () => {
 *   await using lab = await createLab();
 *   const lan = await lab.segment("lan");
 *   const a = await lab.host("a", { segment: lan, address: "10.77.1.2/24" });
 *   const b = await lab.host("b", { segment: lan, address: "10.77.1.3/24" });
 *   const r = await a.run(["ping", "-c", "1", "-W", "1", b.address]);
 *   if (r.code !== 0) throw new Error(r.stderr);
 * });
 * ```
 *
 * @module
 */

import { checkV4, checkV4Cidr, checkV6Cidr } from "./addresses.ts";
import {
  deleteNamespace,
  ownNamespaceName,
  removeStaleLabs,
  sysctl,
} from "./namespaces.ts";
import {
  DEFAULT_PROC_TIMEOUT_MS,
  DEFAULT_RUN_TIMEOUT_MS,
  Proc,
  type ProcOptions,
  type ProcResult,
  runChecked,
} from "./process.ts";
import { type Capture, type CaptureOptions, startCapture } from "./tcpdump.ts";
import { type FrrDaemons, removeFrrRuntime, startFrr } from "./frr.ts";

const NAME_RE = /^[a-z][a-z0-9]{0,11}$/;
let labCounter = 0;
let staleChecked = false;

/** One L2 segment: a bridge in the lab's switch namespace. */
export interface Segment {
  /** Segment name as given to {@linkcode Lab.segment}. */
  readonly name: string;
  /** Bridge interface name inside the switch namespace. */
  readonly bridge: string;
  /** The switch namespace holding the bridge. */
  readonly ns: string;
}

/** Options of {@linkcode Node.run}. */
export interface RunOptions {
  /**
   * Time limit in milliseconds; the process is killed after it.
   * @default {DEFAULT_RUN_TIMEOUT_MS}
   */
  timeoutMs?: number;
  /** Text for the process's stdin. */
  stdin?: string;
}

/** Something with its own namespace that runs commands: a host or a router. */
export interface Node {
  /** Name as given to the lab. */
  readonly name: string;
  /** Network namespace name. */
  readonly ns: string;
  /** Runs a command inside the namespace and waits for it (bounded). */
  run(cmd: string[], options?: RunOptions): Promise<ProcResult>;
  /**
   * Starts a command inside the namespace. The lab stops it on dispose if it
   * is still running.
   */
  spawn(cmd: string[], options?: ProcOptions): Proc;
}

/** Options of {@linkcode Lab.host}. */
export interface HostOptions {
  /** Segment whose bridge `eth0` plugs into. */
  segment: Segment;
  /** IPv4 address with prefix length, in `TEST_V4_RANGE` (addresses.ts). */
  address: string;
  /**
   * IPv6 address with prefix length, in `TEST_V6_RANGE` (addresses.ts). Without
   * it IPv6 is disabled in the host.
   */
  ipv6?: string;
  /** IPv4 default gateway (a router's address on the same segment). */
  gateway?: string;
  /** IPv6 default gateway. */
  gateway6?: string;
}

/** A namespace with `lo` and one interface `eth0` on a segment. */
export interface Host extends Node {
  /** IPv4 address without prefix length. */
  readonly address: string;
  /** IPv4 address with prefix length. */
  readonly cidr: string;
  /** IPv6 address without prefix length, if any. */
  readonly ipv6?: string;
  /** The interface on the segment: always `eth0`. */
  readonly iface: string;
  /** The segment `eth0` is plugged into. */
  readonly segment: Segment;
}

/** One router interface. */
export interface RouterInterfaceOptions {
  /** Segment this interface plugs into. */
  segment: Segment;
  /** IPv4 address with prefix length, in `TEST_V4_RANGE` (addresses.ts). */
  address: string;
  /** IPv6 address with prefix length, in `TEST_V6_RANGE` (addresses.ts). */
  ipv6?: string;
}

/** A static multicast route for smcroute: `mroute from IIF group G to OIF...`. */
export interface MulticastRoute {
  /** Inbound interface (`eth0`, `eth1`, ...). */
  from: string;
  /** Group, optionally with a prefix length (`239.77.0.0/16`). */
  group: string;
  /** Outbound interfaces. */
  to: string[];
}

/** Options of {@linkcode Lab.router}. */
export interface RouterOptions {
  /** Interfaces, named `eth0`, `eth1`, ... in this order. */
  interfaces: RouterInterfaceOptions[];
  /**
   * Static multicast routes.
   * @default {every interface to every other one for 239.77.0.0/16}
   */
  routes?: MulticastRoute[];
}

/** A router interface as created. */
export interface RouterInterface {
  /** Interface name (`eth0`, `eth1`, ...). */
  readonly name: string;
  /** IPv4 address without prefix length. */
  readonly address: string;
  /** The segment it is plugged into. */
  readonly segment: Segment;
}

/** A forwarding namespace running its own smcrouted. */
export interface Router extends Node {
  /** Its interfaces in order. */
  readonly interfaces: readonly RouterInterface[];
  /** The running smcrouted. */
  readonly daemon: Proc;
  /** Runs `smcroutectl -u SOCKET ...args` in the router's namespace. */
  ctl(args: string[]): Promise<ProcResult>;
}

/** A static unicast route: `ip route add TO via VIA`. */
export interface UnicastRoute {
  /** Destination with prefix length, in `TEST_V4_RANGE` (addresses.ts). */
  to: string;
  /** Next hop: a neighbour's address on one of the router's segments. */
  via: string;
}

/** Options of {@linkcode Lab.pimRouter}. */
export interface PimRouterOptions {
  /** Interfaces, named `eth0`, `eth1`, ... in this order; PIM runs on all. */
  interfaces: RouterInterfaceOptions[];
  /**
   * Unicast routes to the segments the router is not on: PIM sends its joins
   * toward the RP and the sources along them.
   * @default {[]}
   */
  routes?: UnicastRoute[];
  /** Address of the rendezvous point (one of a PIM router's addresses). */
  rp: string;
  /**
   * Groups the rendezvous point serves.
   * @default {"239.0.0.0/8"}
   */
  rpGroups?: string;
  /**
   * Interfaces that also speak IGMP to hosts: those on listeners' segments.
   * @default {[]}
   */
  igmp?: string[];
}

/** A forwarding namespace running FRRouting's zebra and pimd. */
export interface PimRouter extends Node {
  /** Its interfaces in order. */
  readonly interfaces: readonly RouterInterface[];
  /** The running zebra and pimd. */
  readonly daemons: FrrDaemons;
  /** Runs `vtysh --vty_socket DIR -c COMMAND` (`show ip pim join json`). */
  vtysh(command: string): Promise<ProcResult>;
}

/** A set of namespaces made for one test. Dispose of it to remove them. */
export interface Lab extends AsyncDisposable {
  /** Prefix of every namespace name of this lab, `mc-<pid>-<tag><n>`. */
  readonly id: string;
  /** Namespaces this lab created and has not yet deleted. */
  readonly namespaces: readonly string[];
  /** Creates an L2 segment (a bridge in the lab's switch namespace). */
  segment(name: string): Promise<Segment>;
  /** Creates a host on a segment. */
  host(name: string, options: HostOptions): Promise<Host>;
  /** Creates a multicast router with smcrouted between segments. */
  router(name: string, options: RouterOptions): Promise<Router>;
  /**
   * Creates a PIM-SM / PIM-SSM router with FRR's zebra and pimd between
   * segments, and waits until both daemons listen (not for neighbours).
   */
  pimRouter(name: string, options: PimRouterOptions): Promise<PimRouter>;
  /**
   * Starts tcpdump in a node's namespace and waits until it listens; the lab
   * stops it on dispose.
   */
  capture(
    node: Node,
    filter: string,
    options?: CaptureOptions,
  ): Promise<Capture>;
}

/**
 * Creates an empty lab. Use it with `await using` so that every namespace it
 * makes is deleted when the test ends, passed or failed.
 *
 * On its first call in a process it also deletes namespaces left by earlier
 * lab processes that no longer run (names `mc-<pid>-...` whose pid is gone).
 */
export async function createLab(): Promise<Lab> {
  if (!staleChecked) {
    staleChecked = true;
    await removeStaleLabs();
  }
  labCounter += 1;
  return new LabImpl(ownNamespaceName(String(labCounter)));
}

/** A router interface whose addresses are checked, with its name. */
interface CheckedInterface {
  name: string;
  v4: { address: string; prefix: number };
  v6: { address: string; prefix: number } | undefined;
  opts: RouterInterfaceOptions;
}

class LabImpl implements Lab {
  readonly id: string;
  readonly #namespaces: string[] = [];
  readonly #procs = new Set<Proc>();
  readonly #names = new Set<string>();
  readonly #segments = new Map<string, Segment>();
  readonly #tempDirs: string[] = [];
  /** FRR daemons started: their runtime folders are removed on dispose. */
  readonly #frrPids: number[] = [];
  #switchNs: string | undefined;
  #vethCount = 0;
  #disposed = false;

  constructor(id: string) {
    this.id = id;
  }

  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  async segment(name: string): Promise<Segment> {
    this.#checkOpen();
    checkName(name, "segment");
    if (this.#segments.has(name)) {
      throw new Error(`Cannot create segment "${name}": it exists`);
    }
    const ns = await this.#ensureSwitch();
    const bridge = `br-${name}`;
    await runChecked([
      "ip",
      "-n",
      ns,
      "link",
      "add",
      bridge,
      "type",
      "bridge",
      "mcast_snooping",
      "0",
      "stp_state",
      "0",
    ]);
    await runChecked(["ip", "-n", ns, "link", "set", bridge, "up"]);
    const seg: Segment = { name, bridge, ns };
    this.#segments.set(name, seg);
    return seg;
  }

  async host(name: string, options: HostOptions): Promise<Host> {
    this.#checkOpen();
    const v4 = checkV4Cidr(options.address, "host address");
    const v6 = options.ipv6 === undefined
      ? undefined
      : checkV6Cidr(options.ipv6, "host IPv6");
    const gateway = options.gateway === undefined
      ? undefined
      : checkV4(options.gateway, "gateway");
    if (options.gateway6 !== undefined) {
      checkV6Cidr(`${options.gateway6}/128`, "IPv6 gateway");
    }
    this.#checkSegment(options.segment);
    const ns = await this.#newNamespace(name);
    await setIpv6(ns, v6 !== undefined);
    // The kernel's own link-local address would stay tentative (DAD) for
    // over a second; nothing else shares these segments.
    if (v6) await sysctl(ns, "net.ipv6.conf.default.accept_dad", "0");
    await this.#addInterface(
      ns,
      "eth0",
      options.segment,
      options.address,
      options.ipv6,
    );
    // Multicast leaves through eth0 even without a default route.
    await runChecked([
      "ip",
      "-n",
      ns,
      "route",
      "add",
      "224.0.0.0/4",
      "dev",
      "eth0",
    ]);
    if (gateway) {
      await runChecked([
        "ip",
        "-n",
        ns,
        "route",
        "add",
        "default",
        "via",
        gateway,
      ]);
    }
    if (options.gateway6) {
      await runChecked([
        "ip",
        "-n",
        ns,
        "-6",
        "route",
        "add",
        "default",
        "via",
        options.gateway6,
      ]);
    }
    return {
      ...this.#node(name, ns),
      address: v4.address,
      cidr: options.address,
      ipv6: v6?.address,
      iface: "eth0",
      segment: options.segment,
    };
  }

  async router(name: string, options: RouterOptions): Promise<Router> {
    this.#checkOpen();
    const checked = this.#checkRouterInterfaces(name, options.interfaces);
    const routes = options.routes ?? checked.map((a) => ({
      from: a.name,
      group: "239.77.0.0/16",
      to: checked.filter((b) => b !== a).map((b) => b.name),
    }));
    const ifNames = new Set(checked.map((c) => c.name));
    for (const r of routes) {
      for (const itf of [r.from, ...r.to]) {
        if (!ifNames.has(itf)) {
          throw new RangeError(
            `Cannot route via "${itf}": router "${name}" has no such interface`,
          );
        }
      }
      if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(r.group)) {
        throw new SyntaxError(
          `Cannot route group "${r.group}": not an address`,
        );
      }
    }
    const { ns, dir } = await this.#forwarder(name, checked);
    const conf = `${dir}/smcroute.conf`;
    const socket = `${dir}/smcroute.sock`;
    const lines = [
      ...checked.map((c) => `phyint ${c.name} enable`),
      ...routes.map((r) =>
        `mroute from ${r.from} group ${r.group} to ${r.to.join(" ")}`
      ),
    ];
    await Deno.writeTextFile(conf, lines.join("\n") + "\n");
    const node = this.#node(name, ns);
    const daemon = node.spawn([
      "smcrouted",
      "-n",
      "-f",
      conf,
      "-P",
      `${dir}/smcroute.pid`,
      "-u",
      socket,
      "-i",
      `${this.id}-${name}`,
      "-l",
      "info",
    ], { timeoutMs: 10 * DEFAULT_PROC_TIMEOUT_MS });
    await daemon.waitForErrorLine((l) => /Ready, waiting/.test(l), 10_000);
    return {
      ...node,
      interfaces: checked.map((c) => ({
        name: c.name,
        address: c.v4.address,
        segment: c.opts.segment,
      })),
      daemon,
      ctl: (args: string[]) =>
        node.run(["smcroutectl", "-p", "-u", socket, ...args]),
    };
  }

  async pimRouter(name: string, options: PimRouterOptions): Promise<PimRouter> {
    this.#checkOpen();
    const checked = this.#checkRouterInterfaces(name, options.interfaces);
    const ifNames = checked.map((c) => c.name);
    const igmp = options.igmp ?? [];
    for (const itf of igmp) {
      if (!ifNames.includes(itf)) {
        throw new RangeError(
          `Cannot speak IGMP on "${itf}": router "${name}" has no such interface`,
        );
      }
    }
    const routes = (options.routes ?? []).map((r) => {
      checkV4Cidr(r.to, "route destination");
      return ["route", "add", r.to, "via", checkV4(r.via, "next hop")];
    });
    const rp = checkV4(options.rp, "rendezvous point");
    const rpGroups = options.rpGroups ?? "239.0.0.0/8";
    if (!/^2(2[4-9]|3\d)(\.\d{1,3}){3}\/\d{1,2}$/.test(rpGroups)) {
      throw new SyntaxError(
        `Cannot use RP groups "${rpGroups}": expected IPv4 multicast "a.b.c.d/len"`,
      );
    }
    // PIM accepts a datagram only on the interface toward its source, and
    // checks that itself: the kernel's reverse-path filter must not.
    const { ns, dir } = await this.#forwarder(name, checked, {
      "net.ipv4.conf.all.rp_filter": "0",
      "net.ipv4.conf.default.rp_filter": "0",
    });
    for (const route of routes) await runChecked(["ip", "-n", ns, ...route]);
    const node = this.#node(name, ns);
    const daemons = await startFrr(
      node,
      dir,
      { interfaces: ifNames, igmp, rp, rpGroups },
      // Even if it fails to start, its runtime folder goes on dispose.
      (daemon) => this.#frrPids.push(daemon.pid),
    );
    return {
      ...node,
      interfaces: checked.map((c) => ({
        name: c.name,
        address: c.v4.address,
        segment: c.opts.segment,
      })),
      daemons,
      vtysh: (command: string) =>
        node.run(["vtysh", "--vty_socket", dir, "-c", command]),
    };
  }

  async capture(
    node: Node,
    filter: string,
    options: CaptureOptions = {},
  ): Promise<Capture> {
    this.#checkOpen();
    return await startCapture(node, filter, options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const errors: unknown[] = [];
    await Promise.allSettled(
      [...this.#procs].map((p) => p.stop("SIGTERM", 1_000)),
    );
    for (const ns of [...this.#namespaces].reverse()) {
      try {
        await deleteNamespace(ns);
        this.#namespaces.splice(this.#namespaces.indexOf(ns), 1);
      } catch (e) {
        errors.push(e);
      }
    }
    // Processes SIGKILLed with their namespace still have their output read.
    await Promise.allSettled([...this.#procs].map((p) => p.done));
    await removeFrrRuntime(this.#frrPids).catch((e) => errors.push(e));
    for (const dir of this.#tempDirs) {
      await Deno.remove(dir, { recursive: true }).catch((e) => errors.push(e));
    }
    if (errors.length > 0) {
      throw new AggregateError(errors, `Lab ${this.id}: cleanup failed`);
    }
  }

  #checkOpen(): void {
    if (this.#disposed) throw new Error(`Lab ${this.id} is disposed`);
  }

  #checkSegment(seg: Segment): void {
    if (this.#segments.get(seg.name) !== seg) {
      throw new Error(
        `Cannot use segment "${seg.name}": not made by lab ${this.id}`,
      );
    }
  }

  /** Checks a router's interfaces (at least 2) and names them `eth0`, ... */
  #checkRouterInterfaces(
    name: string,
    interfaces: RouterInterfaceOptions[],
  ): CheckedInterface[] {
    if (interfaces.length < 2) {
      throw new RangeError(
        `Cannot create router "${name}": it needs at least 2 interfaces`,
      );
    }
    return interfaces.map((itf, i) => {
      this.#checkSegment(itf.segment);
      return {
        name: `eth${i}`,
        v4: checkV4Cidr(itf.address, "router address"),
        v6: itf.ipv6 === undefined
          ? undefined
          : checkV6Cidr(itf.ipv6, "router IPv6"),
        opts: itf,
      };
    });
  }

  /**
   * A router's namespace: forwarding on, `sysctls` set before its interfaces
   * are made (they inherit `default`), its interfaces, and a temporary
   * folder for its daemons that dispose removes.
   */
  async #forwarder(
    name: string,
    checked: CheckedInterface[],
    sysctls: Record<string, string> = {},
  ): Promise<{ ns: string; dir: string }> {
    const ns = await this.#newNamespace(name);
    const anyV6 = checked.some((c) => c.v6);
    await setIpv6(ns, anyV6);
    await sysctl(ns, "net.ipv4.ip_forward", "1");
    if (anyV6) await sysctl(ns, "net.ipv6.conf.all.forwarding", "1");
    for (const [key, value] of Object.entries(sysctls)) {
      await sysctl(ns, key, value);
    }
    for (const c of checked) {
      const { segment, address, ipv6 } = c.opts;
      await this.#addInterface(ns, c.name, segment, address, ipv6);
    }
    const dir = await Deno.makeTempDir({ prefix: `${this.id}-${name}-` });
    this.#tempDirs.push(dir);
    return { ns, dir };
  }

  async #newNamespace(name: string): Promise<string> {
    checkName(name, "node");
    if (name === "switch" || this.#names.has(name)) {
      throw new Error(`Cannot create "${name}" in lab ${this.id}: name taken`);
    }
    this.#names.add(name);
    return await this.#addNamespace(`${this.id}-${name}`);
  }

  async #addNamespace(ns: string): Promise<string> {
    await runChecked(["ip", "netns", "add", ns]);
    this.#namespaces.push(ns);
    await runChecked(["ip", "-n", ns, "link", "set", "lo", "up"]);
    return ns;
  }

  async #ensureSwitch(): Promise<string> {
    if (this.#switchNs) return this.#switchNs;
    const ns = await this.#addNamespace(`${this.id}-switch`);
    this.#switchNs = ns;
    // Bridges and their ports need no addresses: keep IPv6 chatter off.
    await setIpv6(ns, false);
    return ns;
  }

  /**
   * Creates veth `ifname` in `ns` with its peer in the switch, on the
   * segment's bridge, gives it its addresses (IPv6 without DAD) and sets it
   * up.
   */
  async #addInterface(
    ns: string,
    ifname: string,
    seg: Segment,
    address: string,
    ipv6: string | undefined,
  ): Promise<void> {
    this.#vethCount += 1;
    const peer = `v${this.#vethCount}`;
    await runChecked([
      "ip",
      "-n",
      ns,
      "link",
      "add",
      ifname,
      "type",
      "veth",
      "peer",
      "name",
      peer,
      "netns",
      seg.ns,
    ]);
    await runChecked([
      "ip",
      "-n",
      seg.ns,
      "link",
      "set",
      peer,
      "master",
      seg.bridge,
    ]);
    await runChecked(["ip", "-n", seg.ns, "link", "set", peer, "up"]);
    await runChecked(["ip", "-n", ns, "addr", "add", address, "dev", ifname]);
    if (ipv6 !== undefined) {
      await runChecked([
        "ip",
        "-n",
        ns,
        "-6",
        "addr",
        "add",
        ipv6,
        "dev",
        ifname,
        "nodad",
      ]);
    }
    await runChecked(["ip", "-n", ns, "link", "set", ifname, "up"]);
  }

  #node(name: string, ns: string): Node {
    const spawn = (cmd: string[], options: ProcOptions = {}): Proc => {
      this.#checkOpen();
      if (cmd.length === 0) throw new TypeError("Cannot spawn: empty command");
      const proc = new Proc(["ip", "netns", "exec", ns, ...cmd], options);
      this.#procs.add(proc);
      proc.done.finally(() => this.#procs.delete(proc));
      return proc;
    };
    const run = (
      cmd: string[],
      options: RunOptions = {},
    ): Promise<ProcResult> =>
      spawn(cmd, {
        timeoutMs: options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
        stdin: options.stdin,
      }).done;
    return { name, ns, run, spawn };
  }
}

// ---------------------------------------------------------------------------
// IPv6 state of a host

/**
 * Waits (up to `timeoutMs`) until no IPv6 address of `host`'s `eth0` is
 * tentative. The lab adds its fd77 addresses with `nodad`, but the kernel's
 * own link-local address still runs duplicate address detection (about a
 * second) and cannot be used as a source until it is done.
 */
export async function waitForDad(host: Host, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const r = await showIpv6(host, ["tentative"]);
    if (r.code === 0 && r.stdout.trim() === "") return;
    if (Date.now() >= deadline) {
      throw new Error(
        `${host.name}: IPv6 addresses still tentative after ${timeoutMs} ms:\n${r.stdout}${r.stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The link-local (fe80::/10) address of `host`'s `eth0`, without zone. */
export async function linkLocal(host: Host): Promise<string> {
  const r = await showIpv6(host, ["scope", "link"]);
  const m = /inet6 (fe80:[0-9a-f:]+)\//.exec(r.stdout);
  if (r.code !== 0 || m === null) {
    throw new Error(
      `${host.name}: no link-local address on ${host.iface}: ${r.stdout}${r.stderr}`,
    );
  }
  return m[1];
}

/** `ip -6 -o addr show dev eth0 FILTER...` in `host`. */
function showIpv6(host: Host, filter: string[]): Promise<ProcResult> {
  return host.run([
    "ip",
    "-6",
    "-o",
    "addr",
    "show",
    "dev",
    host.iface,
    ...filter,
  ]);
}

/** Checks a segment or node name: it becomes part of namespace names. */
function checkName(name: string, what: string): string {
  if (!NAME_RE.test(name)) {
    throw new SyntaxError(
      `Cannot use ${what} name "${name}": expected 1-12 of [a-z0-9], starting with a letter`,
    );
  }
  return name;
}

/** Turns IPv6 on or off in `ns`, for its interfaces now and to come. */
async function setIpv6(ns: string, enabled: boolean): Promise<void> {
  const disable = enabled ? "0" : "1";
  await sysctl(ns, "net.ipv6.conf.all.disable_ipv6", disable);
  await sysctl(ns, "net.ipv6.conf.default.disable_ipv6", disable);
}
