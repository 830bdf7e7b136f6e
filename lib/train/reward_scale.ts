/**
 * One β scale for every method: a training reward standardised on a reference set of
 * completions (e.g. SFT samples of held-out prompts), r̃ = (r − μ)/σ, so that the same β
 * prices KL the same way whether the policy is trained on a reward model's score, the
 * gold reward or anything else. μ and σ are estimated once, stored with the stage that
 * estimated them ({@link RewardScale} is plain JSON) and reused by every run.
 *
 * @module
 */
import { responseBatch } from "../data/response_batch.ts";
import { ConfigError, show } from "../util/errors.ts";
import type { RewardSource } from "./rollout.ts";

/** A reward's mean and standard deviation on the completions it was estimated on. */
export interface RewardScale {
  /** μ: the mean reward. */
  mean: number;
  /** σ > 0: the sample standard deviation √(Σ(r − μ)²/(n − 1)). */
  std: number;
  /** n ≥ 2: completions the estimate is over. */
  count: number;
}

/** Options of {@link estimateRewardScale}. */
export interface RewardScaleOptions {
  /** The model context the rows are laid out for (a reward model reads the batch). */
  context: number;
  /** Rows per call to the source (bounds its memory); default 64. */
  batchSize?: number;
}

/**
 * Estimate μ and σ of `source` on (prompt, response) rows, scoring them in chunks of
 * `batchSize` (the result does not depend on it when the source scores rows
 * independently). Sums run in float64, σ by the two-pass formula.
 * @param prompts token ids with BOS, one per row.
 * @param responses the completions (e.g. SFT samples), one per row, each non-empty.
 * @throws ConfigError for fewer than 2 rows, mismatched lengths, a non-finite score, or a
 *   reward that is constant on the rows (σ = 0 cannot standardise).
 * @example
 * ```ts
 * import { estimateRewardScale } from "./reward_scale.ts";
 * const length = (_p: unknown, ys: readonly (readonly number[])[]) =>
 *   Promise.resolve(Float32Array.from(ys, (y) => y.length));
 * const s = await estimateRewardScale(length, [[1], [1]], [[5], [5, 6, 7]], { context: 8 });
 * // lengths 1 and 3: μ = 2, σ = √2
 * if (s.mean !== 2 || Math.abs(s.std - Math.SQRT2) > 1e-12) throw new Error();
 * ```
 */
export async function estimateRewardScale(
  source: RewardSource,
  prompts: readonly (readonly number[])[],
  responses: readonly (readonly number[])[],
  opts: RewardScaleOptions,
): Promise<RewardScale> {
  const n = prompts.length;
  if (responses.length !== n) {
    throw new ConfigError(`estimateRewardScale: ${n} prompts but ${responses.length} responses`);
  }
  if (n < 2) throw new ConfigError(`estimateRewardScale needs at least 2 completions, got ${n}`);
  const batchSize = opts.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError(`batchSize must be an integer >= 1, got ${show(batchSize)}`);
  }
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i += batchSize) {
    const p = prompts.slice(i, i + batchSize), y = responses.slice(i, i + batchSize);
    const r = await source(p, y, responseBatch(p, y, opts.context));
    for (let j = 0; j < p.length; j++) {
      if (!Number.isFinite(r[j])) {
        throw new ConfigError(`estimateRewardScale: the reward of row ${i + j} is ${r[j]}`);
      }
      scores[i + j] = r[j]!;
    }
  }
  let sum = 0;
  for (const x of scores) sum += x;
  const mean = sum / n;
  let ss = 0;
  for (const x of scores) ss += (x - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  if (!(std > 0)) {
    throw new ConfigError(
      `estimateRewardScale: the reward is constant (${mean}) on all ${n} completions, so it ` +
        `has no scale to standardise by`,
    );
  }
  return { mean, std, count: n };
}

/**
 * `source` standardised: each score r becomes (r − μ)/σ with the given scale. The scores
 * come back as float32, like every reward source's.
 * @throws ConfigError when the scale is not a valid {@link RewardScale}.
 */
export function scaledRewardSource(source: RewardSource, scale: RewardScale): RewardSource {
  const { mean, std } = checkRewardScale(scale);
  return async (prompts, responses, batch) =>
    (await source(prompts, responses, batch)).map((r) => (r - mean) / std);
}

/**
 * Check a scale read back from JSON: finite mean, std > 0, count an integer ≥ 2.
 * @returns the scale, typed.
 * @throws ConfigError naming the bad field and its value.
 */
export function checkRewardScale(value: unknown): RewardScale {
  const s = value as Partial<RewardScale> | null;
  if (typeof s !== "object" || s === null) {
    throw new ConfigError(`a reward scale must be {mean, std, count}, got ${show(value)}`);
  }
  if (typeof s.mean !== "number" || !Number.isFinite(s.mean)) {
    throw new ConfigError(`rewardScale.mean must be a finite number, got ${show(s.mean)}`);
  }
  if (typeof s.std !== "number" || !Number.isFinite(s.std) || !(s.std > 0)) {
    throw new ConfigError(`rewardScale.std must be a finite number > 0, got ${show(s.std)}`);
  }
  if (typeof s.count !== "number" || !Number.isInteger(s.count) || s.count < 2) {
    throw new ConfigError(`rewardScale.count must be an integer >= 2, got ${show(s.count)}`);
  }
  return { mean: s.mean, std: s.std, count: s.count };
}
