/**
 * How big each measurement is: the full plan (`deno task bench`, a few
 * minutes) and the quick one (`--quick`, a few seconds, for the smoke
 * test). Every load is bounded in count and in time.
 *
 * @module
 */

/** Sizes and limits of one bench run. */
export interface Plan {
  /** `full` or `quick`. */
  name: "full" | "quick";
  /** Times each measurement of rows 1-3 is repeated (medians reported). */
  repeats: number;
  /**
   * Whether the rows after `one-way-64` and `request-reply` also measure
   * the extra implementations and pairings (FFI, Python, Node.js,
   * `Deno.listenDatagram`, mcast's client with raw listeners). Without,
   * they measure mcast against raw `node:dgram` only.
   */
  extras: boolean;
  /** Row 1: payload sizes, bytes. */
  oneWaySizes: number[];
  /** Row 1: datagrams offered to each receiver at most. */
  oneWayCount: number;
  /**
   * Row 1: the flood's time limit, seconds. The C sender offers ~0.5-0.8
   * million datagrams per second here, so the time ends the flood: every
   * receiver gets the same length of flood.
   */
  oneWaySeconds: number;
  /** Row 1: warm-up flood before each measurement (not counted), seconds; 0 for none. */
  oneWayWarmupSeconds: number;
  /** Row 2: round trips per measurement. */
  pingPongCount: number;
  /** Row 2: time limit per measurement, seconds. */
  pingPongSeconds: number;
  /** Row 2: round trips run (and not counted) first. */
  pingPongWarmup: number;
  /**
   * Row 2c: round trips per measurement with the C client (warm-up and
   * size as row 2's).
   */
  cPingPongCount: number;
  /** Row 2c: time limit per measurement (warm-up included), seconds. */
  cPingPongSeconds: number;
  /**
   * Row 2p: round trips per measurement with the Python client (warm-up
   * and size as row 2's).
   */
  pyPingPongCount: number;
  /** Row 2p: time limit per measurement (warm-up included), seconds. */
  pyPingPongSeconds: number;
  /** Row 2: `send()` calls per measurement of mcast's client. */
  sendCallCount: number;
  /** Row 2: request size, bytes. */
  requestSize: number;
  /** Row 2b: requests per load-mode measurement. */
  loadCount: number;
  /** Row 2b: how long a load-mode measurement may send, seconds. */
  loadSeconds: number;
  /** Row 2b: requests per second (every pairing keeps up at this rate). */
  loadRate: number;
  /** Row 3: listener counts. */
  fanInListeners: number[];
  /** Row 3: rounds per measurement (plus 2 warm-up rounds). */
  fanInRounds: number;
  /** Row 3: how long one round may wait for all replies, ms. */
  fanInTimeoutMs: number;
  /** Row 4: flood length, seconds. */
  memorySeconds: number;
  /** Row 4: when warm-up is over (RSS growth is measured from here), seconds. */
  memoryWarmupSeconds: number;
  /** Row 4: sampling period, ms. */
  memorySampleMs: number;
  /** Row 6: the paced sender's rate, datagrams per second. */
  pacedRate: number;
  /** Row 6: flood length, seconds (count = rate x seconds). */
  pacedSeconds: number;
  /** Row 6: payload size, bytes. */
  pacedSize: number;
  /** Row 6: when warm-up is over (RSS growth is measured from here), seconds. */
  pacedWarmupSeconds: number;
  /** Row 6: RSS sampling period, ms. */
  pacedSampleMs: number;
  /** Row 7 (CLI listen): flood sizes, bytes (64: `cli-listen`, 1400: `cli-listen-1400`). */
  cliListenSizes: number[];
  /** Row 7: datagrams offered to each receiver. */
  cliListenCount: number;
  /** Row 7: the flood's time limit, seconds (the count ends it first here). */
  cliListenSeconds: number;
  /**
   * Row 7: the flood's rate, datagrams per second, the same for every
   * receiver (paced, each batch one UDP GSO send: `senders/flood.c`).
   */
  cliListenRate: number;
  /** Row 8 (send rate): datagrams each sender sends, 64 and 1400 bytes. */
  sendRateCount: number;
  /** Row 8: the C sender's time limit, seconds (the count ends it first here). */
  sendRateSeconds: number;
  /**
   * Row 9 (fan-in from namespaced hosts): how many hosts answer one
   * request at once, one topology each (built once, a few seconds per 100
   * hosts; at most 1,000, one bridge's limit here).
   */
  fanInHostCounts: number[];
  /** Row 9: measured rounds per host count (each sender once a round). */
  fanInHostRounds: number;
  /** Row 9: rounds run first and not counted. */
  fanInHostWarmupRounds: number;
  /** Row 9: how long each sender collects replies after its request, ms. */
  fanInHostWindowMs: number;
  /**
   * Row 10 (mesh): how many nodes on one bridge, each a namespace (at
   * most 250), one lab per count.
   */
  meshHostCounts: number[];
  /**
   * Row 10: how long every node may take to have the full matrix once
   * every node runs, seconds (the figure is NaN past it).
   */
  meshLimitSeconds: number;
  /** Row 10: each node's CPU is measured over this window after that, seconds. */
  meshCpuWindowSeconds: number;
  /** Row 10: the same limit for dbeacon, whose loss figures need about 30 s. */
  dbeaconLimitSeconds: number;
  /** Pitfall row: datagrams offered at most. */
  recvBufferCount: number;
  /** Pitfall row: the flood's length, seconds. */
  recvBufferSeconds: number;
  /** Pitfall row: the buffer size asked for, bytes. */
  recvBufferBytes: number;
  /** Row 11 (long runs): how long each command runs under load, seconds. */
  longRunSeconds: number;
  /** Row 11: when warm-up is over (RSS growth is measured from here), seconds. */
  longRunWarmupSeconds: number;
  /** Row 11: how long the baseline (the same command without metrics) runs, seconds. */
  longRunBaselineSeconds: number;
  /** Row 11: RSS sampling period, ms. */
  longRunSampleMs: number;
  /** Row 11: /metrics scraped every this, ms. */
  longRunScrapeMs: number;
  /** Row 11: requests per second offered to listen. */
  longRunListenRate: number;
  /** Row 11: rotating source addresses those requests come from (at most 16,384). */
  longRunSources: number;
  /** Row 11: send's requests per second. */
  longRunSendRate: number;
  /** Row 11: namespaced responders answering send. */
  longRunResponders: number;
}

/** `deno task bench`: a few minutes on 2 cores. */
export const FULL: Plan = {
  name: "full",
  repeats: 3,
  extras: true,
  oneWaySizes: [64, 1400],
  oneWayCount: 3_000_000,
  oneWaySeconds: 1,
  oneWayWarmupSeconds: 0.2,
  pingPongCount: 10_000,
  pingPongSeconds: 5,
  pingPongWarmup: 1_000,
  cPingPongCount: 50_000,
  cPingPongSeconds: 1.5,
  pyPingPongCount: 20_000,
  pyPingPongSeconds: 5,
  sendCallCount: 2_000,
  requestSize: 64,
  loadCount: 20_000,
  loadSeconds: 6,
  loadRate: 4_000,
  fanInListeners: [1, 10, 50],
  fanInRounds: 20,
  fanInTimeoutMs: 1000,
  memorySeconds: 10,
  memoryWarmupSeconds: 2,
  memorySampleMs: 200,
  pacedRate: 50_000,
  pacedSeconds: 10,
  pacedSize: 64,
  pacedWarmupSeconds: 2,
  pacedSampleMs: 200,
  cliListenSizes: [64, 1400],
  cliListenCount: 1_000_000,
  cliListenSeconds: 8,
  cliListenRate: 250_000,
  sendRateCount: 500_000,
  sendRateSeconds: 10,
  fanInHostCounts: [200, 1000],
  fanInHostRounds: 5,
  fanInHostWarmupRounds: 1,
  fanInHostWindowMs: 2000,
  meshHostCounts: [30, 100],
  meshLimitSeconds: 120,
  meshCpuWindowSeconds: 10,
  dbeaconLimitSeconds: 120,
  recvBufferCount: 5_000_000,
  recvBufferSeconds: 1,
  recvBufferBytes: 8 << 20,
  longRunSeconds: 600,
  longRunWarmupSeconds: 60,
  longRunBaselineSeconds: 120,
  longRunSampleMs: 1000,
  longRunScrapeMs: 1000,
  longRunListenRate: 1000,
  longRunSources: 10_000,
  longRunSendRate: 100,
  longRunResponders: 50,
};

/** `--quick`: every row, tiny counts, one repeat; a few seconds. */
export const QUICK: Plan = {
  name: "quick",
  repeats: 1,
  extras: false,
  oneWaySizes: [64, 1400],
  oneWayCount: 5_000,
  oneWaySeconds: 0.3,
  oneWayWarmupSeconds: 0,
  pingPongCount: 200,
  pingPongSeconds: 1,
  pingPongWarmup: 10,
  cPingPongCount: 200,
  cPingPongSeconds: 1,
  pyPingPongCount: 200,
  pyPingPongSeconds: 1,
  sendCallCount: 20,
  requestSize: 64,
  loadCount: 200,
  loadSeconds: 1,
  loadRate: 1_000,
  fanInListeners: [1, 10, 50],
  fanInRounds: 2,
  fanInTimeoutMs: 500,
  memorySeconds: 0.5,
  memoryWarmupSeconds: 0.2,
  memorySampleMs: 100,
  pacedRate: 50_000,
  pacedSeconds: 1,
  pacedSize: 64,
  pacedWarmupSeconds: 0.4,
  pacedSampleMs: 100,
  cliListenSizes: [64, 1400],
  cliListenCount: 5_000,
  cliListenSeconds: 1,
  cliListenRate: 50_000,
  sendRateCount: 5_000,
  sendRateSeconds: 2,
  fanInHostCounts: [20],
  fanInHostRounds: 1,
  fanInHostWarmupRounds: 0,
  fanInHostWindowMs: 1000,
  meshHostCounts: [6],
  meshLimitSeconds: 20,
  meshCpuWindowSeconds: 1,
  dbeaconLimitSeconds: 6,
  recvBufferCount: 50_000,
  recvBufferSeconds: 0.3,
  recvBufferBytes: 8 << 20,
  longRunSeconds: 5,
  longRunWarmupSeconds: 2,
  longRunBaselineSeconds: 5,
  longRunSampleMs: 250,
  longRunScrapeMs: 1000,
  longRunListenRate: 1000,
  longRunSources: 10_000,
  longRunSendRate: 100,
  longRunResponders: 10,
};
