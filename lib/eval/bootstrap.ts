/**
 * The nonparametric bootstrap of a mean (Efron 1979; Efron & Tibshirani 1993, ch. 6 and
 * 13): resample the per-prompt values with replacement B times, and read the standard
 * error and a percentile interval off the B resampled means. Seeded, so the same values
 * and seed give the same interval.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";

/** Options of {@link bootstrapMean}. */
export interface BootstrapOptions {
  /** B, resamples (≥ 2); default 1000. */
  resamples?: number;
  /** Seed of the resampling; default 0. */
  seed?: number;
  /** Coverage of the percentile interval, in (0, 1); default 0.95. */
  level?: number;
}

/** A mean with its bootstrap standard error and percentile interval. */
export interface BootstrapResult {
  /** The mean of the values themselves. */
  mean: number;
  /** Standard deviation of the B resampled means (divisor B − 1). */
  se: number;
  /** The (1 − level)/2 quantile of the resampled means. */
  lo: number;
  /** The (1 + level)/2 quantile of the resampled means. */
  hi: number;
  /** The interval's nominal coverage. */
  level: number;
  /** B. */
  resamples: number;
  /** n, the number of values. */
  n: number;
}

/**
 * Bootstrap standard error and percentile interval of the mean of `values` (e.g. the gold
 * reward of each held-out prompt). Each of the B resamples draws n indices uniformly with
 * replacement; se is the standard deviation of the B means, lo and hi their
 * {@link quantile}s at (1 ∓ level)/2. For large n, se approaches the plug-in standard
 * error √(Σ(x − x̄)²/n)/√n.
 * @throws ConfigError for no values, a non-finite value, B < 2 or level outside (0, 1).
 * @example
 * ```ts
 * import { bootstrapMean } from "./bootstrap.ts";
 * const r = bootstrapMean([0.2, 0.4, 0.9, 0.1], { resamples: 500, seed: 1 });
 * if (!(r.lo <= r.mean && r.mean <= r.hi && r.se > 0)) throw new Error();
 * ```
 */
export function bootstrapMean(
  values: ArrayLike<number>,
  opts: BootstrapOptions = {},
): BootstrapResult {
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  const seed = opts.seed ?? 0;
  const n = values.length;
  if (n === 0) throw new ConfigError("bootstrapMean needs at least one value, got 0");
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) {
      throw new ConfigError(`bootstrapMean: values[${i}] must be finite, got ${show(values[i])}`);
    }
  }
  if (!Number.isInteger(resamples) || resamples < 2) {
    throw new ConfigError(`resamples must be an integer >= 2, got ${show(resamples)}`);
  }
  if (!(level > 0 && level < 1)) {
    throw new ConfigError(`level must be a number > 0 and < 1, got ${show(level)}`);
  }
  if (!Number.isInteger(seed)) throw new ConfigError(`seed must be an integer, got ${show(seed)}`);

  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  const rng = new Rng(seed);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)]!;
    means[b] = s / n;
  }
  let m = 0;
  for (const x of means) m += x;
  m /= resamples;
  let ss = 0;
  for (const x of means) ss += (x - m) ** 2;
  means.sort();
  return {
    mean,
    se: Math.sqrt(ss / (resamples - 1)),
    lo: quantile(means, (1 - level) / 2),
    hi: quantile(means, (1 + level) / 2),
    level,
    resamples,
    n,
  };
}

/**
 * The p-quantile of ascending `sorted` values by linear interpolation between order
 * statistics (Hyndman & Fan 1996 type 7, numpy's default): h = (n − 1)·p, then
 * x_⌊h⌋ + (h − ⌊h⌋)·(x_⌊h⌋+1 − x_⌊h⌋), 0-based.
 * @throws ConfigError for no values or p outside [0, 1].
 * @example
 * ```ts
 * import { quantile } from "./bootstrap.ts";
 * if (quantile([1, 2, 3, 4], 0.25) !== 1.75) throw new Error();
 * ```
 */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new ConfigError("quantile needs at least one value, got 0");
  if (!(p >= 0 && p <= 1)) throw new ConfigError(`p must be in [0, 1], got ${show(p)}`);
  const h = (n - 1) * p;
  const i = Math.floor(h);
  const below = sorted[i]!;
  return i + 1 < n ? below + (h - i) * (sorted[i + 1]! - below) : below;
}
