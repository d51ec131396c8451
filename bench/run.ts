/**
 * `deno task bench`: measures mcast's send and listen paths against raw
 * baselines (Deno `node:dgram`, `Deno.listenDatagram`, a Python socket
 * loop, Node.js `dgram`), on loopback only, one thing at a time. Prints
 * a table per row with the ratios and writes the figures as JSON.
 *
 * ```sh
 * deno run --allow-all bench/run.ts [--quick] [--no-pin] [--output=PATH] [--flooder=auto|python] [--rows=NAME,...]
 * ```
 *
 * `--quick` runs every row with tiny counts and one repeat (a few
 * seconds; the smoke test uses it). `--rows` runs only the named groups
 * of rows (names in {@linkcode ROW_GROUPS}), for re-measuring one thing. The JSON goes to
 * `bench/results/latest.json` unless `--output` says otherwise. Load
 * generators run on CPU 0 and what is measured on CPU 1 unless
 * `--no-pin` (`cpu_placement.ts`). Exit status 1 when a required
 * measurement failed.
 *
 * Network safety: every socket is pinned to 127.0.0.1, except in rows 9
 * (`fan-in-hosts`), 10 (`mesh`) and 11 (`long-run`), whose sockets all live in network
 * namespaces they create and remove (root only; skipped elsewhere); groups are in
 * 239.50.0.0/16, ports in 50000-50999 (`addresses.ts`), every load is
 * bounded in count and time, and a watchdog ends the run if it overruns.
 *
 * @module
 */

import { netnsAvailable } from "../lab/availability.ts";
import {
  KERNEL_FEATURES,
  type KernelFeature,
  kernelFeatures,
} from "../lab/kernel_features.ts";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";
import { EndpointAllocator } from "./addresses.ts";
import { compileC } from "./c_program.ts";
import { setupPinning } from "./cpu_placement.ts";
import { prepareFlooder } from "./flooder.ts";
import { findImplementations } from "./implementations.ts";
import { FULL, type Plan, QUICK } from "./plan.ts";
import { Recorder } from "./recorder.ts";
import { formatReport } from "./report.ts";
import { type BenchResults, computeRatios, ROWS } from "./results.ts";
import type { RowContext } from "./rows/context.ts";
import { fanInRow } from "./rows/fan_in.ts";
import { hotPathRow } from "./rows/hot_path.ts";
import { loadModeRow } from "./rows/load_mode.ts";
import { memoryRow } from "./rows/memory.ts";
import { oneWayRow } from "./rows/one_way.ts";
import { pacedRow } from "./rows/paced.ts";
import { recvBufferRow } from "./rows/recv_buffer.ts";
import { C_CLIENT_ID, requestReplyRow } from "./rows/request_reply.ts";
import { requestReplyPythonRow } from "./rows/request_reply_py.ts";
import { pingPongCRow } from "./rows/ping_pong_c.ts";
import { sendRateRow } from "./rows/send_rate.ts";
import { cliListenRow } from "./rows/cli_listen.ts";
import { fanInHostsRow } from "./rows/fan_in_hosts.ts";
import { longRunListenRow, longRunSendRow } from "./rows/long_run.ts";
import { meshRow } from "./rows/mesh.ts";

/** The row groups in the order they run, by the name `--rows` takes. */
const ROW_GROUPS: Record<string, (context: RowContext) => Promise<void>> = {
  "one-way": oneWayRow,
  "request-reply": requestReplyRow,
  "request-reply-py": requestReplyPythonRow,
  "ping-pong-c": pingPongCRow,
  "load-mode": loadModeRow,
  "fan-in": fanInRow,
  "memory": memoryRow,
  "hot-path": hotPathRow,
  "paced": pacedRow,
  "recv-buffer": recvBufferRow,
  "send-rate": sendRateRow,
  "cli-listen": cliListenRow,
  "fan-in-hosts": fanInHostsRow,
  "long-run-listen": longRunListenRow,
  "long-run-send": longRunSendRow,
  "mesh": meshRow,
};

const USAGE =
  "usage: bench/run.ts [--quick] [--no-pin] [--output=PATH] [--flooder=auto|python] [--rows=NAME,...]";

interface Options {
  plan: Plan;
  rows: string[];
  output: string;
  flooder: "auto" | "python";
  pin: boolean;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    plan: FULL,
    rows: Object.keys(ROW_GROUPS),
    output: fileURLToPath(new URL("./results/latest.json", import.meta.url)),
    flooder: "auto",
    pin: true,
  };
  for (const arg of args) {
    if (arg === "--quick") options.plan = QUICK;
    else if (arg === "--no-pin") options.pin = false;
    else if (arg.startsWith("--output=")) options.output = arg.slice(9);
    else if (arg === "--flooder=python" || arg === "--flooder=auto") {
      options.flooder = arg.slice(10) as Options["flooder"];
    } else if (arg.startsWith("--rows=")) {
      options.rows = arg.slice(7).split(",");
      const unknown = options.rows.filter((row) =>
        !Object.hasOwn(ROW_GROUPS, row)
      );
      if (unknown.length > 0 || options.rows.length === 0) {
        console.error(
          `bench: unknown row ${unknown.join(", ") || "(none)"}; rows: ${
            Object.keys(ROW_GROUPS).join(", ")
          }\n${USAGE}`,
        );
        Deno.exit(2);
      }
    } else {
      console.error(`bench: unknown argument ${arg}\n${USAGE}`);
      Deno.exit(2);
    }
  }
  return options;
}

async function machine(): Promise<Record<string, string | number>> {
  const read = (path: string) => Deno.readTextFile(path).catch(() => "");
  const cpuinfo = await read("/proc/cpuinfo");
  return {
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown CPU",
    cpus: navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    target: Deno.build.target,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    rmemDefault: Number((await read("/proc/sys/net/core/rmem_default")) || 0),
    rmemMax: Number((await read("/proc/sys/net/core/rmem_max")) || 0),
    kernelLacks: await kernelLacks(),
  };
}

/**
 * The kernel features this kernel lacks (kernel_features.ts), so that a
 * figure is read with what the machine could do; no row today needs
 * multicast routing or netem (a row that did would skip itself, naming
 * the feature). `unknown` without namespaces.
 */
async function kernelLacks(): Promise<string> {
  if (!(await netnsAvailable()).ok) return "unknown (no namespaces)";
  const found = kernelFeatures();
  const lacking = (Object.keys(found) as KernelFeature[]).filter((f) =>
    !found[f]
  );
  return lacking.map((f) => KERNEL_FEATURES[f].config).join(", ") || "none";
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const { plan } = options;
  const startedAt = new Date();
  const loadAtStart = Deno.loadavg()[0];
  const started = performance.now();
  const watchdogMs = plan.name === "quick" ? 180_000 : 1_800_000;
  const watchdog = setTimeout(() => {
    console.error(
      `bench: still running after ${watchdogMs / 1000} s; giving up`,
    );
    Deno.exit(1);
  }, watchdogMs);

  const pinning = await setupPinning(options.pin);
  const { available, skipped, versions, dispose } = await findImplementations();
  const flooder = await prepareFlooder(options.flooder);
  if (flooder.fallbackReason !== undefined) {
    skipped.push({ id: "c-flooder", reason: flooder.fallbackReason });
  }
  const cClient = await compileC("clients/pingpong.c");
  if (typeof cClient === "string") {
    skipped.push({ id: C_CLIENT_ID, reason: `row 2c not run: ${cClient}` });
  }
  if (loadAtStart > 0.5) {
    console.error(
      `bench: load average is ${loadAtStart} before starting: other work on this machine will skew the figures`,
    );
  }
  console.error(
    `bench ${plan.name}: ${
      available.map((i) => i.id).join(", ")
    }; flooder ${flooder.kind}; ${
      pinning === true
        ? "load on CPU 0, measured on CPU 1"
        : `not pinned: ${pinning}`
    }` +
      (skipped.length > 0
        ? `; skipped ${skipped.map((s) => `${s.id} (${s.reason})`).join(", ")}`
        : ""),
  );

  const recorder = new Recorder();
  const context: RowContext = {
    plan,
    implementations: available,
    flooder,
    endpoints: new EndpointAllocator(),
    recorder,
    cPingPongClient: typeof cClient === "string" ? undefined : cClient.path,
    skipped,
  };
  try {
    for (const [name, row] of Object.entries(ROW_GROUPS)) {
      if (options.rows.includes(name)) await row(context);
    }
  } finally {
    await flooder.dispose();
    if (typeof cClient !== "string") await cClient.dispose();
    await dispose();
  }

  const measurements = recorder.measurements();
  const results: BenchResults = {
    version: 1,
    plan: plan.name,
    startedAt: startedAt.toISOString(),
    durationSeconds: (performance.now() - started) / 1000,
    machine: {
      ...(await machine()),
      ...versions,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: Deno.loadavg()[0],
    },
    flooder: flooder.kind,
    pinning: pinning === true
      ? "load generators on CPU 0, measured processes on CPU 1"
      : `none: ${pinning}`,
    skipped,
    settings: { ...plan },
    rows: ROWS,
    measurements,
    ratios: computeRatios(measurements),
  };
  await Deno.mkdir(dirname(options.output), { recursive: true });
  await Deno.writeTextFile(
    options.output,
    JSON.stringify(results, null, 2) + "\n",
  );
  clearTimeout(watchdog);
  console.log(formatReport(results));
  console.log(`\nwritten to ${options.output}`);

  const failed = measurements.filter((m) =>
    m.required && (m.error !== undefined || m.runs.length === 0)
  );
  if (failed.length > 0) {
    console.error(
      `bench: ${failed.length} required measurement(s) failed: ${
        failed.map((m) => `${m.row}/${m.id}`).join(", ")
      }`,
    );
    Deno.exit(1);
  }
}

if (import.meta.main) await main();
