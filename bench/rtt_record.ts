/**
 * A micro-bench of what `send --seq` does per reply to keep its
 * round-trip times: the 100,000-sample reservoir it used to keep, the
 * latency histogram it keeps now (`lib/stats/latency_histogram.ts`, 3
 * and 2 significant digits), and `hdr-histogram-js` (npm, 3 digits,
 * 32-bit counts, auto-resizing: its fastest layout), each fed the same
 * round-trip times in a tight loop. Beside them, the memory each holds
 * after a 500 ms spike and 1,000,000 replies of 1 ms, and the time
 * `hdr-histogram-js` takes to import. Prints one JSON line.
 *
 * Run: `deno run --allow-read --allow-env --allow-net bench/rtt_record.ts [--quick]`
 * (`hdr-histogram-js` is fetched from the npm registry on the first run;
 * without it its figures are null).
 *
 * @module
 */

import { LatencyHistogram } from "../lib/stats/latency_histogram.ts";

/** The npm package measured against; a variable, so type checks never fetch it. */
const HDR_HISTOGRAM_JS = "npm:hdr-histogram-js@3.0.1";

/** What `hdr-histogram-js` offers that is measured here. */
interface HdrHistogram {
  recordValue(value: number): void;
  getValueAtPercentile(percentile: number): number;
  estimatedFootprintInBytes: number;
}

/** Round-trip times like a LAN's, 0.1-5 ms, in whole microseconds (as the sender rounds them). */
function roundTripTimes(): Float64Array {
  const values = new Float64Array(1 << 16);
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
  for (let i = 0; i < values.length; i++) {
    values[i] = Math.round((0.1 + random() * random() * 5) * 1000) / 1000;
  }
  return values;
}

/** Nanoseconds per call of `record`, over `count` calls after a warm-up. */
function nsPerRecord(
  record: (ms: number) => void,
  values: Float64Array,
  count: number,
): number {
  const mask = values.length - 1;
  for (let i = 0; i < 200_000; i++) record(values[i & mask]);
  const start = performance.now();
  for (let i = 0; i < count; i++) record(values[i & mask]);
  return ((performance.now() - start) * 1e6) / count;
}

/** The reservoir `RoundTripStats` kept per responder until issue 23. */
function reservoir(): (ms: number) => void {
  const samples: number[] = [];
  let unique = 0;
  return (ms) => {
    unique++;
    if (samples.length < 100_000) samples.push(ms);
    else {
      const slot = Math.floor(Math.random() * unique);
      if (slot < 100_000) samples[slot] = ms;
    }
  };
}

/** `hdr-histogram-js`'s `build`, and how long its import took; undefined when it cannot be had. */
async function importHdr(): Promise<
  {
    build: (options: Record<string, unknown>) => HdrHistogram;
    importMs: number;
  } | undefined
> {
  const start = performance.now();
  try {
    const module = await import(HDR_HISTOGRAM_JS);
    return { build: module.build, importMs: performance.now() - start };
  } catch {
    return undefined;
  }
}

/** The spike case: bytes of counts each histogram holds after it. */
function spikeFootprints(
  build: ((options: Record<string, unknown>) => HdrHistogram) | undefined,
): { histogram: number; hdr: number | null } {
  const histogram = new LatencyHistogram();
  const hdr = build?.({
    bitBucketSize: 32,
    autoResize: true,
    numberOfSignificantValueDigits: 3,
  });
  histogram.record(500);
  hdr?.recordValue(500_000);
  for (let i = 0; i < 1_000_000; i++) {
    histogram.record(1);
    hdr?.recordValue(1000);
  }
  return {
    histogram: histogram.countsBytes,
    hdr: hdr?.estimatedFootprintInBytes ?? null,
  };
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const count = quick ? 200_000 : 10_000_000;
  const values = roundTripTimes();
  const hdr = await importHdr();
  const three = new LatencyHistogram();
  const two = new LatencyHistogram({ significantDigits: 2 });
  const hdrHistogram = hdr?.build({
    bitBucketSize: 32,
    autoResize: true,
    numberOfSignificantValueDigits: 3,
  });
  const result = {
    reservoirNs: nsPerRecord(reservoir(), values, count),
    histogram3Ns: nsPerRecord((ms) => three.record(ms), values, count),
    histogram2Ns: nsPerRecord((ms) => two.record(ms), values, count),
    hdrHistogramJsNs: hdrHistogram === undefined ? null : nsPerRecord(
      (ms) => hdrHistogram.recordValue(Math.round(ms * 1000)),
      values,
      count,
    ),
    hdrImportMs: hdr?.importMs ?? null,
    spikeBytes: spikeFootprints(hdr?.build),
  };
  console.log(JSON.stringify(result));
}
