/**
 * The end of an `mcast mesh` run as people read it: the matrix (rows =
 * sender, columns = receiver, each cell multicast loss / unicast loss),
 * its legend, the receivers that joined late (their join window, not
 * counted as loss), and the failing pairs in words, such as
 * `10.77.1.3 -> 10.77.1.7: multicast 100% lost, unicast works`. A matrix
 * wider than {@linkcode MATRIX_MAX_HOSTS} hosts is not drawn (`--json`
 * and `--report` show it); its counts and failures are.
 *
 * @module
 */

import type {
  MeshFailure,
  MeshMatrixEvent,
  MeshPair,
} from "../lib/mesh/events.ts";
import { noPaint, type Paint } from "./colour.ts";

/** The most hosts whose matrix is drawn as text (and followed live). */
export const MATRIX_MAX_HOSTS = 20;

/** A percentage as a cell shows it: `0`, `12.5`, `100`, `-` for none. */
export function percentText(value: number | null): string {
  if (value === null) return "-";
  return String(Number(value.toFixed(value < 10 ? 2 : 1)));
}

/** The lookup key of an ordered pair. */
export function pairKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

/** The pairs of a matrix by {@linkcode pairKey}. */
export function pairsByKey(pairs: readonly MeshPair[]): Map<string, MeshPair> {
  return new Map(pairs.map((pair) => [pairKey(pair.from, pair.to), pair]));
}

/** Whether a pair counts as healthy in a cell's colour. */
function tone(pair: MeshPair): "good" | "warn" | "bad" | "plain" {
  switch (pair.state) {
    case "ok":
      return "good";
    case "lossy":
    case "unicast-fails":
      return "warn";
    case "gone":
      return "plain";
    default:
      return "bad";
  }
}

/** One cell: `mc/uc` loss, `gone`, or `?` for a pair never heard at all. */
function cellText(pair: MeshPair | undefined): string {
  if (pair === undefined) return "?";
  if (pair.state === "gone") return "gone";
  if (
    pair.state === "unheard" && pair.multicastLossPercent === null &&
    pair.unicastLossPercent === null
  ) return "?";
  return `${percentText(pair.multicastLossPercent)}/${
    percentText(pair.unicastLossPercent)
  }`;
}

/** The legend under the matrix. */
export const MATRIX_LEGEND: readonly string[] = [
  "cell: multicast loss % / unicast loss % of the row's probes as the column's host heard them",
  '      (- not measured, ? never heard, gone: stopped or silent; "." the host itself); * this host',
];

/**
 * The matrix drawn as text: a header of column numbers, then a row per
 * sender (its number, address, then a cell per receiver), then the
 * legend. Cells are painted by the pair's state.
 *
 * @param matrix The final matrix event.
 * @param paint Colours cells on a terminal. @default {noPaint}
 */
export function matrixGrid(
  matrix: MeshMatrixEvent,
  paint: Paint = noPaint,
): string[] {
  const { hosts } = matrix;
  const byKey = pairsByKey(matrix.pairs);
  const labels = hosts.map((host, i) =>
    `${String(i + 1).padStart(3)}${host === matrix.self ? "*" : " "}${host}`
  );
  const labelWidth = Math.max(16, ...labels.map((label) => label.length));
  const cells = hosts.map((from) =>
    hosts.map((to) =>
      from === to ? "." : cellText(byKey.get(pairKey(from, to)))
    )
  );
  const width = Math.max(
    4,
    ...cells.flat().map((cell) => cell.length),
    String(hosts.length).length,
  );
  const head = `${"sender \\ receiver".padEnd(labelWidth)}${
    hosts.map((_, i) => ` ${String(i + 1).padStart(width)}`).join("")
  }`;
  const rows = hosts.map((from, r) =>
    `${labels[r].padEnd(labelWidth)}${
      hosts.map((to, c) => {
        const text = cells[r][c].padStart(width);
        const pair = byKey.get(pairKey(from, to));
        return ` ${
          from === to || pair === undefined ? text : paint(tone(pair), text)
        }`;
      }).join("")
    }`
  );
  return [head, ...rows, ...MATRIX_LEGEND];
}

/**
 * Why a failing pair fails, in words, with whether unicast works for it
 * (`multicast 100% lost, unicast works`). A failure with no pair figures
 * (a node never heard, the mesh as a whole) keeps the library's sentence.
 */
export function failureWords(
  failure: MeshFailure,
  pair: MeshPair | undefined,
  maxLossPercent: number,
): string {
  const unicast = failure.unicastWorks === true
    ? "unicast works"
    : failure.unicastWorks === false
    ? `unicast ${
      pair?.unicastLossPercent == null
        ? "fails too"
        : `${percentText(pair.unicastLossPercent)}% lost too`
    }`
    : undefined;
  if (pair === undefined || pair.multicastLossPercent === null) {
    return unicast === undefined
      ? failure.reason
      : `${failure.reason}, ${unicast}`;
  }
  const loss = `multicast ${percentText(pair.multicastLossPercent)}% lost`;
  const over = pair.multicastLossPercent < 100 && maxLossPercent > 0
    ? ` (over --max-loss ${percentText(maxLossPercent)}%)`
    : "";
  return `${loss}${over}, ${unicast ?? "unicast not measured"}`;
}

/** A failure as a line: `FROM -> TO: words`, or the words alone for the mesh as a whole. */
export function failureLine(
  failure: MeshFailure,
  pair: MeshPair | undefined,
  maxLossPercent: number,
): string {
  const words = failureWords(failure, pair, maxLossPercent);
  return failure.from === "*"
    ? words
    : `${failure.from} -> ${failure.to}: ${words}`;
}

/**
 * The receivers that missed probes while joining, each with the range of
 * probes it missed per sender: a join window, not loss.
 */
export function joinWindowLine(pairs: readonly MeshPair[]): string | undefined {
  const byReceiver = new Map<string, number[]>();
  for (const pair of pairs) {
    if (pair.joinMissed <= 0) continue;
    const missed = byReceiver.get(pair.to) ?? [];
    missed.push(pair.joinMissed);
    byReceiver.set(pair.to, missed);
  }
  if (byReceiver.size === 0) return undefined;
  if (byReceiver.size > MATRIX_MAX_HOSTS) {
    const all = [...byReceiver.values()].flat();
    return `probes missed while joining (not counted as loss): ${
      Math.min(...all)
    }-${
      Math.max(...all)
    } per sender at ${byReceiver.size} receivers (--json has each pair's)`;
  }
  const parts = [...byReceiver].map(([to, missed]) => {
    const low = Math.min(...missed);
    const high = Math.max(...missed);
    return `${to} ${low === high ? low : `${low}-${high}`}`;
  });
  return `probes missed while joining (not counted as loss), per sender: ${
    parts.join(", ")
  }`;
}

/** Pairs by state, for the counts line. */
function stateCounts(pairs: readonly MeshPair[]): string {
  const counts = new Map<string, number>();
  for (const pair of pairs) {
    counts.set(pair.state, (counts.get(pair.state) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b))
    .map(([state, count]) => `${count} ${state}`).join(", ");
}

/** Options of {@linkcode matrixLines}. */
export interface MatrixLinesOptions {
  /** The group and port, for the heading. */
  group: string;
  /** The port. */
  port: number;
  /** `--max-loss`, percent. */
  maxLossPercent: number;
  /** Colours the verdict and cells on a terminal. @default {noPaint} */
  paint?: Paint;
}

/**
 * Everything printed at the end of a run: heading, matrix (or why it is
 * not drawn), join windows, missing nodes, the verdict and every failing
 * pair in words.
 *
 * @param matrix The final matrix event.
 * @param options Heading, `--max-loss` and colour.
 */
export function matrixLines(
  matrix: MeshMatrixEvent,
  options: MatrixLinesOptions,
): string[] {
  const paint = options.paint ?? noPaint;
  const { hosts, pairs } = matrix;
  const lines = [
    `--- mesh ${options.group} port ${options.port}: ${hosts.length} ${
      hosts.length === 1 ? "host" : "hosts"
    }, ${pairs.length} ${pairs.length === 1 ? "pair" : "pairs"}${
      pairs.length === 0 ? "" : ` (${stateCounts(pairs)})`
    }, as seen ${
      matrix.self === "" ? "by a watcher" : `from ${matrix.self}`
    } ---`,
  ];
  if (hosts.length <= MATRIX_MAX_HOSTS) {
    lines.push(...matrixGrid(matrix, paint));
  } else {
    lines.push(
      `(${hosts.length} hosts: too wide to draw here; --json and --report FILE.html show every pair)`,
    );
  }
  const join = joinWindowLine(pairs);
  if (join !== undefined) lines.push(join);
  if (matrix.missing.length > 0) {
    lines.push(
      paint("bad", `expected, never heard: ${matrix.missing.join(", ")}`),
    );
  }
  lines.push(...verdictLines(matrix, options.maxLossPercent, paint));
  return lines;
}

/** The verdict, then each failure in words. */
function verdictLines(
  matrix: MeshMatrixEvent,
  maxLossPercent: number,
  paint: Paint,
): string[] {
  const limit = `--max-loss ${percentText(maxLossPercent)}%`;
  const expected = matrix.expected.length;
  if (matrix.ok) {
    return [paint(
      "good",
      `ok: every pair among ${expected} expected ${
        expected === 1 ? "host" : "hosts"
      } within ${limit}`,
    )];
  }
  const byKey = pairsByKey(matrix.pairs);
  const failures = matrix.failures;
  return [
    paint(
      "bad",
      `FAILED: ${failures.length} ${
        failures.length === 1 ? "pair" : "pairs"
      } among ${expected} expected hosts over ${limit}:`,
    ),
    ...failures.map((failure) =>
      paint(
        "bad",
        `  ${
          failureLine(
            failure,
            byKey.get(pairKey(failure.from, failure.to)),
            maxLossPercent,
          )
        }`,
      )
    ),
  ];
}
