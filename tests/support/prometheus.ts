/**
 * The real Prometheus server for the metrics tests (Debian's `prometheus`
 * package): started on 127.0.0.1 with a throw-away configuration and
 * database that scrape the given targets every second, asked through its
 * HTTP API (`/api/v1/query`), and killed and removed on disposal; and
 * `promtool check metrics` on a page. Every wait is bounded.
 *
 * @module
 */

import { Subprocess } from "./subprocess.ts";
import { type TempDir, tempDir } from "./temp_dir.ts";

/** Whether a program is on PATH. */
function onPath(program: string): boolean {
  try {
    return new Deno.Command("sh", {
      args: ["-c", `command -v ${program}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

/** Whether `prometheus` and `promtool` are installed. */
export const HAS_PROMETHEUS: boolean = onPath("prometheus") &&
  onPath("promtool");

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeTcpPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** One series of an instant query's answer. */
export interface QuerySample {
  /** Its labels. */
  metric: Record<string, string>;
  /** Its value. */
  value: number;
}

/** A running Prometheus; disposal kills it and removes its files. */
export class PrometheusServer implements AsyncDisposable {
  /** Its HTTP API's origin, `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly #proc: Subprocess;
  readonly #dir: TempDir;

  private constructor(origin: string, proc: Subprocess, dir: TempDir) {
    this.origin = origin;
    this.#proc = proc;
    this.#dir = dir;
  }

  /**
   * Starts Prometheus scraping `targets` (`HOST:PORT`, path `/metrics`)
   * every second, and waits at most `readyMs` for it to be ready.
   */
  static async start(
    targets: readonly string[],
    readyMs = 20_000,
  ): Promise<PrometheusServer> {
    const dir = await tempDir("mcast-prometheus-");
    const config = `${dir.path}/prometheus.yml`;
    await Deno.writeTextFile(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "scrape_configs:",
        "  - job_name: mcast",
        "    static_configs:",
        `      - targets: [${targets.map((t) => `"${t}"`).join(", ")}]`,
        "",
      ].join("\n"),
    );
    const port = freeTcpPort();
    const proc = new Subprocess("prometheus", [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dir.path}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ], { name: "prometheus" });
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, proc, dir);
    try {
      await server.#waitReady(readyMs);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    return server;
  }

  async #waitReady(readyMs: number): Promise<void> {
    const end = performance.now() + readyMs;
    while (performance.now() < end) {
      if (this.#proc.exited) break;
      try {
        const response = await fetch(`${this.origin}/-/ready`);
        await response.body?.cancel();
        if (response.ok) return;
      } catch { /* not listening yet */ }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `prometheus not ready within ${readyMs} ms\n${this.#proc.err.text}`,
    );
  }

  /** An instant query (`/api/v1/query`): one sample per series. */
  async query(expression: string): Promise<QuerySample[]> {
    const url = `${this.origin}/api/v1/query?query=${
      encodeURIComponent(expression)
    }`;
    const body = await (await fetch(url)).json();
    if (body.status !== "success") {
      throw new Error(`query ${expression}: ${JSON.stringify(body)}`);
    }
    const result = body.data.result as {
      metric: Record<string, string>;
      value: [number, string];
    }[];
    return result.map(({ metric, value }) => ({
      metric,
      value: Number(value[1]),
    }));
  }

  /**
   * Asks `expression` again (every 250 ms, at most `timeoutMs`) until
   * `done` accepts its answer; returns that answer, or throws with the last.
   */
  async waitFor(
    expression: string,
    done: (samples: QuerySample[]) => boolean,
    timeoutMs: number,
  ): Promise<QuerySample[]> {
    const end = performance.now() + timeoutMs;
    let last: QuerySample[] = [];
    while (true) {
      last = await this.query(expression);
      if (done(last)) return last;
      if (performance.now() > end) {
        throw new Error(
          `prometheus: ${expression} still ${
            JSON.stringify(last)
          } after ${timeoutMs} ms\n${this.#proc.err.text}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Kills Prometheus and removes its configuration and database. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#proc.exited) {
      try {
        this.#proc.child.kill("SIGTERM");
      } catch { /* gone */ }
      try {
        await this.#proc.wait(5_000);
      } catch { /* killed by wait */ }
    }
    await this.#proc[Symbol.asyncDispose]();
    await this.#dir[Symbol.asyncDispose]();
  }
}

/** `promtool check metrics` on a page: its exit code and what it said. */
export async function promtoolCheck(
  page: string,
): Promise<{ ok: boolean; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(page));
  await writer.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const { success, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    ok: success,
    output: decoder.decode(stdout) + decoder.decode(stderr),
  };
}
