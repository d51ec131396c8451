/**
 * The value of `--metrics HOST:PORT`: where the `/metrics` endpoint
 * listens. Read by the command (to bind) and by the launcher (to grant the
 * network for exactly that address), so both refuse the same bad values.
 *
 * @module
 */

import { parseIPv4, parseIPv6 } from "../../lib/address.ts";
import { UsageError } from "../usage_error.ts";

/** Where the metrics endpoint listens, in the help and the docs. */
export const METRICS_EXAMPLE_ADDRESS = "127.0.0.1:9464";

/** A checked `--metrics` value. */
export interface MetricsAddress {
  /** The host to bind: an IPv4 address, an IPv6 address (no brackets) or a name. */
  hostname: string;
  /** The TCP port, 1-65535. */
  port: number;
  /** `HOST:PORT` as Deno's `--allow-net` takes it (IPv6 in brackets). */
  hostPort: string;
}

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Checks a `--metrics` value: `HOST:PORT` with an IPv4 address, an IPv6
 * address in brackets or a host name, and a port 1-65535.
 *
 * @param value The flag's value, such as `127.0.0.1:9464` or `[::1]:9464`.
 * @returns The host, the port and the two together.
 * @throws {UsageError} naming the value and what was expected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMetricsAddress } from "./address.ts";
 * assert.deepEqual(parseMetricsAddress("[::1]:9464"), {
 *   hostname: "::1",
 *   port: 9464,
 *   hostPort: "[::1]:9464",
 * });
 * assert.throws(() => parseMetricsAddress("9464"), /Invalid --metrics "9464"/);
 * ```
 */
export function parseMetricsAddress(value: string): MetricsAddress {
  const refuse = (why: string) =>
    new UsageError(
      `Invalid --metrics "${value}": ${why}, such as ${METRICS_EXAMPLE_ADDRESS} or [::1]:9464`,
    );
  const colon = value.lastIndexOf(":");
  if (colon <= 0) throw refuse("expected HOST:PORT");
  const host = value.slice(0, colon);
  const portText = value.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw refuse(`the port "${portText}" is not 1-65535`);
  }
  if (host.startsWith("[") && host.endsWith("]")) {
    const inner = host.slice(1, -1);
    if (parseIPv6(inner) === undefined || inner.includes("%")) {
      throw refuse(`"${inner}" is not an IPv6 address`);
    }
    return { hostname: inner, port, hostPort: `[${inner}]:${port}` };
  }
  if (host.includes(":") && parseIPv6(host) !== undefined) {
    throw refuse("an IPv6 address goes in brackets");
  }
  const dotted = /^[\d.]+$/.test(host);
  if (
    dotted ? parseIPv4(host) === undefined : !HOST_NAME.test(host)
  ) {
    throw refuse(`"${host}" is not an address or host name`);
  }
  return { hostname: host, port, hostPort: `${host}:${port}` };
}
