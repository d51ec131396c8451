/**
 * Scrapes a `--metrics` endpoint as Prometheus would, for the long-run
 * bench row: `GET URL` every EVERY_MS for SECONDS, each scrape timed from
 * the request to the last byte of the page. Run inside the namespace of
 * the command it scrapes (the endpoint is on its 127.0.0.1). Prints one
 * JSON line: scrapes, failures, the scrape time's median, p99 and maximum
 * (ms), the last page's size (bytes) and its lines.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1:9464 bench/metrics_scraper.ts http://127.0.0.1:9464/metrics 1000 600
 * ```
 *
 * @module
 */

import { median } from "./stats.ts";

/** What the scraper prints at the end. */
export interface ScrapeReport {
  /** Pages fetched. */
  scrapes: number;
  /** Requests that failed (no answer, not 200). */
  failures: number;
  /** Median scrape time, ms. */
  p50Ms: number;
  /** 99th percentile scrape time, ms. */
  p99Ms: number;
  /** Longest scrape, ms. */
  maxMs: number;
  /** The last page's size, bytes. */
  pageBytes: number;
  /** The last page. */
  page: string;
}

async function scrape(
  url: string,
  everyMs: number,
  seconds: number,
): Promise<ScrapeReport> {
  const times: number[] = [];
  let failures = 0;
  let page = "";
  const end = performance.now() + seconds * 1000;
  let next = performance.now();
  while (performance.now() < end) {
    const started = performance.now();
    try {
      const response = await fetch(url);
      const text = await response.text();
      if (response.ok) {
        times.push(performance.now() - started);
        page = text;
      } else failures++;
    } catch {
      failures++;
    }
    next += everyMs;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    scrapes: times.length,
    failures,
    p50Ms: round(median(times)),
    p99Ms: round(times[Math.floor(0.99 * (times.length - 1))] ?? NaN),
    maxMs: round(times.at(-1) ?? NaN),
    pageBytes: new TextEncoder().encode(page).byteLength,
    page,
  };
}

if (import.meta.main) {
  const [url, everyMs, seconds] = Deno.args;
  console.log(
    JSON.stringify(await scrape(url, Number(everyMs), Number(seconds))),
  );
}
