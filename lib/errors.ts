/**
 * Error classes with a stable `code`, so callers (and the CLI) can tell
 * bad input from a socket failure from a broken plugin without parsing
 * messages.
 *
 * @module
 */

/** Every stable error code that mcast throws. */
export type McastErrorCode =
  | "ERR_INVALID_GROUP"
  | "ERR_INVALID_PORT"
  | "ERR_INVALID_TTL"
  | "ERR_INVALID_INTERFACE"
  | "ERR_INVALID_SOURCE"
  | "ERR_INVALID_DURATION"
  | "ERR_INVALID_COUNT"
  | "ERR_INVALID_OPTION"
  | "ERR_SOCKET"
  | "ERR_PLUGIN_NOT_FOUND"
  | "ERR_PLUGIN_LOAD"
  | "ERR_PLUGIN_SHAPE"
  | "ERR_PLUGIN_HOOK"
  | "ERR_SENDER_BUSY"
  | "ERR_SENDER_CLOSED";

/**
 * An input value has the wrong shape (not an address, not a number).
 *
 * @example Catch by code
 * ```ts
 * import assert from "node:assert/strict";
 * import { McastTypeError } from "./errors.ts";
 * const error = new McastTypeError("ERR_INVALID_GROUP", 'Group "x" is not an IP address');
 * assert.equal(error.code, "ERR_INVALID_GROUP");
 * assert.ok(error instanceof TypeError);
 * ```
 */
export class McastTypeError extends TypeError {
  /** Stable machine-readable code. */
  readonly code: McastErrorCode;
  /**
   * Creates the error.
   *
   * @param code Stable code naming the rule that failed.
   * @param message Human message naming the bad value.
   */
  constructor(code: McastErrorCode, message: string) {
    super(message);
    this.name = "McastTypeError";
    this.code = code;
  }
}

/**
 * An input value is of the right shape but out of its allowed range
 * (a port above 65535, a unicast address given as a group).
 *
 * @example Catch by code
 * ```ts
 * import assert from "node:assert/strict";
 * import { McastRangeError } from "./errors.ts";
 * const error = new McastRangeError("ERR_INVALID_TTL", "TTL 300 is out of range 0-255");
 * assert.equal(error.code, "ERR_INVALID_TTL");
 * assert.ok(error instanceof RangeError);
 * ```
 */
export class McastRangeError extends RangeError {
  /** Stable machine-readable code. */
  readonly code: McastErrorCode;
  /**
   * Creates the error.
   *
   * @param code Stable code naming the rule that failed.
   * @param message Human message naming the bad value.
   */
  constructor(code: McastErrorCode, message: string) {
    super(message);
    this.name = "McastRangeError";
    this.code = code;
  }
}

/** How a {@linkcode SocketError} came about. */
export interface SocketErrorOptions extends ErrorOptions {
  /** The errno name the OS gave (`EPERM`, `ENOBUFS`, ...), when it gave one. */
  errno?: string;
}

/**
 * A socket operation failed (bind, join, send); the message names the
 * operation, the group and the interface involved, and `errno` the OS's
 * reason when it named one.
 *
 * @example Catch by code
 * ```ts
 * import assert from "node:assert/strict";
 * import { SocketError } from "./errors.ts";
 * const error = new SocketError("Cannot bind port 80: EACCES", { errno: "EACCES" });
 * assert.equal(error.code, "ERR_SOCKET");
 * assert.equal(error.errno, "EACCES");
 * ```
 */
export class SocketError extends Error {
  /** Always `ERR_SOCKET`. */
  readonly code: McastErrorCode = "ERR_SOCKET";
  /**
   * The errno name the OS gave (`EPERM`, `ENOBUFS`, `ENETUNREACH`, ...);
   * `UNKNOWN` where Deno's `node:dgram` did not say; absent when no OS
   * call failed (a closed socket) or the transport cannot tell.
   */
  readonly errno?: string;
  /**
   * Creates the error.
   *
   * @param message What failed, naming the group, port or interface.
   * @param options The underlying error as `cause`, the OS's `errno`.
   */
  constructor(message: string, options?: SocketErrorOptions) {
    super(message, options);
    this.name = "SocketError";
    if (options?.errno !== undefined) this.errno = options.errno;
  }
}

/**
 * Some datagrams of a `Transport.sendBatch` call did not leave:
 * the transport went on with the rest of the batch after each one that
 * failed, so every datagram is accounted for (`sent` plus the counts in
 * `failed` is the batch's length). `errors` holds the first error of each
 * errno, and the message is the first one's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SendBatchError, SocketError } from "./errors.ts";
 * const refused = new SocketError("Cannot send 5 bytes ...: a firewall rule ...", { errno: "EPERM" });
 * const error = new SendBatchError(62, { EPERM: 2 }, [refused]);
 * assert.equal(error.sent, 62);
 * assert.equal(error.errno, "EPERM");
 * assert.ok(error instanceof SocketError);
 * ```
 */
export class SendBatchError extends SocketError {
  /** How many of the batch's datagrams left. */
  readonly sent: number;
  /** How many did not, by errno (`UNKNOWN` where none was given). */
  readonly failed: Readonly<Record<string, number>>;
  /** The first error of each errno in `failed`, in the order they came. */
  readonly errors: readonly SocketError[];
  /**
   * Creates the error.
   *
   * @param sent How many datagrams left.
   * @param failed How many did not, by errno.
   * @param errors The first error of each errno (at least one).
   */
  constructor(
    sent: number,
    failed: Readonly<Record<string, number>>,
    errors: readonly SocketError[],
  ) {
    super(errors[0]?.message ?? "Some datagrams of a batch did not leave", {
      cause: errors[0],
      errno: errors[0]?.errno,
    });
    this.name = "SendBatchError";
    this.sent = sent;
    this.failed = failed;
    this.errors = errors;
  }
}

/**
 * A plugin could not be found, exports the wrong shape, or one of its
 * hooks threw. The message names the plugin and the hook.
 *
 * @example Catch by code
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginError } from "./errors.ts";
 * const error = new PluginError("ERR_PLUGIN_SHAPE", "mine", 'Plugin "mine" has no respond() function');
 * assert.equal(error.plugin, "mine");
 * ```
 */
export class PluginError extends Error {
  /** Stable machine-readable code. */
  readonly code: McastErrorCode;
  /** The plugin's name or the specifier it was asked for by. */
  readonly plugin: string;
  /** The hook that failed, when one did. */
  readonly hook?: string;
  /**
   * Creates the error.
   *
   * @param code `ERR_PLUGIN_NOT_FOUND`, `ERR_PLUGIN_LOAD`, `ERR_PLUGIN_SHAPE` or `ERR_PLUGIN_HOOK`.
   * @param plugin The plugin's name or specifier.
   * @param message Human message naming the plugin and what is wrong.
   * @param options `hook` that failed and the underlying `cause`.
   */
  constructor(
    code: McastErrorCode,
    plugin: string,
    message: string,
    options?: ErrorOptions & { hook?: string },
  ) {
    super(message, options);
    this.name = "PluginError";
    this.code = code;
    this.plugin = plugin;
    if (options?.hook !== undefined) this.hook = options.hook;
  }
}

/**
 * The one way mcast turns a caught error into text for a message: the
 * first line of its message, after its errno name (`code`) when the
 * message does not already name it (`EADDRINUSE (bind failed)`).
 *
 * @param error Anything caught.
 * @returns One line of text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorText } from "./errors.ts";
 * const error = Object.assign(new Error("bind failed"), { code: "EADDRINUSE" });
 * assert.equal(errorText(error), "EADDRINUSE (bind failed)");
 * assert.equal(errorText(new Error("two\nlines")), "two");
 * assert.equal(errorText("text"), "text");
 * ```
 */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const first = error.message.split("\n")[0];
  const code = errorCode(error);
  // An errno name (EADDRINUSE, ENODEV) says what a socket call met; mcast's
  // own ERR_* codes are for programs, and the message says it already.
  return code !== undefined && /^E[A-Z0-9]+$/.test(code) &&
      !first.includes(code)
    ? `${code} (${first})`
    : first;
}

/**
 * The stable `code` of a caught error, when it has a string one (mcast's
 * `ERR_*` codes, Node's errno names).
 *
 * @param error Anything caught.
 * @returns The code, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorCode, SocketError } from "./errors.ts";
 * assert.equal(errorCode(new SocketError("x")), "ERR_SOCKET");
 * assert.equal(errorCode(new Error("x")), undefined);
 * ```
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}
