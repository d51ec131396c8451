/**
 * Row 10: `mcast mesh` on N namespaced hosts on one bridge (issue 21):
 * how long until every node has the full matrix, and what each node
 * costs (CPU, RSS) once it has. Every host runs the mesh command the way
 * `deno task mesh` runs it (cli.ts with the launcher's least privileges,
 * `permissionsFor("mesh")`; the launcher and deno task themselves are
 * left out, 100 x 3 processes being more than this machine holds well),
 * with its default 1 s interval and human output (a line a second with
 * counts above 20 hosts). The baseline is dbeacon (Debian's package),
 * the multicast beacon whose nodes share what they hear so that each
 * has the N x N matrix, run in the same lab after the mesh: its full
 * matrix is when a node's dump (`-d`, rewritten every second) holds an
 * `asm` entry for every ordered pair. Each host gets a permanent
 * neighbour entry for every other one first (`staticNeighbours`): the
 * kernel's neighbour table is one for all namespaces, 1,024 resolved
 * entries, and 100 hosts resolving 99 peers each overflow it, after which
 * sends fail with ENOBUFS.
 *
 * Figures per subject and node count (`plan.meshHostCounts`): when the
 * nodes had the full matrix (every host, every pair, none unheard),
 * counted from the moment every node runs (each printed its ready line;
 * for dbeacon, was started): `fullMatrixSeconds` for the last node (NaN
 * if one did not within the plan's limit), `medianFullSeconds` for the
 * median node, `fullNodes` how many did; `readySeconds`, from the first
 * start to the last ready; CPU % of one core per node over a window
 * after that (median and max) and RSS per node (median and max); for the
 * mesh, the nodes whose final verdict was ok after a SIGINT; for dbeacon,
 * the most pairs one dump held.
 *
 * Runs only as root where namespaces work; otherwise skipped with the
 * reason. dbeacon missing: its measurement is skipped with the reason.
 * Network safety: every socket is in namespaces this row creates (lab
 * addresses 10.77.1.0/24), TTL 1, every run bounded in time; the lab is
 * removed after, also on failure.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { permissionsFor } from "../../cli/launch.ts";
import { hasProgram, netnsAvailable } from "../../lab/availability.ts";
import { createLab, type Host } from "../../lab/lab.ts";
import { meshHosts, staticNeighbours } from "../../lab/mesh_hosts.ts";
import type { Proc } from "../../lab/process.ts";
import { assertBenchEndpoint, type Endpoint } from "../addresses.ts";
import { readMemory } from "../memory_sampler.ts";
import { cpuPercents } from "../process_cpu.ts";
import type { Subject } from "../recorder.ts";
import type { Metrics } from "../results.ts";
import { median } from "../stats.ts";
import type { RowContext } from "./context.ts";

const ROW = "mesh";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = `${ROOT}cli.ts`;
/** Starts at once at most (a Deno start takes a core for ~0.2 s). */
const START_PARALLEL = 4;
/** How often dbeacon's dumps are read, ms. */
const DUMP_POLL_MS = 2000;

/** The nodes of one subject, running. */
interface Running {
  procs: Proc[];
  /** When the first node was started (performance.now()). */
  startedAt: number;
  /** When every node was running (ready). */
  readyAt: number;
}

/** `-i eth0 -g G -p P` and the row's settings, as a mesh node takes them. */
function meshArgs(endpoint: Endpoint): string[] {
  return ["-g", endpoint.group, "-p", String(endpoint.port), "-i", "eth0"];
}

/** A mesh node's command line: cli.ts with what the launcher would grant. */
function meshArgv(endpoint: Endpoint): string[] {
  const args = meshArgs(endpoint);
  return [
    Deno.execPath(),
    "run",
    "--no-prompt",
    ...permissionsFor("mesh", args, ROOT),
    CLI,
    "mesh",
    ...args,
  ];
}

/**
 * Whether a count line says the node has the full matrix of `n` hosts:
 * every host, every pair, none still unheard.
 */
function fullLine(n: number): (line: string) => boolean {
  const pattern = /^\s*[\d.]+s\s+\d+ sent, (\d+) hosts?, (\d+) pairs: /;
  return (line) => {
    const m = pattern.exec(line);
    return m !== null && Number(m[1]) === n &&
      Number(m[2]) === n * (n - 1) && !/ unheard/.test(line);
  };
}

/**
 * When the nodes had the full matrix, in seconds from `readyAt` (NaN for
 * one that did not): the last node's, the median node's, and how many.
 */
function fullFigures(fullAt: readonly number[], readyAt: number): Metrics {
  const seconds = fullAt.map((at) => (at - readyAt) / 1000);
  const sorted = seconds.map((s) => Number.isNaN(s) ? Infinity : s)
    .sort((a, b) => a - b);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  return {
    fullMatrixSeconds: Math.max(...seconds),
    medianFullSeconds: Number.isFinite(middle) ? middle : NaN,
    fullNodes: seconds.filter(Number.isFinite).length,
  };
}

/** Starts `argv(host, i)` in every host, a few at a time; resolves when all are. */
async function startAll(
  hosts: Host[],
  argv: (host: Host, index: number) => string[],
  lifetimeMs: number,
  ready: (proc: Proc) => Promise<unknown>,
): Promise<Running> {
  const startedAt = performance.now();
  const procs: Proc[] = new Array(hosts.length);
  const readies: Promise<unknown>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const i = next++;
      procs[i] = hosts[i].spawn(argv(hosts[i], i), { timeoutMs: lifetimeMs });
      const up = ready(procs[i]);
      readies.push(up);
      await up;
    }
  };
  await Promise.all(Array.from({ length: START_PARALLEL }, worker));
  await Promise.all(readies);
  return { procs, startedAt, readyAt: performance.now() };
}

/** CPU (over `windowMs`) and RSS of every process, median and max. */
async function usage(procs: Proc[], windowMs: number): Promise<Metrics> {
  const cpu = await cpuPercents(procs.map((p) => p.pid), windowMs);
  const rss = (await Promise.all(procs.map((p) => readMemory(p.pid))))
    .map((m) => m?.rss ?? NaN);
  const finite = (values: number[]) => values.filter(Number.isFinite);
  return {
    cpuPercentMedian: median(finite(cpu)),
    cpuPercentMax: Math.max(...finite(cpu)),
    rssMiBMedian: median(finite(rss)),
    rssMiBMax: Math.max(...finite(rss)),
  };
}

/** The mesh on every host: until all have the full matrix, then usage, then SIGINT. */
async function measureMesh(
  hosts: Host[],
  endpoint: Endpoint,
  context: RowContext,
): Promise<Metrics> {
  const { plan } = context;
  const n = hosts.length;
  const limitMs = plan.meshLimitSeconds * 1000;
  const running = await startAll(
    hosts,
    () => meshArgv(endpoint),
    limitMs * 3 + 120_000,
    (proc) => proc.waitForLine((l) => l.startsWith("mesh on "), 120_000),
  );
  try {
    const full = await Promise.all(
      running.procs.map((proc) =>
        proc.waitForLine(fullLine(n), limitMs).then(
          () => performance.now(),
          () => NaN,
        )
      ),
    );
    const used = await usage(running.procs, plan.meshCpuWindowSeconds * 1000);
    for (const proc of running.procs) proc.kill("SIGINT");
    const results = await Promise.all(running.procs.map((p) => p.done));
    const ok = results.filter((r) =>
      r.code === 0 && /\nok: every pair among/.test(r.stdout)
    ).length;
    return {
      hosts: n,
      ...fullFigures(full, running.readyAt),
      readySeconds: (running.readyAt - running.startedAt) / 1000,
      ...used,
      finalOk: ok,
    };
  } finally {
    await Promise.all(running.procs.map((p) => p.stop("SIGKILL", 1000)));
  }
}

/** `<asm ` entries in a dbeacon dump: the pairs it has figures for. */
async function dumpPairs(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).split("<asm ").length - 1;
  } catch {
    return 0;
  }
}

/** dbeacon on every host: until every dump has every pair, then usage. */
async function measureDbeacon(
  hosts: Host[],
  endpoint: Endpoint,
  context: RowContext,
): Promise<Metrics> {
  const { plan } = context;
  const n = hosts.length;
  const dir = await Deno.makeTempDir({ prefix: "mcast-bench-dbeacon-" });
  const dump = (i: number) => `${dir}/n${i + 1}.xml`;
  const limitMs = plan.dbeaconLimitSeconds * 1000;
  const running = await startAll(
    hosts,
    (_, i) => [
      "dbeacon",
      "-4",
      ...["-b", `${endpoint.group}/${endpoint.port}`, "-i", "eth0"],
      ...["-n", `n${i + 1}`, "-a", "bench@example.org"],
      ...["-d", dump(i), "-I", "1"],
    ],
    limitMs + 120_000,
    () => Promise.resolve(),
  );
  try {
    const fullAt: number[] = new Array(n).fill(NaN);
    const deadline = running.readyAt + limitMs;
    let mostPairs = 0;
    while (fullAt.some(Number.isNaN) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DUMP_POLL_MS));
      const counts = await Promise.all(hosts.map((_, i) => dumpPairs(dump(i))));
      const now = performance.now();
      counts.forEach((count, i) => {
        mostPairs = Math.max(mostPairs, count);
        if (Number.isNaN(fullAt[i]) && count >= n * (n - 1)) fullAt[i] = now;
      });
    }
    const used = await usage(running.procs, plan.meshCpuWindowSeconds * 1000);
    return {
      hosts: n,
      ...fullFigures(fullAt, running.readyAt),
      readySeconds: (running.readyAt - running.startedAt) / 1000,
      ...used,
      mostPairsInADump: mostPairs,
    };
  } finally {
    await Promise.all(running.procs.map((p) => p.stop("SIGTERM", 1000)));
    await Deno.remove(dir, { recursive: true });
  }
}

/** Why the row cannot run here, or undefined when it can. */
async function unavailable(): Promise<string | undefined> {
  const netns = await netnsAvailable();
  return netns.ok ? undefined : netns.reason;
}

/** The mesh, then dbeacon, on `n` hosts of one lab; the lab removed after. */
async function measureHosts(n: number, context: RowContext): Promise<void> {
  const mcast: Subject = {
    id: `mcast-mesh-${n}`,
    label: `mcast mesh (cli.ts as deno task runs it), ${n} nodes`,
    side: "mcast",
    required: true,
    compareWith: [`dbeacon-${n}`],
  };
  const dbeacon: Subject = {
    id: `dbeacon-${n}`,
    label: `dbeacon (Debian), ${n} nodes`,
    side: "baseline",
    required: false,
  };
  const started = performance.now();
  try {
    await using lab = await createLab();
    const lan = await lab.segment("lan");
    const hosts = await meshHosts(lab, lan, n);
    // As n machines would each have theirs: the machine-wide table holds
    // 1,024 resolved neighbours, fewer than 100 hosts x 99 peers.
    await staticNeighbours(hosts);
    console.error(
      `  ${ROW}: ${n} hosts built in ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s`,
    );
    const endpoint = context.endpoints.next();
    assertBenchEndpoint(endpoint);
    await context.recorder.record(
      ROW,
      mcast,
      () => measureMesh(hosts, endpoint, context),
    );
    if (!hasProgram("dbeacon")) return;
    const other = context.endpoints.next();
    assertBenchEndpoint(other);
    await context.recorder.record(
      ROW,
      dbeacon,
      () => measureDbeacon(hosts, other, context),
    );
  } catch (error) {
    // Building or removing the lab failed.
    await context.recorder.record(ROW, mcast, () => Promise.reject(error));
  }
  console.error(
    `  ${ROW}: ${n} hosts built, measured and removed in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
}

/**
 * Row 10 at every count of `plan.meshHostCounts`: per count a lab built
 * once, the mesh measured, then dbeacon in the same lab (on its own group
 * and port), the lab removed. Skipped, with the reason in the run's
 * skipped list, without root or namespaces; dbeacon alone without its
 * program.
 *
 * @param context The run's shared state.
 */
export async function meshRow(context: RowContext): Promise<void> {
  const why = await unavailable();
  if (why !== undefined) {
    context.skipped.push({ id: ROW, reason: `row 10 not run: ${why}` });
    console.error(`  ${ROW}: skipped (${why})`);
    return;
  }
  if (!hasProgram("dbeacon")) {
    context.skipped.push({
      id: "dbeacon",
      reason: "row 10's baseline not run: no dbeacon (apt-get install dbeacon)",
    });
  }
  for (const n of context.plan.meshHostCounts) {
    await measureHosts(n, context);
  }
}
