/**
 * How the FFI transport runs libc calls: {@link osCall} for calls whose
 * failure is the caller's error (an `ErrnoError` becomes a `SocketError`
 * that says what was being done), {@link attempt} for best-effort calls
 * that older kernels or unprivileged processes may refuse.
 *
 * @module
 */

import { SocketError } from "../../errors.ts";
import { ErrnoError } from "./libc.ts";
import { explainSocketFailure, type FailedCall } from "../socket_failure.ts";

/**
 * Runs libc calls, turning an `ErrnoError` into a `SocketError` whose
 * message starts with `what` and whose `cause` is the `ErrnoError`; when
 * `call` says what was done and the errno is one a user can cause, the
 * message is the sentence `socket_failure.ts` has for it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketError } from "../../errors.ts";
 * import { ErrnoError } from "./libc.ts";
 * import { osCall } from "./os_call.ts";
 * assert.equal(osCall("Cannot add", () => 1 + 1), 2);
 * assert.throws(
 *   () => osCall("Cannot bind 0.0.0.0:5000", () => {
 *     throw new ErrnoError("bind", 98, "Address already in use");
 *   }),
 *   (error) =>
 *     error instanceof SocketError &&
 *     error.message === "Cannot bind 0.0.0.0:5000: EADDRINUSE (Address already in use)",
 * );
 * ```
 */
export function osCall<T>(
  what: string,
  call: () => T,
  failed?: FailedCall,
): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof ErrnoError) {
      const explained = failed && explainSocketFailure(failed, error.code);
      throw new SocketError(explained ?? `${what}: ${error.detail}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Runs a best-effort libc call; false when it failed with an
 * `ErrnoError` (other errors are thrown).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrnoError } from "./libc.ts";
 * import { attempt } from "./os_call.ts";
 * assert.equal(attempt(() => {}), true);
 * assert.equal(attempt(() => { throw new ErrnoError("setsockopt", 22, "Invalid argument"); }), false);
 * ```
 */
export function attempt(call: () => void): boolean {
  try {
    call();
    return true;
  } catch (error) {
    if (error instanceof ErrnoError) return false;
    throw error;
  }
}
