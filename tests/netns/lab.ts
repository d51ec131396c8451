/**
 * A small network-namespace lab for tests that must put real multicast on a
 * wire without touching the machine's network.
 *
 * Everything a {@linkcode Lab} makes lives in namespaces it creates itself,
 * named `mc-<pid>-<tag><n>-<name>` (`<tag>`: 4 random hex digits per module
 * instance, since `deno test --parallel` runs files as workers of one process):
 *
 * - a segment is a Linux bridge (multicast snooping off, so it floods like a
 *   hub) inside the lab's own `switch` namespace, never in the root namespace;
 * - a host is a namespace with `lo` and one veth `eth0` whose peer is plugged
 *   into a segment's bridge;
 * - a router is a namespace with one veth per segment, IP forwarding on and
 *   its own `smcrouted` (config, pid and socket files in a temporary folder).
 *
 * The veth pairs are created inside the host namespace with their peer sent
 * straight to the switch namespace, so no interface ever exists in the root
 * namespace. Addresses must lie in the test ranges {@linkcode TEST_V4_RANGE}
 * and {@linkcode TEST_V6_RANGE}. Disposing of the lab kills what it started
 * and deletes every namespace it made, also when a test fails.
 *
 * Needs root, `iproute2`, and for routers and captures `smcroute` and
 * `tcpdump`.
 *
 * @example Two hosts on one segment
 * ```ts ignore
 * import { createLab, netnsTest } from "./lab.ts";
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

/** IPv4 range every lab address must lie in (private, never on the host). */
export const TEST_V4_RANGE = "10.77.0.0/16";
/** IPv6 range every lab address must lie in (unique local, never on the host). */
export const TEST_V6_RANGE = "fd77::/16";

/** Default lifetime of a process started in a lab, in milliseconds. */
export const DEFAULT_PROC_TIMEOUT_MS = 60_000;
/** Default time limit of {@linkcode Node.run}, in milliseconds. */
export const DEFAULT_RUN_TIMEOUT_MS = 15_000;
/** How long output is read after a process exits before its pipes are cut. */
const PIPE_DRAIN_MS = 2_000;

const NAME_RE = /^[a-z][a-z0-9]{0,11}$/;
const PREFIX = "mc";
/**
 * Tells apart labs of one process: `deno test --parallel` runs test files as
 * workers of one process, so the pid alone is not unique.
 */
const INSTANCE = Array.from(
  crypto.getRandomValues(new Uint8Array(2)),
  (b) => b.toString(16).padStart(2, "0"),
).join("");
let labCounter = 0;
let staleChecked = false;

// ---------------------------------------------------------------------------
// Processes

/** How a process ended. */
export interface ProcResult {
  /** Exit code (128 + signal number when killed by a signal). */
  code: number;
  /** The signal that ended the process, if any. */
  signal: Deno.Signal | null;
  /** Everything the process wrote to stdout. */
  stdout: string;
  /** Everything the process wrote to stderr. */
  stderr: string;
  /** True when the harness killed the process because its time ran out. */
  timedOut: boolean;
}

/** Options of {@linkcode Proc}. */
export interface ProcOptions {
  /**
   * Kill the process with SIGKILL after this many milliseconds.
   * @default {DEFAULT_PROC_TIMEOUT_MS}
   */
  timeoutMs?: number;
  /** Text written to the process's stdin, which is then closed. */
  stdin?: string;
}

type Waiter = {
  test: (line: string) => boolean;
  resolve: (line: string) => void;
};

/**
 * A process with piped, line-split output and a bounded life.
 *
 * Its stdout and stderr are read to the end in the background, so the caller
 * never has to drain them; {@linkcode Proc.stop} or the lifetime timer ends
 * it. Disposing of it stops it.
 */
export class Proc implements AsyncDisposable {
  /** The command line that was started. */
  readonly argv: readonly string[];
  /** Resolves once the process has exited and its output is read. */
  readonly done: Promise<ProcResult>;
  readonly #child: Deno.ChildProcess;
  readonly #stdout: string[] = [];
  readonly #stderr: string[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #errWaiters = new Set<Waiter>();
  #exited = false;
  #timedOut = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts `argv` (no shell).
   *
   * @param argv Program and arguments.
   * @param options Lifetime and stdin.
   */
  constructor(argv: readonly string[], options: ProcOptions = {}) {
    if (argv.length === 0) {
      throw new TypeError("Cannot start a process: empty command");
    }
    this.argv = [...argv];
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const stdinDone = options.stdin === undefined
      ? Promise.resolve()
      : writeAll(this.#child.stdin, options.stdin);
    const timeoutMs = options.timeoutMs ?? DEFAULT_PROC_TIMEOUT_MS;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timedOut = true;
      this.kill("SIGKILL");
    }, timeoutMs);
    const out = new LinePump(child.stdout, (line) => {
      this.#stdout.push(line);
      notify(this.#waiters, line);
    });
    const err = new LinePump(child.stderr, (line) => {
      this.#stderr.push(line);
      notify(this.#errWaiters, line);
    });
    this.done = (async () => {
      const status = await child.status;
      this.#exited = true;
      clearTimeout(this.#timer);
      this.#timer = undefined;
      // A grandchild may still hold the pipes open: read on for a bounded
      // time, then cut them.
      let cut: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([out.done, err.done]),
        new Promise<void>((resolve) => {
          cut = setTimeout(resolve, PIPE_DRAIN_MS);
        }),
      ]);
      clearTimeout(cut);
      await Promise.allSettled([out.cancel(), err.cancel(), stdinDone]);
      return {
        code: status.code,
        signal: status.signal,
        stdout: this.#stdout.map((l) => l + "\n").join(""),
        stderr: this.#stderr.map((l) => l + "\n").join(""),
        timedOut: this.#timedOut,
      };
    })();
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Lines written to stdout so far, without line ends. */
  get lines(): readonly string[] {
    return this.#stdout;
  }

  /** Lines written to stderr so far, without line ends. */
  get errorLines(): readonly string[] {
    return this.#stderr;
  }

  /** Sends a signal; does nothing if the process has already exited. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.#child.kill(signal);
    } catch {
      // Exited between the check and the kill.
    }
  }

  /**
   * Resolves with the first stdout line (already written or still to come)
   * that passes `test`. Rejects when the process exits or time runs out.
   */
  waitForLine(
    test: (line: string) => boolean,
    timeoutMs = 10_000,
  ): Promise<string> {
    return this.#wait(this.#stdout, this.#waiters, test, timeoutMs, "stdout");
  }

  /** Like {@linkcode Proc.waitForLine}, for stderr. */
  waitForErrorLine(
    test: (line: string) => boolean,
    timeoutMs = 10_000,
  ): Promise<string> {
    return this.#wait(
      this.#stderr,
      this.#errWaiters,
      test,
      timeoutMs,
      "stderr",
    );
  }

  /**
   * Sends `signal`, waits up to `graceMs` for the exit, then sends SIGKILL.
   *
   * @param signal First signal to send.
   * @param graceMs How long to wait before SIGKILL.
   */
  async stop(
    signal: Deno.Signal = "SIGTERM",
    graceMs = 2_000,
  ): Promise<ProcResult> {
    this.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([this.done, killed]);
      return await this.done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process (SIGTERM, then SIGKILL after 1 s). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGTERM", 1_000);
  }

  #wait(
    seen: readonly string[],
    waiters: Set<Waiter>,
    test: (line: string) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<string> {
    const found = seen.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<string>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const finish = (error: Error | null, line?: string) => {
        waiters.delete(waiter);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(line!);
      };
      const waiter: Waiter = { test, resolve: (line) => finish(null, line) };
      waiters.add(waiter);
      const describe = () =>
        `${this.argv.join(" ")}\n--- stdout:\n${
          this.#stdout.join("\n")
        }\n--- stderr:\n${this.#stderr.join("\n")}`;
      timer = setTimeout(() => {
        finish(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for a ${what} line of: ${describe()}`,
          ),
        );
      }, timeoutMs);
      this.done.then(() => {
        if (!waiters.has(waiter)) return;
        const late = seen.find(test);
        if (late !== undefined) finish(null, late);
        else {
          finish(
            new Error(
              `Process exited before writing the expected ${what} line: ${describe()}`,
            ),
          );
        }
      });
    });
  }
}

function notify(waiters: Set<Waiter>, line: string): void {
  for (const w of [...waiters]) if (w.test(line)) w.resolve(line);
}

async function writeAll(
  stream: WritableStream<Uint8Array>,
  text: string,
): Promise<void> {
  const writer = stream.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } catch {
    // The process closed stdin early; nothing to deliver any more.
  } finally {
    await writer.close().catch(() => {});
  }
}

/** Reads a byte stream and calls `onLine` for each line, until cancelled. */
class LinePump {
  readonly done: Promise<void>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(
    stream: ReadableStream<Uint8Array>,
    onLine: (line: string) => void,
  ) {
    this.#reader = stream.getReader();
    this.done = this.#run(onLine);
  }

  /** Stops reading (if still reading) and waits for the loop to end. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.done.catch(() => {});
  }

  async #run(onLine: (line: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    while (true) {
      const { value, done } = await this.#reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        onLine(rest.slice(0, nl).replace(/\r$/, ""));
        rest = rest.slice(nl + 1);
      }
    }
    rest += decoder.decode();
    if (rest.length > 0) onLine(rest);
  }
}

/** Runs a command in the root namespace (only `ip netns ...`/`ip -n ...`). */
async function sh(
  argv: string[],
  timeoutMs = DEFAULT_RUN_TIMEOUT_MS,
): Promise<string> {
  const r = await new Proc(argv, { timeoutMs }).done;
  if (r.code !== 0) {
    throw new Error(
      `Command failed (code ${r.code}${r.timedOut ? ", timed out" : ""}): ${
        argv.join(" ")
      }\n${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

function shSync(argv: string[]): { ok: boolean; out: string } {
  try {
    const r = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const dec = new TextDecoder();
    return {
      ok: r.success,
      out: (dec.decode(r.stdout) + dec.decode(r.stderr)).trim(),
    };
  } catch (e) {
    return { ok: false, out: e instanceof Error ? e.message : String(e) };
  }
}

// ---------------------------------------------------------------------------
// Availability and test registration

/** Whether network namespaces can be used here, and if not why. */
export type NetnsAvailability = { ok: true } | { ok: false; reason: string };

let cachedAvailability: NetnsAvailability | undefined;

/**
 * Checks that this process is root and that a namespace can be created and
 * deleted (with a throw-away probe namespace). The result is cached.
 */
export function netnsAvailableSync(): NetnsAvailability {
  if (cachedAvailability) return cachedAvailability;
  cachedAvailability = probe();
  return cachedAvailability;
}

/** Async form of {@linkcode netnsAvailableSync}. */
export function netnsAvailable(): Promise<NetnsAvailability> {
  return Promise.resolve(netnsAvailableSync());
}

function probe(): NetnsAvailability {
  if (Deno.build.os !== "linux") {
    return {
      ok: false,
      reason: `network namespaces need Linux, this is ${Deno.build.os}`,
    };
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch (e) {
    return { ok: false, reason: `cannot read the user id: ${String(e)}` };
  }
  if (uid !== 0) return { ok: false, reason: `not root (uid ${uid})` };
  const name = `${PREFIX}-${Deno.pid}-${INSTANCE}-probe`;
  const add = shSync(["ip", "netns", "add", name]);
  if (!add.ok) {
    return { ok: false, reason: `"ip netns add" failed: ${add.out}` };
  }
  const veth = shSync([
    "ip",
    "-n",
    name,
    "link",
    "add",
    "p0",
    "type",
    "veth",
    "peer",
    "name",
    "p1",
  ]);
  const del = shSync(["ip", "netns", "del", name]);
  if (!veth.ok) {
    return { ok: false, reason: `cannot create a veth pair: ${veth.out}` };
  }
  if (!del.ok) {
    return { ok: false, reason: `"ip netns del" failed: ${del.out}` };
  }
  return { ok: true };
}

/** Options of {@linkcode netnsTest}. */
export interface NetnsTestOptions {
  /** Extra programs the test needs (checked with `command -v`). */
  needs?: string[];
}

const warned = new Set<string>();

/**
 * Registers a `Deno.test` that needs network namespaces.
 *
 * When they are not available (or a program in `needs` is missing) the test
 * is registered with `ignore: true` and the reason is printed once, except
 * when the environment variable `CI` is `true`: then the test is registered
 * and fails with the reason, because CI must run it.
 *
 * @param name Test name.
 * @param fn Test body.
 * @param options Programs the test needs.
 */
export function netnsTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  options: NetnsTestOptions = {},
): void {
  const reason = unavailableReason(options.needs ?? []);
  if (reason === null) {
    Deno.test({ name, fn });
    return;
  }
  if (Deno.env.get("CI") === "true") {
    Deno.test({
      name,
      fn() {
        throw new Error(`CI must run the namespace tests, but ${reason}`);
      },
    });
    return;
  }
  if (!warned.has(reason)) {
    warned.add(reason);
    console.warn(`netns tests skipped: ${reason}`);
  }
  Deno.test({ name, ignore: true, fn });
}

function unavailableReason(needs: string[]): string | null {
  const a = netnsAvailableSync();
  if (!a.ok) return a.reason;
  const missing = needs.filter((p) => !hasProgram(p));
  if (missing.length > 0) return `missing program(s): ${missing.join(", ")}`;
  return null;
}

const programCache = new Map<string, boolean>();

/** True when `program` is found on PATH (or in /usr/sbin, /sbin). */
export function hasProgram(program: string): boolean {
  let found = programCache.get(program);
  if (found === undefined) {
    found = shSync([
      "sh",
      "-c",
      'PATH="$PATH:/usr/sbin:/sbin" command -v "$1"',
      "sh",
      program,
    ]).ok;
    programCache.set(program, found);
  }
  return found;
}

// ---------------------------------------------------------------------------
// Address checks

function parseV4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>>
    0;
}

function inV4Range(addr: string): boolean {
  const [base, len] = TEST_V4_RANGE.split("/");
  const a = parseV4(addr);
  const b = parseV4(base)!;
  if (a === null) return false;
  const mask = (~0 << (32 - Number(len))) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Splits "a/len" and checks the address lies in {@linkcode TEST_V4_RANGE}. */
function checkV4Cidr(
  cidr: string,
  what: string,
): { address: string; prefix: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || parseV4(m[1]) === null || Number(m[2]) > 32 || Number(m[2]) < 8) {
    throw new SyntaxError(
      `Cannot use ${what} "${cidr}": expected IPv4 "a.b.c.d/len"`,
    );
  }
  if (!inV4Range(m[1])) {
    throw new RangeError(
      `Cannot use ${what} "${cidr}": outside the test range ${TEST_V4_RANGE}`,
    );
  }
  return { address: m[1], prefix: Number(m[2]) };
}

function checkV4(addr: string, what: string): string {
  if (parseV4(addr) === null) {
    throw new SyntaxError(`Cannot use ${what} "${addr}": not an IPv4 address`);
  }
  if (!inV4Range(addr)) {
    throw new RangeError(
      `Cannot use ${what} "${addr}": outside the test range ${TEST_V4_RANGE}`,
    );
  }
  return addr;
}

function checkV6Cidr(
  cidr: string,
  what: string,
): { address: string; prefix: number } {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(cidr);
  if (!m || !m[1].includes(":") || Number(m[2]) > 128) {
    throw new SyntaxError(
      `Cannot use ${what} "${cidr}": expected IPv6 "addr/len"`,
    );
  }
  if (!/^fd77:/i.test(m[1])) {
    throw new RangeError(
      `Cannot use ${what} "${cidr}": outside the test range ${TEST_V6_RANGE}`,
    );
  }
  return { address: m[1].toLowerCase(), prefix: Number(m[2]) };
}

function checkName(name: string, what: string): string {
  if (!NAME_RE.test(name)) {
    throw new SyntaxError(
      `Cannot use ${what} name "${name}": expected 1-12 of [a-z0-9], starting with a letter`,
    );
  }
  return name;
}

// ---------------------------------------------------------------------------
// Lab objects

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
  /** IPv4 address with prefix length, in {@linkcode TEST_V4_RANGE}. */
  address: string;
  /**
   * IPv6 address with prefix length, in {@linkcode TEST_V6_RANGE}. Without
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
  /** IPv4 address with prefix length, in {@linkcode TEST_V4_RANGE}. */
  address: string;
  /** IPv6 address with prefix length, in {@linkcode TEST_V6_RANGE}. */
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

/** Options of {@linkcode Lab.capture}. */
export interface CaptureOptions {
  /**
   * Interface to capture on.
   * @default {"eth0"}
   */
  iface?: string;
  /** Stop after this many packets (`tcpdump -c`). */
  count?: number;
  /**
   * Lifetime of the capture in milliseconds.
   * @default {DEFAULT_PROC_TIMEOUT_MS}
   */
  timeoutMs?: number;
}

/** One packet as `tcpdump -n -v` printed it. */
export interface Packet {
  /** `IP` or `IP6`. */
  family: "IP" | "IP6";
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number | null;
  /** Protocol name as printed (`UDP`, `IGMP`, `ICMP`, ...). */
  proto: string;
  /** Source address (without port). */
  src: string;
  /** Source port for UDP/TCP. */
  srcPort: number | null;
  /** Destination address (without port). */
  dst: string;
  /** Destination port for UDP/TCP. */
  dstPort: number | null;
  /** Text after `src > dst:` and any further lines, e.g. `igmp v3 report, ...`. */
  info: string;
  /** The lines tcpdump printed for this packet. */
  lines: string[];
}

/** A running tcpdump. */
export interface Capture extends AsyncDisposable {
  /** Packets parsed so far. */
  readonly packets: readonly Packet[];
  /** The tcpdump process. */
  readonly proc: Proc;
  /** Resolves with the first packet (seen or to come) passing `test`. */
  waitFor(test: (p: Packet) => boolean, timeoutMs?: number): Promise<Packet>;
  /** Stops tcpdump (SIGINT, bounded) and returns every parsed packet. */
  stop(): Promise<Packet[]>;
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
  /** Starts tcpdump in a node's namespace and waits until it listens. */
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
  return new LabImpl(`${PREFIX}-${Deno.pid}-${INSTANCE}${labCounter}`);
}

/**
 * Deletes namespaces named `mc-<pid>-...` whose creating process no longer
 * exists (left behind by a killed test run). Returns the names deleted.
 */
export async function removeStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    const m = /^mc-(\d+)-/.exec(ns);
    if (!m || Number(m[1]) === Deno.pid) continue;
    if (await pathExists(`/proc/${m[1]}`)) continue;
    await deleteNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

/** Names of all network namespaces (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const out = await sh(["ip", "netns", "list"]);
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((n) => n);
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Kills every process inside `ns` (bounded), then deletes it. */
async function deleteNamespace(ns: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const pids = (await sh(["ip", "netns", "pids", ns]).catch(() => ""))
      .split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await delay(50);
  }
  await sh(["ip", "netns", "del", ns]);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class LabImpl implements Lab {
  readonly id: string;
  readonly #namespaces: string[] = [];
  readonly #procs = new Set<Proc>();
  readonly #names = new Set<string>();
  readonly #segments = new Map<string, Segment>();
  readonly #tempDirs: string[] = [];
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
    await sh([
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
    await sh(["ip", "-n", ns, "link", "set", bridge, "up"]);
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
    await this.#sysctl(ns, "net.ipv6.conf.all.disable_ipv6", v6 ? "0" : "1");
    await this.#sysctl(
      ns,
      "net.ipv6.conf.default.disable_ipv6",
      v6 ? "0" : "1",
    );
    // The kernel's own link-local address would stay tentative (DAD) for
    // over a second; nothing else shares these segments.
    if (v6) await this.#sysctl(ns, "net.ipv6.conf.default.accept_dad", "0");
    await this.#plug(ns, "eth0", options.segment);
    await sh(["ip", "-n", ns, "addr", "add", options.address, "dev", "eth0"]);
    if (v6) {
      await sh([
        "ip",
        "-n",
        ns,
        "-6",
        "addr",
        "add",
        options.ipv6!,
        "dev",
        "eth0",
        "nodad",
      ]);
    }
    await sh(["ip", "-n", ns, "link", "set", "eth0", "up"]);
    // Multicast leaves through eth0 even without a default route.
    await sh(["ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0"]);
    if (gateway) {
      await sh(["ip", "-n", ns, "route", "add", "default", "via", gateway]);
    }
    if (options.gateway6) {
      await sh([
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
    if (options.interfaces.length < 2) {
      throw new RangeError(
        `Cannot create router "${name}": it needs at least 2 interfaces`,
      );
    }
    const checked = options.interfaces.map((itf, i) => {
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
    const ns = await this.#newNamespace(name);
    const anyV6 = checked.some((c) => c.v6);
    await this.#sysctl(ns, "net.ipv6.conf.all.disable_ipv6", anyV6 ? "0" : "1");
    await this.#sysctl(
      ns,
      "net.ipv6.conf.default.disable_ipv6",
      anyV6 ? "0" : "1",
    );
    await this.#sysctl(ns, "net.ipv4.ip_forward", "1");
    if (anyV6) await this.#sysctl(ns, "net.ipv6.conf.all.forwarding", "1");
    for (const c of checked) {
      await this.#plug(ns, c.name, c.opts.segment);
      await sh(["ip", "-n", ns, "addr", "add", c.opts.address, "dev", c.name]);
      if (c.v6) {
        await sh([
          "ip",
          "-n",
          ns,
          "-6",
          "addr",
          "add",
          c.opts.ipv6!,
          "dev",
          c.name,
          "nodad",
        ]);
      }
      await sh(["ip", "-n", ns, "link", "set", c.name, "up"]);
    }
    const dir = await Deno.makeTempDir({ prefix: `${this.id}-${name}-` });
    this.#tempDirs.push(dir);
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

  async capture(
    node: Node,
    filter: string,
    options: CaptureOptions = {},
  ): Promise<Capture> {
    this.#checkOpen();
    const iface = options.iface ?? "eth0";
    const argv = ["tcpdump", "-i", iface, "-n", "-v", "-l", "--immediate-mode"];
    if (options.count !== undefined) argv.push("-c", String(options.count));
    if (filter.trim() !== "") argv.push(filter);
    const proc = node.spawn(argv, { timeoutMs: options.timeoutMs });
    await proc.waitForErrorLine((l) => /listening on/.test(l), 10_000);
    return new CaptureImpl(proc);
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

  async #newNamespace(name: string): Promise<string> {
    checkName(name, "node");
    if (name === "switch" || this.#names.has(name)) {
      throw new Error(`Cannot create "${name}" in lab ${this.id}: name taken`);
    }
    this.#names.add(name);
    return await this.#addNamespace(`${this.id}-${name}`);
  }

  async #addNamespace(ns: string): Promise<string> {
    await sh(["ip", "netns", "add", ns]);
    this.#namespaces.push(ns);
    await sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    return ns;
  }

  async #ensureSwitch(): Promise<string> {
    if (this.#switchNs) return this.#switchNs;
    const ns = await this.#addNamespace(`${this.id}-switch`);
    this.#switchNs = ns;
    // Bridges and their ports need no addresses: keep IPv6 chatter off.
    await this.#sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1");
    await this.#sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1");
    return ns;
  }

  /** Creates veth `ifname` in `ns` with its peer in the switch, on the bridge. */
  async #plug(ns: string, ifname: string, seg: Segment): Promise<void> {
    this.#vethCount += 1;
    const peer = `v${this.#vethCount}`;
    await sh([
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
    await sh(["ip", "-n", seg.ns, "link", "set", peer, "master", seg.bridge]);
    await sh(["ip", "-n", seg.ns, "link", "set", peer, "up"]);
  }

  async #sysctl(ns: string, key: string, value: string): Promise<void> {
    const path = `/proc/sys/${key.replaceAll(".", "/")}`;
    await sh([
      "ip",
      "netns",
      "exec",
      ns,
      "sh",
      "-c",
      'printf "%s\\n" "$2" > "$1"',
      "sh",
      path,
      value,
    ]);
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
// tcpdump output

/**
 * Parses `tcpdump -n -v` output lines into packets. A packet starts with a
 * line holding `IP (` or `IP6 (`; indented lines continue it.
 *
 * @param lines Output lines.
 * @returns The packets whose addresses could be read.
 */
export function parseTcpdump(lines: readonly string[]): Packet[] {
  const packets: Packet[] = [];
  let current: Packet | null = null;
  let pendingHeader:
    | { family: "IP" | "IP6"; head: string; lines: string[] }
    | null = null;
  for (const line of lines) {
    if (/^\s/.test(line)) {
      if (pendingHeader) {
        const p = finishPacket(
          pendingHeader.family,
          pendingHeader.head,
          line.trim(),
          [
            ...pendingHeader.lines,
            line,
          ],
        );
        pendingHeader = null;
        if (p) packets.push(p);
        current = p;
      } else if (current) {
        current.lines.push(line);
        current.info += "\n" + line.trim();
      }
      continue;
    }
    current = null;
    pendingHeader = null;
    const h = splitHeader(line);
    if (!h) continue;
    if (h.rest.trim() === "") {
      pendingHeader = { family: h.family, head: h.head, lines: [line] };
    } else {
      const p = finishPacket(h.family, h.head, h.rest.trim(), [line]);
      if (p) packets.push(p);
      current = p;
    }
  }
  return packets;
}

function splitHeader(
  line: string,
): { family: "IP" | "IP6"; head: string; rest: string } | null {
  const m = /(?:^|\s)(IP6?) \(/.exec(line);
  if (!m) return null;
  const open = m.index + m[0].length - 1;
  let depth = 0;
  for (let i = open; i < line.length; i++) {
    if (line[i] === "(") depth++;
    else if (line[i] === ")") {
      depth--;
      if (depth === 0) {
        return {
          family: m[1] as "IP" | "IP6",
          head: line.slice(open + 1, i),
          rest: line.slice(i + 1),
        };
      }
    }
  }
  return null;
}

function finishPacket(
  family: "IP" | "IP6",
  head: string,
  body: string,
  lines: string[],
): Packet | null {
  const m = /^(\S+) > (\S+):(?:\s+(.*))?$/.exec(body);
  if (!m) return null;
  const ttlMatch = /\b(?:ttl|hlim) (\d+)/.exec(head);
  const protoMatch = /\b(?:proto|next-header) (\S+)/.exec(head);
  const proto = protoMatch ? protoMatch[1] : "";
  const ported = proto === "UDP" || proto === "TCP";
  const split = (s: string): [string, number | null] => {
    if (!ported) return [s, null];
    const dot = s.lastIndexOf(".");
    if (dot < 0) return [s, null];
    const port = Number(s.slice(dot + 1));
    return Number.isInteger(port) ? [s.slice(0, dot), port] : [s, null];
  };
  const [src, srcPort] = split(m[1]);
  const [dst, dstPort] = split(m[2]);
  return {
    family,
    ttl: ttlMatch ? Number(ttlMatch[1]) : null,
    proto,
    src,
    srcPort,
    dst,
    dstPort,
    info: m[3] ?? "",
    lines,
  };
}

class CaptureImpl implements Capture {
  readonly proc: Proc;
  #packets: Packet[] = [];
  #seenLines = 0;

  constructor(proc: Proc) {
    this.proc = proc;
  }

  get packets(): readonly Packet[] {
    this.#refresh();
    return this.#packets;
  }

  #refresh(): void {
    if (this.proc.lines.length === this.#seenLines) return;
    this.#seenLines = this.proc.lines.length;
    this.#packets = parseTcpdump(this.proc.lines);
  }

  async waitFor(
    test: (p: Packet) => boolean,
    timeoutMs = 10_000,
  ): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    // Poll: parsing needs the line after a header, which arrives together.
    while (true) {
      const found = this.packets.find(test);
      if (found) return found;
      if (this.proc.exited) {
        await this.proc.done;
        const late = this.packets.find(test);
        if (late) return late;
        throw new Error(
          `tcpdump exited without the expected packet; saw:\n${
            this.proc.lines.join("\n")
          }`,
        );
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `Timed out after ${timeoutMs} ms waiting for a packet; saw:\n${
            this.proc.lines.join("\n")
          }`,
        );
      }
      await delay(20);
    }
  }

  async stop(): Promise<Packet[]> {
    await this.proc.stop("SIGINT", 2_000);
    this.#refresh();
    return this.#packets;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
