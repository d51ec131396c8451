/**
 * A folder served over HTTP on 127.0.0.1, as a web server would serve
 * mcast or a plugin: `.ts` files as `application/typescript`, which Deno
 * imports. Records every path asked for.
 *
 * @module
 */

import { extname, resolve, sep } from "node:path";
import { LOOPBACK } from "./loopback.ts";

const CONTENT_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".js": "text/javascript",
  ".json": "application/json",
};

/** A running file server; disposal shuts it down. */
export interface FileServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** `127.0.0.1:PORT`, as `--allow-import` takes it. */
  host: string;
  /** Every path asked for, in order. */
  requested: string[];
}

/** Serves the files under `root` (nothing outside it) on 127.0.0.1, on a free port. */
export function serveFiles(root: string): FileServer {
  const requested: string[] = [];
  const server = Deno.serve(
    { hostname: LOOPBACK, port: 0, onListen: () => {} },
    async (request) => {
      const path = decodeURIComponent(new URL(request.url).pathname);
      requested.push(path);
      const file = resolve(root, `.${path}`);
      if (!file.startsWith(root + sep)) {
        return new Response("forbidden", { status: 403 });
      }
      try {
        const body = await Deno.readFile(file);
        return new Response(body, {
          headers: {
            "content-type": CONTENT_TYPES[extname(file)] ??
              "application/octet-stream",
          },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  return {
    origin: `http://${LOOPBACK}:${server.addr.port}`,
    host: `${LOOPBACK}:${server.addr.port}`,
    requested,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
