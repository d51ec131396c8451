/**
 * The latency histogram (lib/stats/latency_histogram.ts) against sorted
 * truth: exact count, min, max, mean and standard deviation; every
 * percentile within the stated relative error, for several seeded
 * distributions at 2 and 3 significant digits. No sockets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LatencyHistogram } from "../lib/stats/latency_histogram.ts";

/** A seeded generator (mulberry32): the same values on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Distributions of round-trip times, milliseconds, whole microseconds. */
const DISTRIBUTIONS: Record<string, (random: () => number) => number> = {
  "uniform 0-5 ms": (random) => random() * 5,
  // A long tail: most near 0.3 ms, some near seconds.
  "log-normal": (random) => {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) *
      Math.cos(2 * Math.PI * random());
    return 0.3 * Math.exp(1.5 * normal);
  },
  "two modes (LAN and a slow path)": (random) =>
    random() < 0.9 ? 0.2 + random() * 0.1 : 40 + random() * 20,
  "sub-microsecond to minutes": (random) => 10 ** (random() * 8 - 4),
};

const QUANTILES = [0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1];

/** The nearest-rank value of a sorted list. */
function truthAt(sorted: Float64Array, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

for (const digits of [2, 3] as const) {
  for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
    Deno.test(`${digits} digits, ${name}: percentiles within the stated error of sorted truth`, () => {
      const random = seeded(digits * 1000 + name.length);
      const histogram = new LatencyHistogram({ significantDigits: digits });
      const values = new Float64Array(200_000);
      for (let i = 0; i < values.length; i++) {
        values[i] = draw(random);
        histogram.record(values[i]);
      }
      const sorted = values.slice().sort();
      assert.equal(histogram.count, values.length);
      assert.equal(histogram.min, sorted[0]);
      assert.equal(histogram.max, sorted[sorted.length - 1]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) /
        values.length;
      assert.ok(Math.abs(histogram.mean - mean) <= 1e-9 * mean);
      assert.ok(
        Math.abs(histogram.stddev - Math.sqrt(variance)) <=
          1e-9 * Math.sqrt(variance),
      );
      const estimates = histogram.percentiles(QUANTILES);
      QUANTILES.forEach((q, index) => {
        const truth = truthAt(sorted, q);
        // Half a slot, plus the rounding of a value to whole microseconds.
        const bound = truth * histogram.relativeError + 0.0005 + 1e-12;
        assert.ok(
          Math.abs(estimates[index] - truth) <= bound,
          `q=${q}: ${estimates[index]} against ${truth} (bound ${bound})`,
        );
        assert.equal(histogram.percentile(q), estimates[index]);
      });
      let inBuckets = 0;
      for (const bucket of histogram.buckets()) inBuckets += bucket.count;
      assert.equal(inBuckets, values.length);
    });
  }
}

Deno.test("the stated error is half a slot: 1/2048 at 3 digits, 1/256 at 2", () => {
  assert.equal(new LatencyHistogram().relativeError, 1 / 2048);
  assert.equal(
    new LatencyHistogram({ significantDigits: 2 }).relativeError,
    1 / 256,
  );
});

Deno.test("a 500 ms spike among 1,000,000 replies of 1 ms: max, mean and p99.9999 exact", () => {
  const histogram = new LatencyHistogram();
  histogram.record(500);
  for (let i = 0; i < 1_000_000; i++) histogram.record(1);
  assert.equal(histogram.count, 1_000_001);
  assert.equal(histogram.max, 500);
  assert.equal(histogram.min, 1);
  assert.ok(Math.abs(histogram.mean - 1_000_500 / 1_000_001) < 1e-12);
  assert.equal(histogram.percentile(0.5), 1);
  assert.equal(histogram.percentile(0.999), 1);
  assert.equal(histogram.percentile(1), 500);
  // Constant memory: the regions that 1 ms and 500 ms fall in, no more.
  assert.ok(histogram.countsBytes <= 3 * 8192, String(histogram.countsBytes));
});

Deno.test("values are microseconds: exact below 1.024 ms at 3 digits", () => {
  const histogram = new LatencyHistogram();
  for (const ms of [0.001, 0.5, 0.999, 1.023]) histogram.record(ms);
  assert.deepEqual(
    [...histogram.buckets()].map((bucket) => [bucket.fromMs, bucket.count]),
    [[0.001, 1], [0.5, 1], [0.999, 1], [1.023, 1]],
  );
  assert.deepEqual(histogram.percentiles([0.25, 0.5, 0.75, 1]), [
    0.001,
    0.5,
    0.999,
    1.023,
  ]);
});

Deno.test("slots: bounds line up, each twice as wide a doubling up", () => {
  const histogram = new LatencyHistogram({ significantDigits: 2 });
  // 128 slots a region: region 1 holds 128-255 us one a slot, region 2
  // 256-511 us two a slot, region 3 512-1023 us four a slot.
  for (const ms of [0.127, 0.128, 0.255, 0.256, 0.257, 0.511, 0.512, 1.023]) {
    histogram.record(ms);
  }
  assert.deepEqual(
    [...histogram.buckets()].map((b) => [b.fromMs, b.toMs, b.count]),
    [
      [0.127, 0.128, 1],
      [0.128, 0.129, 1],
      [0.255, 0.256, 1],
      [0.256, 0.258, 2],
      [0.51, 0.512, 1],
      [0.512, 0.516, 1],
      [1.02, 1.024, 1],
    ],
  );
});

Deno.test("countAtOrBelow: Prometheus' cumulative buckets, to the slot", () => {
  const histogram = new LatencyHistogram();
  for (let i = 1; i <= 1000; i++) histogram.record(i / 100); // 0.01-10 ms
  assert.equal(histogram.countAtOrBelow(0), 0);
  assert.equal(histogram.countAtOrBelow(0.5), 50);
  assert.equal(histogram.countAtOrBelow(1), 100);
  assert.equal(histogram.countAtOrBelow(10), 1000);
  assert.equal(histogram.countAtOrBelow(Infinity), 1000);
  const five = histogram.countAtOrBelow(5);
  assert.ok(Math.abs(five - 500) <= 1, String(five));
});

Deno.test("addCountsByBound: each bound's count is countAtOrBelow's difference, for every distribution", () => {
  // The bounds send's /metrics uses (1, 1.5, 2, 3, 5, 7 a decade from
  // 10 us to 10 s), ms, plus bounds on slot edges and between them.
  const bounds: number[] = [];
  for (let exponent = -2; exponent <= 3; exponent++) {
    for (const mantissa of [1, 1.5, 2, 3, 5, 7]) {
      bounds.push(Number((mantissa * 10 ** exponent).toPrecision(2)));
    }
  }
  bounds.push(1e4, 1e7);
  for (const digits of [2, 3] as const) {
    for (const [name, draw] of Object.entries(DISTRIBUTIONS)) {
      const random = seeded(11);
      const histogram = new LatencyHistogram({ significantDigits: digits });
      for (let i = 0; i < 20_000; i++) {
        histogram.record(Math.round(draw(random) * 1000) / 1000);
      }
      for (const ms of [0.01, 1.024, 1.5, 10]) histogram.record(ms);
      const counts = new Array(bounds.length + 2).fill(1);
      histogram.addCountsByBound(bounds, counts);
      let below = 0;
      bounds.forEach((bound, index) => {
        const atOrBelow = histogram.countAtOrBelow(bound);
        assert.equal(
          counts[index] - 1,
          atOrBelow - below,
          `${name}, ${digits} digits, ${bound} ms`,
        );
        below = atOrBelow;
      });
      assert.equal(
        counts[bounds.length] - 1,
        histogram.count - below,
        `${name}: above the last bound`,
      );
      assert.equal(
        counts[bounds.length + 1],
        1,
        "an entry past the buckets is left alone",
      );
    }
  }
});

Deno.test("addCountsByBound: an empty histogram adds nothing; too few buckets is refused", () => {
  const histogram = new LatencyHistogram();
  const counts = [0, 0, 0];
  histogram.addCountsByBound([1, 2], counts);
  assert.deepEqual(counts, [0, 0, 0]);
  histogram.record(3);
  histogram.addCountsByBound([], counts);
  assert.deepEqual(counts, [1, 0, 0]);
  assert.throws(
    () => histogram.addCountsByBound([1, 2], [0, 0]),
    (error: Error) =>
      error instanceof RangeError &&
      /2 bounds to 2 buckets: 3 needed/.test(error.message),
  );
});

Deno.test("add: two histograms merged are one fed both", () => {
  const random = seeded(7);
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  const both = new LatencyHistogram();
  for (let i = 0; i < 10_000; i++) {
    const value = random() * (i % 2 ? 3 : 300);
    (i % 3 ? a : b).record(value);
    both.record(value);
  }
  a.add(b);
  assert.equal(a.count, both.count);
  assert.equal(a.min, both.min);
  assert.equal(a.max, both.max);
  assert.ok(Math.abs(a.mean - both.mean) < 1e-9 * both.mean);
  assert.ok(Math.abs(a.stddev - both.stddev) < 1e-9 * both.stddev);
  assert.deepEqual(a.percentiles(QUANTILES), both.percentiles(QUANTILES));
  assert.throws(
    () => a.add(new LatencyHistogram({ significantDigits: 2 })),
    RangeError,
  );
});

Deno.test("reset, empty, and bad values", () => {
  const histogram = new LatencyHistogram();
  assert.ok(Number.isNaN(histogram.percentile(0.5)));
  assert.ok(Number.isNaN(histogram.min));
  assert.ok(Number.isNaN(histogram.stddev));
  histogram.record(NaN);
  histogram.record(Infinity);
  assert.equal(histogram.count, 0);
  histogram.record(-3); // a clock step back: counted as 0
  assert.equal(histogram.min, 0);
  histogram.record(1e12); // past 12.7 days: the last slot, the exact max
  assert.equal(histogram.max, 1e12);
  assert.ok(histogram.percentile(1) === 1e12);
  histogram.reset();
  assert.equal(histogram.count, 0);
  assert.equal([...histogram.buckets()].length, 0);
  assert.throws(() => histogram.percentile(99), /Invalid quantile 99/);
  assert.throws(() => histogram.percentile(-0.1), RangeError);
  assert.throws(
    () => new LatencyHistogram({ significantDigits: 4 as 3 }),
    /Invalid significantDigits 4/,
  );
});
