/**
 * The receivers and responders the bench compares, and how to start each
 * as a subprocess speaking `receiver_protocol.ts`: mcast's `listen()`
 * (over `node:dgram`, and over the FFI transport when that is there) and
 * the baselines (raw `node:dgram` in Deno, `Deno.listenDatagram`, a
 * Python socket loop, Node.js `dgram`, C with recvmmsg).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Endpoint } from "./addresses.ts";
import { compileC } from "./c_program.ts";
import { loadFfiTransport } from "./ffi_loader.ts";
import type { ReceiverCommand } from "./receiver_process.ts";
import type { ReceiverMode } from "./receiver_protocol.ts";

/** One receiver implementation. */
export interface Implementation {
  /** Stable key used in the JSON results. */
  id: string;
  /** Human name for the table. */
  label: string;
  /** mcast's own code, or a baseline to compare it with. */
  side: "mcast" | "baseline";
  /** Whether a failure of this one fails the run (extras do not). */
  required: boolean;
  /**
   * The command line of a receiver.
   *
   * @param mode Sink or ack.
   * @param endpoint Group and port.
   * @param maxSeconds Its hard limit.
   * @param listeners How many sockets it opens.
   * @param flags Receiver-specific `--key=value` extras.
   */
  command(
    mode: ReceiverMode,
    endpoint: Endpoint,
    maxSeconds: number,
    listeners: number,
    flags?: string[],
  ): ReceiverCommand;
}

/** An implementation that cannot run here, and why. */
export interface Skipped {
  /** Its id. */
  id: string;
  /** Why it was left out. */
  reason: string;
}

function script(name: string): string {
  return fileURLToPath(new URL(`./receivers/${name}`, import.meta.url));
}

function protocolArgs(
  mode: ReceiverMode,
  endpoint: Endpoint,
  maxSeconds: number,
  listeners: number,
): string[] {
  return [
    mode,
    endpoint.group,
    String(endpoint.port),
    String(maxSeconds),
    String(listeners),
  ];
}

function denoReceiver(
  file: string,
  permissions: string[],
  fixedFlags: string[] = [],
) {
  return (
    mode: ReceiverMode,
    endpoint: Endpoint,
    maxSeconds: number,
    listeners: number,
    flags: string[] = [],
  ): ReceiverCommand => ({
    command: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      ...permissions,
      script(file),
      ...protocolArgs(mode, endpoint, maxSeconds, listeners),
      ...fixedFlags,
      ...flags,
    ],
  });
}

/** What `deno task listen` grants, less what the bench does not use. */
const MCAST_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-sys=networkInterfaces,hostname",
];

/**
 * mcast `listen()` as `deno task listen` runs it: over `Deno.listenDatagram`
 * (the launcher passes `--unstable-net`), text codec.
 */
export const MCAST: Implementation = {
  id: "mcast",
  label: "mcast listen() (Deno.listenDatagram, the default)",
  side: "mcast",
  required: true,
  command: denoReceiver("mcast_listen.ts", [
    "--unstable-net",
    ...MCAST_PERMISSIONS,
  ], ["--transport=deno"]),
};

/** mcast `listen()` over the portable `node:dgram` transport. */
export const MCAST_DGRAM: Implementation = {
  id: "mcast-dgram",
  label: "mcast listen() + node:dgram",
  side: "mcast",
  required: false,
  command: denoReceiver("mcast_listen.ts", MCAST_PERMISSIONS, [
    "--transport=dgram",
  ]),
};

/** mcast `listen()` over the FFI transport (`lib/transports/ffi/ffi_transport.ts`). */
export const MCAST_FFI: Implementation = {
  id: "mcast-ffi",
  label: "mcast listen() + FFI",
  side: "mcast",
  required: false,
  command: denoReceiver("mcast_listen.ts", [
    ...MCAST_PERMISSIONS,
    "--allow-ffi",
  ], ["--transport=ffi"]),
};

/** Raw `node:dgram` in Deno: the floor under mcast's default transport. */
export const RAW_NODE_DGRAM: Implementation = {
  id: "deno-node-dgram",
  label: "raw node:dgram (Deno)",
  side: "baseline",
  required: true,
  command: denoReceiver("node_dgram.ts", ["--allow-net"]),
};

/** `Deno.listenDatagram`, Deno's unstable native UDP API. */
export const DENO_DATAGRAM: Implementation = {
  id: "deno-listen-datagram",
  label: "Deno.listenDatagram",
  side: "baseline",
  required: true,
  command: denoReceiver("deno_datagram.ts", ["--allow-net", "--unstable-net"]),
};

/** A plain Python socket loop. */
export const PYTHON: Implementation = {
  id: "python-socket",
  label: "python3 socket loop",
  side: "baseline",
  required: false,
  command: (mode, endpoint, maxSeconds, listeners) => ({
    command: python,
    args: [
      script("python_socket.py"),
      ...protocolArgs(mode, endpoint, maxSeconds, listeners),
    ],
  }),
};

/**
 * The origin Python example's responder: a blocking socket,
 * `recvfrom(1024)`, `sendto(b"ack")`, no select (row 2p's baseline; in
 * the run when {@linkcode PYTHON} is).
 */
export const PYTHON_SEED: Implementation = {
  id: "python-seed",
  label: "python3 seed-style responder (blocking recvfrom)",
  side: "baseline",
  required: false,
  command: (mode, endpoint, maxSeconds, listeners) => ({
    command: python,
    args: [
      script("python_seed.py"),
      ...protocolArgs(mode, endpoint, maxSeconds, listeners),
    ],
  }),
};

/** Node.js's own `dgram`, run by `node`. */
export const NODE: Implementation = {
  id: "node-dgram",
  label: "Node.js dgram",
  side: "baseline",
  required: false,
  command: (mode, endpoint, maxSeconds, listeners) => ({
    command: "node",
    args: [
      script("node_dgram.mjs"),
      ...protocolArgs(mode, endpoint, maxSeconds, listeners),
    ],
  }),
};

/** Where `receivers/recvmmsg.c` was built, once {@linkcode findImplementations} has run. */
let recvmmsgPath = "";

/** C with recvmmsg and an 8 MiB buffer: what this machine can receive at most. */
export const C_RECVMMSG: Implementation = {
  id: "c-recvmmsg",
  label: "C recvmmsg, 8 MiB buffer (limit)",
  side: "baseline",
  required: false,
  command: (mode, endpoint, maxSeconds, listeners) => ({
    command: recvmmsgPath,
    args: protocolArgs(mode, endpoint, maxSeconds, listeners),
  }),
};

/** mcast's default path and its floor: what every row measures. */
export const CORE: readonly Implementation[] = [MCAST, RAW_NODE_DGRAM];

/** Runs a command; its output, or undefined when it fails. */
async function output(
  command: string,
  args: string[],
): Promise<string | undefined> {
  try {
    const result = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(
      result.stdout.length > 0 ? result.stdout : result.stderr,
    ).trim();
    return result.success ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Python interpreter's own path: a version manager's `python3` shim
 * (pyenv) costs a shell start per run.
 */
let python = "python3";

/**
 * The Python interpreter the bench runs: its own path once
 * {@linkcode findImplementations} has found a working one (then
 * {@linkcode PYTHON} is among the available implementations).
 *
 * @returns The path, or `python3` before it was looked up.
 */
export function pythonExecutable(): string {
  return python;
}

/**
 * Every implementation that can run on this machine, mcast first, and the
 * ones left out with the reason. Builds the C receiver: call `dispose`
 * when done.
 *
 * @returns Available implementations, skipped ones, tool versions.
 */
export async function findImplementations(): Promise<{
  available: Implementation[];
  skipped: Skipped[];
  versions: Record<string, string>;
  dispose: () => Promise<void>;
}> {
  const available: Implementation[] = [MCAST, MCAST_DGRAM];
  const skipped: Skipped[] = [];
  const versions: Record<string, string> = { deno: Deno.version.deno };
  const ffi = await loadFfiTransport();
  if (typeof ffi === "string") skipped.push({ id: MCAST_FFI.id, reason: ffi });
  else available.push(MCAST_FFI);
  available.push(RAW_NODE_DGRAM, DENO_DATAGRAM);
  const executable = await output("python3", [
    "-c",
    "import sys; print(sys.executable); print(sys.version.split()[0])",
  ]);
  if (executable !== undefined && executable.includes("\n")) {
    const [path, version] = executable.split("\n");
    python = path;
    available.push(PYTHON);
    versions.python = version;
  } else skipped.push({ id: PYTHON.id, reason: "no working python3" });
  const node = await output("node", ["--version"]);
  if (node !== undefined && node.startsWith("v")) {
    available.push(NODE);
    versions.node = node;
  } else skipped.push({ id: NODE.id, reason: "no working node" });
  const recvmmsg = await compileC("receivers/recvmmsg.c");
  if (typeof recvmmsg === "string") {
    skipped.push({ id: C_RECVMMSG.id, reason: recvmmsg });
  } else {
    recvmmsgPath = recvmmsg.path;
    available.push(C_RECVMMSG);
  }
  return {
    available,
    skipped,
    versions,
    dispose: async () => {
      if (typeof recvmmsg !== "string") await recvmmsg.dispose();
    },
  };
}
