/**
 * The listener's receive buffer as its ready line says it. The kernel
 * doubles a receive buffer asked with `SO_RCVBUF` (room for its own
 * bookkeeping) and reports the doubled figure: asked for 32 MiB, a socket
 * reports 67,108,864 bytes. The line says both, and when
 * `net.core.rmem_max` cut what was asked, that too.
 *
 * @module
 */

import { SOCKET_RECEIVE_BUFFER_BYTES } from "../lib/defaults.ts";

/**
 * What a listener's socket asked for: `--recv-buffer`, or 32 MiB, on the
 * ffi transport (the only one that asks); `null` on the others.
 *
 * @param transport The transport's name.
 * @param recvBuffer `--recv-buffer`, when given.
 * @returns Bytes asked, or `null`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { receiveBufferAsked } from "./receive_buffer_text.ts";
 * assert.equal(receiveBufferAsked("ffi", undefined), 33554432);
 * assert.equal(receiveBufferAsked("dgram", undefined), null);
 * ```
 */
export function receiveBufferAsked(
  transport: string,
  recvBuffer: number | undefined,
): number | null {
  return transport === "ffi" ? recvBuffer ?? SOCKET_RECEIVE_BUFFER_BYTES : null;
}

/** 32 MiB, 208 KiB, 1000 bytes. */
function size(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes >> 10} KiB`;
  return `${bytes} bytes`;
}

/**
 * The words for the buffer.
 *
 * @param reported What the socket reports (`SO_RCVBUF`), `null` where it cannot be read.
 * @param asked What was asked for (`--recv-buffer`, 32 MiB by default), `null` when nothing was (the kernel's default).
 * @param transport The transport's name, for an unreadable buffer.
 * @returns `receive buffer 32 MiB as asked (the kernel reports 67108864 bytes: ...)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { receiveBufferText } from "./receive_buffer_text.ts";
 * assert.equal(
 *   receiveBufferText(67108864, 33554432, "ffi"),
 *   "receive buffer 32 MiB as asked (the kernel reports 67108864 bytes: it doubles what is asked, for its own bookkeeping)",
 * );
 * assert.equal(
 *   receiveBufferText(425984, 33554432, "ffi"),
 *   "receive buffer 208 KiB of the 32 MiB asked: net.core.rmem_max caps it (the kernel reports 425984 bytes: it doubles what it grants, for its own bookkeeping)",
 * );
 * ```
 */
export function receiveBufferText(
  reported: number | null,
  asked: number | null,
  transport: string,
): string {
  if (reported === null) return `receive buffer not readable over ${transport}`;
  if (asked === null) {
    return `receive buffer ${reported} bytes (the kernel's default, net.core.rmem_default)`;
  }
  const granted = Math.floor(reported / 2);
  const doubled = `the kernel reports ${reported} bytes: it doubles what ${
    granted < asked ? "it grants" : "is asked"
  }, for its own bookkeeping`;
  if (granted >= asked) {
    return `receive buffer ${size(asked)} as asked (${doubled})`;
  }
  return `receive buffer ${size(granted)} of the ${
    size(asked)
  } asked: net.core.rmem_max caps it (${doubled})`;
}
