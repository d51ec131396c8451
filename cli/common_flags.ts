/**
 * The flags several commands take, declared once so that a flag name
 * means one thing in every command (the same type, alias, check and
 * permission). A command's table takes them as they are, or with its own
 * `help` (`{ ...GROUP_FLAG, help: "..." }`) where its wording differs.
 *
 * @module
 */

import { DEFAULT_GROUP, DEFAULT_PORT, DEFAULT_TTL } from "../lib/defaults.ts";
import { parseDuration } from "../lib/duration.ts";
import { validatePort, validateTtl } from "../lib/numbers.ts";
import { parseByteSize } from "./byte_size.ts";
import type { FlagSpec } from "./flag_table.ts";
import { checkImportHost } from "./import_host.ts";
import { UsageError } from "./usage_error.ts";
import {
  METRICS_EXAMPLE_ADDRESS,
  parseMetricsAddress,
} from "./metrics/address.ts";

/**
 * `-g, --group ADDR`: the multicast group; commands parse it themselves
 * (with `--source`, where they take one) into one `MulticastGroup`.
 */
export const GROUP_FLAG: FlagSpec = {
  type: "string",
  short: "g",
  value: "ADDR",
  help: `multicast group (default ${DEFAULT_GROUP})`,
};

/** `-p, --port N`: the UDP port. */
export const PORT_FLAG: FlagSpec = {
  type: "string",
  short: "p",
  value: "N",
  default: String(DEFAULT_PORT),
  help: "UDP port (default {default})",
  check: (value) => validatePort(value),
};

/** `-t, --ttl N`: the multicast TTL (IPv6: hop limit) of what is sent. */
export const TTL_FLAG: FlagSpec = {
  type: "string",
  short: "t",
  value: "N",
  default: String(DEFAULT_TTL),
  check: (value) => validateTtl(value),
  help: "multicast TTL 0-255 (default {default}: stay on this segment)",
};

/**
 * `-i, --interface IF`: an interface by address or name (a name is looked
 * up in the host's list: `--allow-sys=networkInterfaces`, in the `launch`
 * of the commands that resolve it, send, listen and mesh; doctor reads
 * the list with `ip`).
 */
export const INTERFACE_FLAG: FlagSpec = {
  type: "string",
  short: "i",
  value: "IF",
  help: "interface, address or name",
};

/** `--source ADDR`: the one sender of a source-specific join. */
export const SOURCE_FLAG: FlagSpec = {
  type: "string",
  value: "ADDR",
  help: "source-specific join: only this sender's datagrams",
};

/** `--codec NAME`: the payload codec, built-in or not. */
export const CODEC_FLAG: FlagSpec = {
  type: "string",
  value: "NAME",
  default: "text",
  implies: "codec",
  help:
    "payload codec: text, json, binary, a path or a URL (default {default})",
};

/** `--key-file FILE`: the shared HMAC-SHA256 key, read from a file. */
export const KEY_FILE_FLAG: FlagSpec = {
  type: "string",
  value: "FILE",
  implies: "read",
  help: "the shared key (HMAC-SHA256)",
};

/** `--allow-import HOST`: a host a plugin or codec may import from. */
export const ALLOW_IMPORT_FLAG: FlagSpec = {
  type: "string",
  value: "HOST",
  multiple: true,
  implies: "import-host",
  check: (value) => checkImportHost(value),
  help:
    "let a plugin or codec import modules from HOST[:PORT] too (repeatable; deno task allows the host of a plugin URL and mcast's own files by itself)",
};

/** `--allow-read PATH`: a file or folder a plugin or codec may read. */
export const ALLOW_READ_FLAG: FlagSpec = {
  type: "string",
  value: "PATH",
  multiple: true,
  implies: "read",
  help:
    "let a plugin or codec read (and import) this file or folder too (repeatable)",
};

/** `--recv-buffer SIZE`: the socket's receive buffer (ffi transport). */
export const RECV_BUFFER_FLAG: FlagSpec = {
  type: "string",
  value: "SIZE",
  check: (value, flag) => parseByteSize(flag, value, 1 << 30),
  help: "the socket's receive buffer, such as 512K or 32M",
};

/** `--transport NAME`: the socket layer, as a sender chooses it (`transport_choice.ts`). */
export const SEND_TRANSPORT_FLAG: FlagSpec = {
  type: "string",
  value: "NAME",
  implies: "transport",
  help:
    "auto (default), dgram (node:dgram, portable) or ffi (Linux: a 32M receive buffer for many replies at once, batched receive, IPv6 hop limit, TTL 0; needs --allow-ffi). auto uses ffi when FFI is allowed (the task's launcher allows it when the codec is a built-in), else dgram",
};

/** `--transport NAME`, as a listener chooses it: `deno` too. */
export const LISTEN_TRANSPORT_FLAG: FlagSpec = {
  ...SEND_TRANSPORT_FLAG,
  help:
    "auto (default), dgram (node:dgram, portable), deno (Deno.listenDatagram: faster, IPv4, needs --unstable-net, which deno task listen passes) or ffi (Linux: fastest receive, IPv6 hop limit, IPv6 SSM; needs --allow-ffi). auto uses ffi when FFI is allowed (deno task listen allows it when every plugin is a built-in), else deno where it can, else dgram",
};

/** `--metrics HOST:PORT`: a Prometheus endpoint (`cli/metrics/`). */
export const METRICS_FLAG: FlagSpec = {
  type: "string",
  value: "HOST:PORT",
  check: (value) => parseMetricsAddress(value),
  help:
    `serve Prometheus metrics at http://HOST:PORT/metrics (such as ${METRICS_EXAMPLE_ADDRESS}), read from the counters at each scrape`,
};

/** `--json`: NDJSON output. */
export const JSON_FLAG: FlagSpec = {
  type: "boolean",
  help: "NDJSON output, one event per line",
};

/** `-q, --quiet`: less output. */
export const QUIET_FLAG: FlagSpec = {
  type: "boolean",
  short: "q",
  help: "print only the summary",
};

/** `-h, --help`. */
export const HELP_FLAG: FlagSpec = {
  type: "boolean",
  short: "h",
  help: "show this help",
};

/**
 * A check for a duration flag of at least `leastMs` (`what` says it in the
 * message, such as `100ms`); the value in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { durationAtLeast } from "./common_flags.ts";
 * const check = durationAtLeast(100, "100ms");
 * assert.equal(check("1s", "report-every"), 1000);
 * assert.throws(() => check("50ms", "report-every"), /must be at least 100ms/);
 * ```
 */
export function durationAtLeast(
  leastMs: number,
  what: string,
): (value: string, flag: string) => number {
  return (value, flag) => {
    const ms = parseDuration(value, `--${flag}`);
    if (ms < leastMs) {
      throw new UsageError(
        `Invalid --${flag} "${value}": must be at least ${what}`,
      );
    }
    return ms;
  };
}
