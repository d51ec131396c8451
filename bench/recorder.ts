/**
 * Collects the repeats of every measurement as they run, keeps going when
 * one fails (the failure is recorded with the measurement), prints one
 * progress line per repeat on standard error, and hands back the
 * measurements with their medians.
 *
 * @module
 */

import {
  type Measurement,
  type Metrics,
  type RowId,
  summarize,
} from "./results.ts";

/** What is being measured on a row. */
export interface Subject {
  /** Stable id. */
  id: string;
  /** Human name. */
  label: string;
  /** mcast's code, a baseline, or a variant setting. */
  side: Measurement["side"];
  /** Whether its failure fails the run. */
  required: boolean;
  /** Baselines it is compared with (default: every baseline of its row). */
  compareWith?: string[];
}

function show(metrics: Metrics): string {
  return Object.entries(metrics)
    .map(([name, value]) =>
      `${name}=${
        Number.isInteger(value) ? value : Number(value.toPrecision(4))
      }`
    )
    .join(" ");
}

/** The measurements of one bench run. */
export class Recorder {
  readonly #entries = new Map<string, Measurement>();
  readonly #log: (line: string) => void;

  /**
   * Creates an empty recorder.
   *
   * @param log Where progress lines go (standard error by default).
   */
  constructor(log: (line: string) => void = (line) => console.error(line)) {
    this.#log = log;
  }

  /**
   * Runs one repeat of a measurement and keeps its figures, or its error.
   *
   * @param row The row.
   * @param subject What is measured.
   * @param run Does the work and returns the figures.
   */
  async record(
    row: RowId,
    subject: Subject,
    run: () => Promise<Metrics>,
  ): Promise<void> {
    const entry = this.#entry(row, subject);
    const start = performance.now();
    const head = () =>
      `  ${row.padEnd(18)} ${subject.label.padEnd(48)} ${
        ((performance.now() - start) / 1000).toFixed(1).padStart(5)
      } s`;
    try {
      const metrics = await run();
      entry.runs.push(metrics);
      this.#log(`${head()}  ${show(metrics)}`);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      entry.error ??= why;
      this.#log(
        `${head()}  FAILED: ${why.split("\n").slice(0, 4).join(" | ")}`,
      );
    }
  }

  /**
   * Every measurement so far, with medians over its repeats.
   *
   * @returns The measurements, in the order first recorded.
   */
  measurements(): Measurement[] {
    return [...this.#entries.values()].map((entry) => ({
      ...entry,
      metrics: summarize(entry.runs),
    }));
  }

  #entry(row: RowId, subject: Subject): Measurement {
    const key = `${row}\u0000${subject.id}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = {
        row,
        id: subject.id,
        label: subject.label,
        side: subject.side,
        required: subject.required,
        metrics: {},
        runs: [],
        ...(subject.compareWith ? { compareWith: subject.compareWith } : {}),
      };
      this.#entries.set(key, entry);
    }
    return entry;
  }
}
