/**
 * GRPO, Group Relative Policy Optimization (Shao et al. 2024, "DeepSeekMath",
 * arXiv:2402.03300, §4.1), and Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like
 * Training: A Critical Perspective", arXiv:2503.20783).
 *
 * G completions y_1..y_G are sampled per prompt from π_old and scored r_1..r_G. Every
 * token of y_i gets the group-relative advantage
 *
 *     A_i = (r_i − mean(r_1..r_G)) / (std(r_1..r_G) + ε)          (GRPO)
 *     A_i =  r_i − mean(r_1..r_G)                                   (Dr. GRPO: no std)
 *
 * and the per-token loss is PPO's clipped surrogate plus a KL penalty to π_ref,
 *
 *     ℓ_{i,t} = max(−A_i·ρ_{i,t}, −A_i·clip(ρ_{i,t}, 1 − ε_low, 1 + ε_high)) + β·k_{i,t},
 *     ρ_{i,t} = π_θ(y_{i,t} | ·)/π_old(y_{i,t} | ·),
 *
 * with k the k3 estimator (r − 1) − log r, r = π_ref/π_θ, as in the paper (k1, k2
 * selectable, lib/losses/kl.ts), differentiated through π_θ; β = 0 drops the term (TRL's
 * default). ε_high > ε_low is DAPO's "clip-higher" (Yu et al. 2025).
 *
 * Aggregation over the [B, T] token grid ({@link GRPO_AGGREGATIONS}):
 * - `sequence_mean`: mean over each sequence's tokens, then over sequences (the paper's
 *   1/G Σ_i 1/|y_i| Σ_t). Dr. GRPO shows the 1/|y_i| biases learning by length: a wrong
 *   answer (A < 0) is penalised less per token when it is longer.
 * - `token_mean`: all tokens' sum over the number of tokens (DAPO; TRL's default).
 * - `dr_grpo`: the sum over (rows × maxTokens), a constant normaliser (Dr. GRPO).
 *
 * Note for exactness: the gradient of a per-token k3 (or k2) term is not the gradient of
 * KL(π_θ‖π_ref) over sequences (Tang & Munos 2025, arXiv:2506.09477; Liu et al. 2025,
 * arXiv:2510.01555): on-policy, ∇k3 averages to ∇KL(π_ref‖π_θ) at each visited prefix and
 * misses the KL the token causes later. Putting k1 in the reward (R = r − β·Σ_t k1_t,
 * before the group advantage) optimises the KL-regularised objective exactly; the
 * token-level exact task measures the difference (tests/token_task_test.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor } from "../util/tensor_types.ts";
import { ConfigError, show } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";
import { KL_TENSOR_ESTIMATORS, type SampleKlEstimator } from "./kl.ts";
import { maskedMean } from "./ppo.ts";

/** How per-token losses become one number. */
export const GRPO_AGGREGATIONS = ["sequence_mean", "token_mean", "dr_grpo"] as const;
/** A loss aggregation: see the module doc. */
export type GrpoAggregation = (typeof GRPO_AGGREGATIONS)[number];

/** Options of {@link groupAdvantages}. */
export interface GroupAdvantageOptions {
  /** Divide by the group's standard deviation (GRPO); false is Dr. GRPO. Default true. */
  scaleByStd?: boolean;
  /** ε added to the std; default 1e-4 (TRL). */
  eps?: number;
}

/**
 * Group-relative advantages A_i = (r_i − mean_g)/(std_g + ε), or r_i − mean_g without the
 * std. `rewards` holds consecutive groups of `groupSize` (rows g·G .. g·G + G − 1 share a
 * prompt). std is the unbiased sample standard deviation (n − 1), as torch's `std` that
 * TRL uses; a group of equal rewards gets A = 0.
 * @param rewards sequence rewards, [B] with B = groups·G.
 * @returns a new Float32Array [B].
 * @example
 * ```ts
 * import { groupAdvantages } from "./grpo.ts";
 * const a = groupAdvantages([1, 3, 0, 0], 2, { eps: 0 }); // two groups of 2
 * // a ≈ [−0.707, 0.707, 0, 0]: (1 − 2)/√2, (3 − 2)/√2
 * ```
 */
export function groupAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  options: GroupAdvantageOptions = {},
): Float32Array {
  checkField("grpo.groupSize", groupSize, {
    type: "number",
    int: true,
    min: 2,
    doc: "completions per prompt",
  });
  const eps = checkField("grpo.eps", options.eps ?? 1e-4, {
    type: "number",
    min: 0,
    doc: "std offset",
  }) as number;
  const scale = options.scaleByStd ?? true;
  if (rewards.length % groupSize !== 0) {
    throw new RangeError(
      `rewards must hold whole groups of ${groupSize}, got ${rewards.length} values`,
    );
  }
  const out = new Float32Array(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let mean = 0;
    for (let i = 0; i < groupSize; i++) mean += rewards[g + i]!;
    mean /= groupSize;
    let ss = 0;
    for (let i = 0; i < groupSize; i++) ss += (rewards[g + i]! - mean) ** 2;
    const denom = scale ? Math.sqrt(ss / (groupSize - 1)) + eps : 1;
    for (let i = 0; i < groupSize; i++) {
      const d = rewards[g + i]! - mean;
      out[g + i] = d === 0 ? 0 : d / denom;
    }
  }
  return out;
}

/**
 * Reduce a per-token loss [B, T] to a scalar (see the module doc):
 * `sequence_mean` mean_b(Σ_t ℓ·m / max(Σ_t m, 1)); `token_mean` Σ ℓ·m / max(Σ m, 1);
 * `dr_grpo` Σ ℓ·m / (B·maxTokens).
 * @param perToken [B, T]. @param mask [B, T], 1 at real tokens.
 * @param maxTokens the constant of `dr_grpo`, default T (the generation limit).
 * @returns a scalar; the caller disposes it.
 */
export function aggregateTokenLoss(
  perToken: Tensor,
  mask: Tensor,
  aggregation: GrpoAggregation,
  maxTokens?: number,
): Scalar {
  checkField("grpo.aggregation", aggregation, {
    type: "enum",
    values: GRPO_AGGREGATIONS,
    doc: "loss aggregation",
  });
  const [b, t] = perToken.shape as [number, number];
  return tf.tidy(() => {
    const masked = tf.mul(perToken, mask); // [B, T]
    switch (aggregation) {
      case "sequence_mean": {
        const perRow = tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(mask, 1), 1)); // [B]
        return tf.mean(perRow);
      }
      case "token_mean":
        return tf.div(tf.sum(masked), tf.maximum(tf.sum(mask), 1));
      case "dr_grpo":
        return tf.div(tf.sum(masked), b * (maxTokens ?? t));
    }
  });
}

/** Inputs of {@link clippedSurrogate}; [B, T] unless said. */
export interface ClippedSurrogateArgs {
  /** log π_θ of the taken tokens, [B, T]; differentiable. */
  logProbs: Tensor;
  /** log π_old of the taken tokens, [B, T]. */
  oldLogProbs: Tensor;
  /** Advantages, [B] (one per sequence, broadcast over tokens) or [B, T]. */
  advantages: Tensor;
  /** ε_low of the clip. */
  clipRange: number;
  /** ε_high of the clip; default `clipRange`. */
  clipRangeHigh?: number;
}

/**
 * PPO's clipped surrogate per token, as a loss: max(−A·ρ, −A·clip(ρ, 1 − ε_low, 1 + ε_high)),
 * ρ = exp(logProbs − oldLogProbs) (Schulman et al. 2017, eq. 7).
 * @returns `perToken` [B, T] (differentiable) and `clipped` [B, T], 1 where the clipped
 *   term is the larger (the gradient is cut there); the caller disposes both.
 */
export function clippedSurrogate(
  args: ClippedSurrogateArgs,
): { perToken: Tensor; clipped: Tensor } {
  const low = checkField("grpo.clipRange", args.clipRange, {
    type: "number",
    gt: 0,
    doc: "clip ε_low",
  }) as number;
  const high = checkField("grpo.clipRangeHigh", args.clipRangeHigh ?? low, {
    type: "number",
    gt: 0,
    doc: "clip ε_high",
  }) as number;
  return tf.tidy(() => {
    const adv = args.advantages.rank === 1 ? tf.expandDims(args.advantages, 1) : args.advantages; // [B, 1] or [B, T]
    const ratio = tf.exp(tf.sub(args.logProbs, args.oldLogProbs)); // [B, T]
    const unclipped = tf.mul(tf.neg(adv), ratio); // [B, T]
    const clippedTerm = tf.mul(tf.neg(adv), tf.clipByValue(ratio, 1 - low, 1 + high)); // [B, T]
    return {
      perToken: tf.maximum(unclipped, clippedTerm),
      clipped: tf.cast(tf.greater(clippedTerm, unclipped), "float32"),
    };
  });
}

/** Inputs of {@link grpoLoss}. Tensors are not disposed by the loss. */
export interface GrpoLossArgs {
  /** log π_θ of the sampled tokens, [B, T]; differentiable. */
  logProbs: Tensor;
  /** log π_old at sampling time, [B, T]. */
  oldLogProbs: Tensor;
  /** log π_ref of the sampled tokens, [B, T]; needed when beta > 0. */
  refLogProbs?: Tensor;
  /** Group-relative advantages ({@link groupAdvantages}), [B]. */
  advantages: Tensor;
  /** 1 at real tokens, 0 at padding, [B, T]. */
  mask: Tensor;
  /** KL coefficient β ≥ 0 of the in-loss penalty; 0 turns it off. */
  beta: number;
  /** Per-token KL estimator of the penalty; default "k3" (the paper). */
  klEstimator?: SampleKlEstimator;
  /** Clip ε (ε_low); default 0.2. */
  clipRange?: number;
  /** Clip ε_high (DAPO clip-higher); default = clipRange. */
  clipRangeHigh?: number;
  /** How tokens are averaged; default "sequence_mean" (the paper). */
  aggregation?: GrpoAggregation;
  /** The normaliser of "dr_grpo"; default T. */
  maxTokens?: number;
}

/** Outputs of {@link grpoLoss}: scalars; the caller disposes them. */
export interface GrpoLossResult {
  /** The aggregated loss: surrogate + β·KL term; differentiable. */
  loss: Scalar;
  /** The surrogate part alone, aggregated the same way. */
  pgLoss: Scalar;
  /** Mean per-token KL estimate over real tokens (a diagnostic; 0 when beta = 0). */
  kl: Scalar;
  /** Fraction of real tokens where clipping binds. */
  clipFrac: Scalar;
}

/**
 * GRPO's loss (formula in the module doc). With `aggregation: "dr_grpo"` and advantages
 * from `groupAdvantages(r, G, { scaleByStd: false })` it is Dr. GRPO.
 * @throws ConfigError for a bad β, ε, estimator or aggregation, or a missing refLogProbs.
 */
export function grpoLoss(args: GrpoLossArgs): GrpoLossResult {
  const beta = checkField("grpo.beta", args.beta, {
    type: "number",
    min: 0,
    doc: "KL coefficient β",
  }) as number;
  const estimator = args.klEstimator ?? "k3";
  if (!(estimator in KL_TENSOR_ESTIMATORS)) {
    throw new ConfigError(
      `grpo.klEstimator must be one of "k1", "k2", "k3", got ${show(estimator)}`,
    );
  }
  if (beta > 0 && args.refLogProbs === undefined) {
    throw new ConfigError("grpo.refLogProbs is required when grpo.beta > 0");
  }
  const aggregation = args.aggregation ?? "sequence_mean";
  const { logProbs, oldLogProbs, refLogProbs, advantages, mask, maxTokens } = args;
  return tf.tidy(() => {
    const { perToken: pg, clipped } = clippedSurrogate({
      logProbs,
      oldLogProbs,
      advantages,
      clipRange: args.clipRange ?? 0.2,
      clipRangeHigh: args.clipRangeHigh,
    }); // [B, T]
    const pgLoss = aggregateTokenLoss(pg, mask, aggregation, maxTokens);
    if (beta === 0) {
      return {
        loss: pgLoss.clone(),
        pgLoss,
        kl: tf.scalar(0),
        clipFrac: maskedMean(clipped, mask),
      };
    }
    const klTokens = KL_TENSOR_ESTIMATORS[estimator](logProbs, refLogProbs!); // [B, T]
    const perToken = tf.add(pg, tf.mul(beta, klTokens)); // [B, T]
    return {
      loss: aggregateTokenLoss(perToken, mask, aggregation, maxTokens),
      pgLoss,
      kl: maskedMean(klTokens, mask),
      clipFrac: maskedMean(clipped, mask),
    };
  });
}
