/**
 * The benchmark's statistics: latency percentiles, per-sender order
 * checks, medians over repeated runs and ratios between two servers.
 *
 * Everything here is pure (no sockets, no clock), so it is unit-tested in
 * `tests/bench_stats_test.ts`.
 *
 * @module
 */

/**
 * The median of some numbers, ignoring `null` and `NaN` (runs that did not
 * produce the figure); the mean of the two middle values when their count
 * is even, and `null` when none is left.
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * median([3, 1, null, 2]); // 2
 * ```
 */
export function median(values: readonly (number | null)[]): number | null {
  const present = values
    .filter((value): value is number => value !== null && !Number.isNaN(value))
    .sort((a, b) => a - b);
  if (present.length === 0) return null;
  const middle = present.length >> 1;
  return present.length % 2 === 1
    ? present[middle]
    : (present[middle - 1] + present[middle]) / 2;
}

/** Latency percentiles in milliseconds, as reported. */
export interface LatencySummary {
  /** How many latencies were recorded. */
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** Latencies below this many microseconds are kept exactly. */
const EXACT_BELOW = 2048;
/** Above that, each power of two is split into this many buckets. */
const SUB_BUCKETS = 1024;
const SUB_BITS = 10;
const BUCKETS = EXACT_BELOW + (32 - SUB_BITS - 1) * SUB_BUCKETS;

/** The bucket of a latency in whole microseconds (0 to 2^32 - 1). */
function bucketOf(micros: number): number {
  if (micros < EXACT_BELOW) return micros;
  const shift = 31 - Math.clz32(micros) - SUB_BITS;
  return EXACT_BELOW + (shift - 1) * SUB_BUCKETS +
    ((micros >>> shift) - SUB_BUCKETS);
}

/** The largest latency that falls in bucket `index`. */
function bucketTop(index: number): number {
  if (index < EXACT_BELOW) return index;
  const shift = Math.floor((index - EXACT_BELOW) / SUB_BUCKETS) + 1;
  const sub = (index - EXACT_BELOW) % SUB_BUCKETS + SUB_BUCKETS;
  return (sub + 1) * 2 ** shift - 1;
}

/**
 * Collects latencies in whole microseconds in a log-linear histogram:
 * exact below 2.048 ms, within 0.1% above (1,024 buckets per power of two),
 * the maximum always exact. Adding is O(1) and allocates nothing, so it can
 * take millions of samples per second; percentiles use the nearest-rank
 * method and report the top of the bucket they fall in.
 *
 * @example
 * ```ts
 * import { LatencyRecorder } from "./stats.ts";
 * const recorder = new LatencyRecorder();
 * recorder.add(1500);
 * recorder.add(500);
 * recorder.summary(); // { count: 2, p50Ms: 0.5, p90Ms: 1.5, p99Ms: 1.5, maxMs: 1.5 }
 * ```
 */
export class LatencyRecorder {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;

  /** Number of latencies recorded. */
  get count(): number {
    return this.#count;
  }

  /**
   * Records one latency in microseconds, rounded. Negative values (a clock
   * that went backwards) count as 0; values past about 71 minutes are
   * clamped.
   */
  add(micros: number): void {
    const value = micros <= 0 ? 0 : Math.min(Math.round(micros), 0xffffffff);
    this.#counts[bucketOf(value)]++;
    this.#count++;
    if (value > this.#max) this.#max = value;
  }

  /** Forgets every sample recorded so far. */
  clear(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }

  /**
   * The latency at percentile `p` (0 to 100) in microseconds, by the
   * nearest-rank method; `NaN` when nothing was recorded.
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`bad percentile ${p}`);
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.#counts[index];
      if (seen >= rank) return Math.min(bucketTop(index), this.#max);
    }
    return this.#max;
  }

  /** p50, p90, p99 and max in milliseconds; `null` when nothing was recorded. */
  summary(): LatencySummary {
    const at = (p: number) =>
      this.#count === 0 ? null : this.percentile(p) / 1000;
    return {
      count: this.#count,
      p50Ms: at(50),
      p90Ms: at(90),
      p99Ms: at(99),
      maxMs: this.#count === 0 ? null : this.#max / 1000,
    };
  }
}

/**
 * Checks, for one receiver, that each sender's lines arrive in the order
 * they were sent. Sequence numbers start at 1; a gap (a lost line) is not an
 * order error, a number lower than one already seen is, and the same number
 * twice is a duplicate.
 *
 * @example
 * ```ts
 * import { SequenceTracker } from "./stats.ts";
 * const tracker = new SequenceTracker(2);
 * tracker.record(0, 1);
 * tracker.record(0, 3);
 * tracker.record(0, 2); // false: out of order
 * tracker.outOfOrder; // 1
 * ```
 */
export class SequenceTracker {
  readonly #last: Float64Array;
  /** Lines that arrived after a later line from the same sender. */
  outOfOrder = 0;
  /** Lines that arrived a second time. */
  duplicates = 0;

  /** @param senders sender ids run from 0 to `senders - 1` */
  constructor(senders: number) {
    this.#last = new Float64Array(senders);
  }

  /** Records line `seq` from `sender`; true when it arrived in order. */
  record(sender: number, seq: number): boolean {
    const last = this.#last[sender];
    if (seq > last) {
      this.#last[sender] = seq;
      return true;
    }
    if (seq === last) this.duplicates++;
    else this.outOfOrder++;
    return false;
  }
}

/**
 * Deliveries to others divided by what a perfect server delivers: every line
 * to every reading client except its sender. `null` when nothing was sent.
 *
 * @example
 * ```ts
 * import { deliveryRatio } from "./stats.ts";
 * deliveryRatio(1800, 100, 10); // 2: more than possible means duplicates
 * deliveryRatio(891, 100, 10); // 0.99
 * ```
 */
export function deliveryRatio(
  deliveries: number,
  lines: number,
  readers: number,
): number | null {
  const expected = lines * Math.max(0, readers - 1);
  return expected === 0 ? null : deliveries / expected;
}

/**
 * `ours / theirs`, or `null` when either is missing or `theirs` is 0.
 *
 * @example
 * ```ts
 * import { ratio } from "./stats.ts";
 * ratio(2, 4); // 0.5
 * ratio(0, 0); // null
 * ```
 */
export function ratio(
  ours: number | null | undefined,
  theirs: number | null | undefined,
): number | null {
  if (ours == null || theirs == null || theirs === 0) return null;
  if (Number.isNaN(ours) || Number.isNaN(theirs)) return null;
  return ours / theirs;
}

/** The numeric figures of one run; `null` where the run could not tell. */
export type Figures = Record<string, number | null>;

/**
 * The median of each figure over several runs. A figure missing from a run
 * counts as `null` there; the result has every name seen in any run.
 *
 * @example
 * ```ts
 * import { medianFigures } from "./stats.ts";
 * medianFigures([{ p99Ms: 3 }, { p99Ms: 1 }, { p99Ms: 2 }]); // { p99Ms: 2 }
 * ```
 */
export function medianFigures(runs: readonly Figures[]): Figures {
  const names = new Set(runs.flatMap((run) => Object.keys(run)));
  const result: Figures = {};
  for (const name of names) {
    result[name] = median(runs.map((run) => run[name] ?? null));
  }
  return result;
}

/**
 * The lowest (`"min"`) or highest (`"max"`) value of one figure over several
 * runs, ignoring runs without it; `null` when none has it. Targets that must
 * hold in every run (no lost, late or broken line) look at the worst run.
 *
 * @example
 * ```ts
 * import { extreme } from "./stats.ts";
 * extreme([{ broken: 0 }, { broken: 3 }, {}], "broken", "max"); // 3
 * ```
 */
export function extreme(
  runs: readonly Figures[],
  name: string,
  which: "min" | "max",
): number | null {
  let result: number | null = null;
  for (const run of runs) {
    const value = run[name];
    if (typeof value !== "number" || Number.isNaN(value)) continue;
    if (
      result === null || (which === "min" ? value < result : value > result)
    ) {
      result = value;
    }
  }
  return result;
}

/**
 * CPU time in seconds per million deliveries, the cost of fan-out; `null`
 * when nothing was delivered.
 *
 * @example
 * ```ts
 * import { cpuPerMillion } from "./stats.ts";
 * cpuPerMillion(0.43, 99_000); // about 4.34
 * ```
 */
export function cpuPerMillion(
  cpuSeconds: number | null,
  deliveries: number,
): number | null {
  if (cpuSeconds === null || deliveries <= 0) return null;
  return cpuSeconds / (deliveries / 1e6);
}
