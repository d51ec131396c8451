/**
 * Prometheus's text exposition format (version 0.0.4), written by hand:
 * `# HELP` and `# TYPE` lines, then one line per sample, label values
 * escaped. The `--metrics` endpoint builds one page per scrape from
 * counters the command keeps anyway, so nothing is added per datagram
 * (why not prom-client: docs/service.md, "Why the format is written by
 * hand").
 *
 * @module
 */

/** The `Content-Type` of a page in this format. */
export const EXPOSITION_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** Label names and their values, such as `{ responder: "10.0.0.2:10000" }`. */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a counter or gauge. */
export interface Sample {
  /** Its labels; none when absent. */
  labels?: Labels;
  /** Its value. */
  value: number;
}

/** One labelled series of a histogram, its buckets already cumulative. */
export interface HistogramSeries {
  /** Its labels (without `le`). */
  labels?: Labels;
  /** The buckets' upper bounds, ascending, without `+Inf`. */
  bounds: readonly number[];
  /** For each bound, how many observations were at most that bound. */
  cumulative: readonly number[];
  /** How many observations in all (the `+Inf` bucket). */
  count: number;
  /** The sum of the observations. */
  sum: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A number as the format writes it (Go's ParseFloat reads it back). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** A label value with backslash, double quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

/**
 * `a="x",b="y"`: the labels as they stand between the braces, names
 * checked and values escaped; empty for no labels. Made once per series,
 * not per line: a histogram's lines share it.
 */
function labelPairs(labels: Labels | undefined): string {
  let text = "";
  for (const [name, value] of Object.entries(labels ?? {})) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new TypeError(`Invalid Prometheus label name "${name}"`);
    }
    text += `${text === "" ? "" : ","}${name}="${escapeLabel(value)}"`;
  }
  return text;
}

/** `{a="x",b="y"}`, or nothing for no labels. */
function braced(pairs: string): string {
  return pairs === "" ? "" : `{${pairs}}`;
}

/**
 * One page of metrics, metric by metric. Each metric is written once, with
 * its HELP and TYPE lines and all its samples together, as the format
 * requires.
 *
 * @example A counter with a label, and a histogram
 * ```ts
 * import assert from "node:assert/strict";
 * import { Exposition } from "./exposition.ts";
 * const page = new Exposition();
 * page.counter("mcast_example_total", "Examples.", [
 *   { labels: { reason: "a \"quoted\" one" }, value: 3 },
 * ]);
 * page.histogram("mcast_example_seconds", "Durations.", [
 *   { bounds: [0.1, 1], cumulative: [1, 2], count: 3, sum: 4.5 },
 * ]);
 * const text = page.text();
 * assert.match(text, /^mcast_example_total\{reason="a \\"quoted\\" one"\} 3$/m);
 * assert.match(text, /^mcast_example_seconds_bucket\{le="\+Inf"\} 3$/m);
 * ```
 */
export class Exposition {
  readonly #lines: string[] = [];
  readonly #names = new Set<string>();

  /**
   * A counter: a total that only goes up (its name ends in `_total`).
   *
   * @param name The metric's name.
   * @param help What it counts, one line.
   * @param samples Its samples, or one unlabelled value.
   */
  counter(name: string, help: string, samples: readonly Sample[] | number) {
    if (!name.endsWith("_total")) {
      throw new TypeError(`Counter "${name}" must end in _total`);
    }
    this.#simple(name, "counter", help, samples);
  }

  /**
   * A gauge: a value that goes up and down.
   *
   * @param name The metric's name.
   * @param help What it measures, one line.
   * @param samples Its samples, or one unlabelled value.
   */
  gauge(name: string, help: string, samples: readonly Sample[] | number) {
    this.#simple(name, "gauge", help, samples);
  }

  /**
   * A histogram: `_bucket{le}` (cumulative, ending with `+Inf`), `_sum`
   * and `_count` for each series.
   *
   * @param name The metric's name (in base units, such as `_seconds`).
   * @param help What it observes, one line.
   * @param series One entry per label set.
   */
  histogram(name: string, help: string, series: readonly HistogramSeries[]) {
    this.#head(name, "histogram", help);
    for (const one of series) {
      if (one.cumulative.length !== one.bounds.length) {
        throw new RangeError(
          `Histogram "${name}": ${one.bounds.length} bounds and ${one.cumulative.length} counts`,
        );
      }
      const pairs = labelPairs(one.labels);
      const bucket = `${name}_bucket{${pairs}${pairs === "" ? "" : ","}le="`;
      one.bounds.forEach((bound, index) => {
        this.#lines.push(
          `${bucket}${formatValue(bound)}"} ${
            formatValue(one.cumulative[index])
          }`,
        );
      });
      this.#lines.push(
        `${bucket}+Inf"} ${formatValue(one.count)}`,
        `${name}_sum${braced(pairs)} ${formatValue(one.sum)}`,
        `${name}_count${braced(pairs)} ${formatValue(one.count)}`,
      );
    }
  }

  /** The page: every metric written so far, ending with a newline. */
  text(): string {
    return this.#lines.length === 0 ? "" : `${this.#lines.join("\n")}\n`;
  }

  #simple(
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: readonly Sample[] | number,
  ): void {
    this.#head(name, type, help);
    const list = typeof samples === "number" ? [{ value: samples }] : samples;
    for (const sample of list) {
      this.#lines.push(
        `${name}${braced(labelPairs(sample.labels))} ${
          formatValue(sample.value)
        }`,
      );
    }
  }

  #head(name: string, type: string, help: string): void {
    if (!METRIC_NAME.test(name)) {
      throw new TypeError(`Invalid Prometheus metric name "${name}"`);
    }
    if (this.#names.has(name)) {
      throw new TypeError(`Metric "${name}" written twice on one page`);
    }
    this.#names.add(name);
    const escaped = help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
    this.#lines.push(`# HELP ${name} ${escaped}`, `# TYPE ${name} ${type}`);
  }
}
