/**
 * The `status` responder: answers with a JSON document describing the
 * listener (group, port, uptime, messages seen, version, time, hostname).
 *
 * @module
 */

import {
  checkPluginOptions,
  type PluginOptions,
  type Responder,
  type ResponderContext,
} from "../../lib/plugin.ts";
import { VERSION } from "../../lib/version.ts";

/** The document the `status` responder sends. */
export interface StatusDocument {
  /** The listener's name (`--option name=...`), or the hostname. */
  name: string;
  /** The host's name, or `"unknown"` without `--allow-sys=hostname`. */
  hostname: string;
  /** The group joined. */
  group: string;
  /** The port listened on. */
  port: number;
  /** Seconds since the listener started. */
  uptimeSeconds: number;
  /** Messages received so far, this one included. */
  messages: number;
  /** mcast's version. */
  version: string;
  /** Current time, ISO 8601. */
  time: string;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/**
 * Makes the `status` responder. Its reply is JSON bytes whatever the codec.
 *
 * @param options `name`: how this listener calls itself. @default the hostname
 * @returns A responder that answers with a {@linkcode StatusDocument}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { status } from "./status.ts";
 * assert.equal(status({ name: "rack-7" }).name, "status");
 * ```
 */
export function status(options: PluginOptions = {}): Responder {
  checkPluginOptions("status", options, ["name"]);
  const encoder = new TextEncoder();
  let host = "unknown";
  return {
    name: "status",
    setup() {
      host = hostname();
    },
    respond(_message, context: ResponderContext) {
      const document: StatusDocument = {
        name: options.name ?? host,
        hostname: host,
        group: context.group,
        port: context.port,
        uptimeSeconds: Math.round((Date.now() - context.startedAt) / 100) / 10,
        messages: context.stats.received,
        version: VERSION,
        time: new Date().toISOString(),
      };
      return encoder.encode(JSON.stringify(document));
    },
  };
}

export default status;
