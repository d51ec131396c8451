/**
 * Colour on a terminal: replies green, drops and doubtful replies yellow,
 * errors and unmet expectations red. Only where a person reads it: never
 * with `--json`, never when the stream is piped or redirected, and never
 * when `NO_COLOR` is set to anything but the empty string
 * (https://no-color.org; Deno reads it at start, `Deno.noColor`, without
 * an environment permission).
 *
 * @module
 */

/** What a line says, which decides its colour. */
export type Tone = "good" | "warn" | "bad" | "plain";

/** SGR codes: green, yellow, red. */
const CODES: Record<Exclude<Tone, "plain">, string> = {
  good: "32",
  warn: "33",
  bad: "31",
};

/** Colours lines, or leaves them as they are when colour is off. */
export type Paint = (tone: Tone, line: string) => string;

/** A painter that never colours. */
export const noPaint: Paint = (_tone, line) => line;

/**
 * Whether a stream gets colour: a terminal, without `NO_COLOR`.
 *
 * @param isTerminal Whether the stream is a terminal.
 * @param noColor Whether `NO_COLOR` is set (non-empty). @default {Deno.noColor}
 */
export function colourFor(
  isTerminal: boolean,
  noColor: boolean = Deno.noColor,
): boolean {
  return isTerminal && !noColor;
}

/**
 * A painter for one stream.
 *
 * @param on Whether to colour (see {@linkcode colourFor}); false for `--json`.
 */
export function painter(on: boolean): Paint {
  if (!on) return noPaint;
  return (tone, line) =>
    tone === "plain" ? line : `\x1b[${CODES[tone]}m${line}\x1b[0m`;
}
