/**
 * The HTTP endpoint behind `--metrics HOST:PORT`: `GET /metrics` answers
 * with a page in Prometheus's text format, built at that moment by the
 * command's `page()` from the counters it keeps anyway. A port that is
 * taken, an address this host does not have and a missing permission are
 * each said in words, naming the address.
 *
 * @module
 */

import type { MetricsAddress } from "./address.ts";
import { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";

/** Why the endpoint could not start. */
export type MetricsEndpointErrorCode =
  | "ERR_METRICS_ADDRESS_IN_USE"
  | "ERR_METRICS_ADDRESS_UNAVAILABLE"
  | "ERR_METRICS_NOT_ALLOWED"
  | "ERR_METRICS_BIND";

/**
 * The metrics endpoint could not listen where it was asked to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsEndpointError } from "./endpoint.ts";
 * const error = new MetricsEndpointError("ERR_METRICS_ADDRESS_IN_USE", "taken");
 * assert.equal(error.code, "ERR_METRICS_ADDRESS_IN_USE");
 * ```
 */
export class MetricsEndpointError extends Error {
  /** Stable machine-readable code. */
  readonly code: MetricsEndpointErrorCode;
  /**
   * Creates the error.
   *
   * @param code Why it could not listen.
   * @param message The sentence the CLI prints, naming the address.
   */
  constructor(code: MetricsEndpointErrorCode, message: string) {
    super(message);
    this.name = "MetricsEndpointError";
    this.code = code;
  }
}

/** The error for a failed bind, in words. */
function bindError(address: MetricsAddress, error: unknown): Error {
  const where = `--metrics ${address.hostPort}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new MetricsEndpointError(
      "ERR_METRICS_ADDRESS_IN_USE",
      `${where}: port ${address.port} is already taken on ${address.hostname} (another mcast, an exporter?); choose a free port, such as --metrics ${
        address.hostPort.replace(/:\d+$/, `:${address.port + 1}`)
      }`,
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new MetricsEndpointError(
      "ERR_METRICS_ADDRESS_UNAVAILABLE",
      `${where}: this host has no address ${address.hostname} to listen on; use one of its own, such as 127.0.0.1`,
    );
  }
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return new MetricsEndpointError(
      "ERR_METRICS_NOT_ALLOWED",
      `${where}: not allowed to listen there (${
        (error as Error).message
      }); run through the mcast command or deno task, which grant it, or give Deno --allow-net=${address.hostPort}`,
    );
  }
  return new MetricsEndpointError(
    "ERR_METRICS_BIND",
    `${where}: cannot listen (${(error as Error).message ?? error})`,
  );
}

/**
 * A running metrics endpoint; close it (or `await using` it) when the
 * command ends.
 *
 * @example Serve one counter on a free loopback port
 * ```ts ignore
 * import { MetricsEndpoint } from "./endpoint.ts";
 * await using endpoint = MetricsEndpoint.start(
 *   { hostname: "127.0.0.1", port: 9464, hostPort: "127.0.0.1:9464" },
 *   () => "# TYPE up gauge\nup 1\n",
 * );
 * console.log(await (await fetch(endpoint.url)).text());
 * ```
 */
export class MetricsEndpoint implements AsyncDisposable {
  /** Where Prometheus scrapes: `http://HOST:PORT/metrics`. */
  readonly url: string;
  readonly #server: Deno.HttpServer;
  #closing: Promise<void> | undefined;

  private constructor(url: string, server: Deno.HttpServer) {
    this.url = url;
    this.#server = server;
  }

  /**
   * Listens on `address`; each `GET /metrics` answers with `page()`.
   *
   * @param address Where to listen (from `parseMetricsAddress`).
   * @param page Builds the page at scrape time.
   * @returns The endpoint, listening.
   * @throws {MetricsEndpointError} when it cannot listen there, saying why.
   *
   * @example
   * ```ts ignore
   * import { MetricsEndpoint } from "./endpoint.ts";
   * const endpoint = MetricsEndpoint.start(
   *   { hostname: "127.0.0.1", port: 9464, hostPort: "127.0.0.1:9464" },
   *   () => "",
   * );
   * await endpoint.close();
   * ```
   */
  static start(address: MetricsAddress, page: () => string): MetricsEndpoint {
    let server: Deno.HttpServer;
    try {
      server = Deno.serve({
        hostname: address.hostname,
        port: address.port,
        onListen: () => {},
        onError: (error) =>
          new Response(`cannot build the page: ${String(error)}\n`, {
            status: 500,
          }),
      }, (request) => answer(request, page));
    } catch (error) {
      throw bindError(address, error);
    }
    return new MetricsEndpoint(`http://${address.hostPort}/metrics`, server);
  }

  /**
   * Stops listening; idempotent.
   *
   * @example
   * ```ts ignore
   * await endpoint.close();
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#server.shutdown();
    return this.#closing;
  }

  /**
   * Same as {@linkcode MetricsEndpoint.close}, for `await using`.
   *
   * @example
   * ```ts ignore
   * await using endpoint = MetricsEndpoint.start(address, page);
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** One request: the page at `/metrics`, a pointer to it at `/`, else 404. */
function answer(request: Request, page: () => string): Response {
  const path = new URL(request.url).pathname;
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("only GET and HEAD\n", {
      status: 405,
      headers: { allow: "GET, HEAD" },
    });
  }
  if (path === "/metrics") {
    return new Response(request.method === "HEAD" ? null : page(), {
      headers: { "content-type": EXPOSITION_CONTENT_TYPE },
    });
  }
  if (path === "/") {
    return new Response("mcast: metrics at /metrics\n", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  return new Response(`no ${path} here: metrics are at /metrics\n`, {
    status: 404,
  });
}
