/**
 * Finds the optional FFI transport (`lib/transports/ffi/ffi_transport.ts`, written
 * separately) without a static import, so the bench still type-checks
 * and runs where that module is missing or cannot work.
 *
 * @module
 */

import type { TransportFactory } from "../lib/transports/transport.ts";

interface FfiModule {
  openFfiTransport?: TransportFactory;
  ffiTransportAvailable?: () => boolean;
}

/**
 * Loads `openFfiTransport` when the module exists and says it can work
 * here (Linux, glibc, `--allow-ffi`).
 *
 * @returns The factory, or why it cannot be used.
 *
 * @example
 * ```ts ignore
 * import { loadFfiTransport } from "./ffi_loader.ts";
 * const ffi = await loadFfiTransport();
 * console.log(typeof ffi === "string" ? `no FFI: ${ffi}` : "FFI available");
 * ```
 */
export async function loadFfiTransport(): Promise<TransportFactory | string> {
  const url =
    new URL("../lib/transports/ffi/ffi_transport.ts", import.meta.url).href;
  let module: FfiModule;
  try {
    module = await import(url) as FfiModule;
  } catch (error) {
    return `lib/transports/ffi/ffi_transport.ts did not load: ${
      (error as Error).message
    }`;
  }
  if (typeof module.openFfiTransport !== "function") {
    return "lib/transports/ffi/ffi_transport.ts has no openFfiTransport";
  }
  if (
    typeof module.ffiTransportAvailable === "function" &&
    !module.ffiTransportAvailable()
  ) {
    return "ffiTransportAvailable() is false here";
  }
  return module.openFfiTransport;
}
