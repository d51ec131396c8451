/**
 * `--transport dgram|ffi`: which socket implementation a command uses.
 *
 * @module
 */

import { openDgramTransport } from "../lib/dgram_transport.ts";
import {
  ffiTransportAvailable,
  openFfiTransport,
} from "../lib/ffi_transport.ts";
import type { TransportFactory } from "../lib/transport.ts";
import { UsageError } from "./usage_error.ts";

/** Help text lines for the flag. */
export const TRANSPORT_HELP =
  `      --transport NAME   dgram (portable, default) or ffi (Linux: faster receive,
                         IPv6 hop limit, per-socket group filtering; needs --allow-ffi)`;

/** Turns the flag's value into a transport factory; throws `UsageError` for a bad or unavailable one. */
export function chooseTransport(value: string | undefined): TransportFactory {
  if (value === undefined || value === "dgram") return openDgramTransport;
  if (value === "ffi") {
    if (!ffiTransportAvailable()) {
      throw new UsageError(
        `Transport "ffi" is not available here: it needs Linux (glibc) and FFI permission (--allow-ffi)`,
      );
    }
    return openFfiTransport;
  }
  throw new UsageError(
    `Invalid --transport "${value}": expected dgram or ffi`,
  );
}
