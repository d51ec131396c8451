/**
 * The `rmem` check: the receive buffer a listener can get. `listen` over
 * the ffi transport asks for 32 MiB (`--recv-buffer`); the kernel grants at
 * most `net.core.rmem_max` to a process without privileges, and a socket
 * that asks for nothing (the `deno` and `dgram` transports) gets
 * `net.core.rmem_default`. A small buffer drops bursts (the listener's
 * `kernelDrops`). Pure.
 *
 * @module
 */

import { SOCKET_RECEIVE_BUFFER_BYTES } from "../lib/defaults.ts";
import type { HostFacts } from "./facts.ts";
import { type Finding, finding } from "./finding.ts";
import { numberFile, RMEM_DEFAULT_FILE, RMEM_MAX_FILE } from "./proc_files.ts";

const CHECK = "rmem";

/** Where this process's capabilities are (`CapEff:`). */
export const PROCESS_STATUS_FILE = "/proc/self/status";

/** The files this check reads. */
export const RECEIVE_BUFFER_FILES: readonly string[] = [
  RMEM_MAX_FILE,
  RMEM_DEFAULT_FILE,
  PROCESS_STATUS_FILE,
];

/** CAP_NET_ADMIN: `SO_RCVBUFFORCE` may pass net.core.rmem_max with it. */
const CAP_NET_ADMIN = 12n;

/**
 * Whether this process has CAP_NET_ADMIN (root has it), so that a listener
 * it starts gets past net.core.rmem_max; `undefined` when unknown.
 */
function mayPassMax(facts: Pick<HostFacts, "files">): boolean | undefined {
  const status = facts.files[PROCESS_STATUS_FILE];
  if (status?.ok !== true) return undefined;
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status.value)?.[1];
  if (hex === undefined) return undefined;
  return ((BigInt(`0x${hex}`) >> CAP_NET_ADMIN) & 1n) === 1n;
}

function size(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

/**
 * The `rmem` finding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { receiveBufferCheck } from "./receive_buffer_check.ts";
 * const facts = { files: {
 *   "/proc/sys/net/core/rmem_max": { ok: true as const, value: "212992\n" },
 *   "/proc/sys/net/core/rmem_default": { ok: true as const, value: "212992\n" },
 * } };
 * const result = receiveBufferCheck(facts);
 * assert.equal(result.verdict, "warn");
 * assert.equal(result.fix, "sysctl -w net.core.rmem_max=33554432");
 * ```
 */
export function receiveBufferCheck(facts: Pick<HostFacts, "files">): Finding {
  const max = numberFile(facts, RMEM_MAX_FILE);
  const standard = numberFile(facts, RMEM_DEFAULT_FILE);
  if (max === undefined) {
    const file = facts.files[RMEM_MAX_FILE];
    return finding(
      CHECK,
      "warn",
      `cannot read ${RMEM_MAX_FILE}${
        file?.ok === false ? `: ${file.error}` : ""
      }`,
    );
  }
  const others = standard === undefined
    ? ""
    : `; the deno and dgram transports get net.core.rmem_default, ${
      size(standard)
    }`;
  const fix = `sysctl -w net.core.rmem_max=${SOCKET_RECEIVE_BUFFER_BYTES}`;
  const privileged = mayPassMax(facts);
  if (max < SOCKET_RECEIVE_BUFFER_BYTES && privileged === true) {
    return finding(
      CHECK,
      "ok",
      `net.core.rmem_max is ${
        size(max)
      }, but this user has CAP_NET_ADMIN (root does): listen run by it asks past that (SO_RCVBUFFORCE) and gets the ${
        size(SOCKET_RECEIVE_BUFFER_BYTES)
      } it asks for; run by a user without it, listen would get ${
        size(max)
      } (${fix} lifts that)${others}`,
    );
  }
  if (max < SOCKET_RECEIVE_BUFFER_BYTES) {
    const who = privileged === false
      ? " (this user has no CAP_NET_ADMIN to pass it)"
      : " unless run as root (CAP_NET_ADMIN)";
    return finding(
      CHECK,
      "warn",
      `net.core.rmem_max is ${size(max)}: listen asks for ${
        size(SOCKET_RECEIVE_BUFFER_BYTES)
      } and gets ${
        size(max)
      }${who}, so a burst larger than that is dropped (kernelDrops)${others}`,
      fix,
    );
  }
  return finding(
    CHECK,
    "ok",
    `net.core.rmem_max is ${size(max)}: listen gets the ${
      size(SOCKET_RECEIVE_BUFFER_BYTES)
    } it asks for${others}`,
  );
}
