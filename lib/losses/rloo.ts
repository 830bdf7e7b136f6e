/**
 * RLOO, REINFORCE Leave-One-Out (Ahmadian et al. 2024, "Back to Basics: Revisiting
 * REINFORCE Style Optimization for Learning from Human Feedback in LLMs",
 * arXiv:2402.14740, §3.3; the estimator is Kool et al. 2019's).
 *
 * k completions per prompt are sampled from π_old. Each gets a sequence reward with the KL
 * penalty inside it and a baseline from the other k − 1:
 *
 *     R_i = r_i − β·Σ_t KL_{i,t}            (KL_t a per-token estimate, k1 by default)
 *     b_i = (Σ_{j≠i} R_j)/(k − 1),    A_i = R_i − b_i = k/(k − 1)·(R_i − mean_j R_j)
 *
 * b_i does not depend on y_i, so E[A_i·∇log π(y_i)] = ∇E_π[R] exactly (no (k−1)/k shrink
 * as with a baseline that includes the sample). With KL_t = k1 = log π_old − log π_ref at
 * the sampled tokens, E[R] = E[r] − β·KL(π‖π_ref) over whole sequences, so the fixed point
 * is π*_β ∝ π_ref·exp(r/β).
 *
 * The loss is REINFORCE on the whole sequence, −A_i·Σ_t log π_θ(y_{i,t}), averaged over
 * the batch (the paper), or a PPO-clipped version on the sequence-level ratio
 * ρ_i = exp(Σ_t log π_θ − log π_old): max(−A_i·ρ_i, −A_i·clip(ρ_i, 1 − ε, 1 + ε)), as
 * TRL's RLOOTrainer (≤ 0.19) does for several epochs on one batch. On the first epoch
 * (π_θ = π_old) both have the same gradient.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor } from "../util/tensor_types.ts";
import { ConfigError } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";

/** The two RLOO losses. */
export const RLOO_VARIANTS = ["reinforce", "ppo_clip"] as const;
/** "reinforce" (the paper) or "ppo_clip" (sequence-level clipped ratio). */
export type RlooVariant = (typeof RLOO_VARIANTS)[number];

/** Inputs of {@link klPenalisedRewards}. */
export interface KlPenalisedRewardArgs {
  /** Sequence scores r_i, [B]. */
  score: ArrayLike<number>;
  /** Per-token KL estimates at the sampled tokens, [B, T] row-major. */
  klPerToken: ArrayLike<number>;
  /** 1 at real tokens, [B, T]. */
  mask: ArrayLike<number>;
  /** KL coefficient β ≥ 0. */
  beta: number;
}

/**
 * R_i = r_i − β·Σ_t mask·KL_{i,t}: the sequence reward with the KL penalty inside (RLOO;
 * GRPO with the KL in the reward).
 * @returns a new Float32Array [B].
 */
export function klPenalisedRewards(args: KlPenalisedRewardArgs): Float32Array {
  const beta = checkField("rloo.beta", args.beta, {
    type: "number",
    min: 0,
    doc: "KL coefficient β",
  }) as number;
  const { score, klPerToken, mask } = args;
  const b = score.length;
  if (b === 0 || klPerToken.length % b !== 0 || mask.length !== klPerToken.length) {
    throw new RangeError(
      `klPerToken and mask must be [B, T] with B = score.length = ${b}, got lengths ${klPerToken.length} and ${mask.length}`,
    );
  }
  const T = klPerToken.length / b;
  const out = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    let kl = 0;
    for (let t = 0; t < T; t++) if (mask[i * T + t]! !== 0) kl += klPerToken[i * T + t]!;
    out[i] = score[i]! - beta * kl;
  }
  return out;
}

/**
 * Leave-one-out advantages A_i = R_i − (Σ_{j≠i} R_j)/(k − 1) within consecutive groups of
 * k (rows g·k .. g·k + k − 1 share a prompt).
 * @param rewards R, [B] with B = groups·k.
 * @returns a new Float32Array [B].
 * @example
 * ```ts
 * import { rlooAdvantages } from "./rloo.ts";
 * const a = rlooAdvantages([1, 2, 6], 3); // baselines 4, 3.5, 1.5
 * // a = [−3, −1.5, 4.5]
 * ```
 */
export function rlooAdvantages(rewards: ArrayLike<number>, k: number): Float32Array {
  checkField("rloo.k", k, { type: "number", int: true, min: 2, doc: "completions per prompt" });
  if (rewards.length % k !== 0) {
    throw new RangeError(`rewards must hold whole groups of ${k}, got ${rewards.length} values`);
  }
  const out = new Float32Array(rewards.length);
  for (let g = 0; g < rewards.length; g += k) {
    let sum = 0;
    for (let i = 0; i < k; i++) sum += rewards[g + i]!;
    for (let i = 0; i < k; i++) out[g + i] = rewards[g + i]! - (sum - rewards[g + i]!) / (k - 1);
  }
  return out;
}

/** Inputs of {@link rlooLoss}. Tensors are not disposed by the loss. */
export interface RlooLossArgs {
  /** log π_θ of the sampled tokens, [B, T]; differentiable. */
  logProbs: Tensor;
  /** log π_old at sampling time, [B, T]; needed by "ppo_clip". */
  oldLogProbs?: Tensor;
  /** Leave-one-out advantages, [B]. */
  advantages: Tensor;
  /** 1 at real tokens, [B, T]. */
  mask: Tensor;
  /** Which loss; default "reinforce". */
  variant?: RlooVariant;
  /** ε of "ppo_clip"; default 0.2. */
  clipRange?: number;
}

/** Outputs of {@link rlooLoss}: scalars; the caller disposes them. */
export interface RlooLossResult {
  /** Mean over sequences of the per-sequence loss; differentiable. */
  loss: Scalar;
  /** Fraction of sequences where the clip binds (0 for "reinforce"). */
  clipFrac: Scalar;
  /** Mean sequence-level ratio ρ (1 for "reinforce" on fresh samples). */
  ratioMean: Scalar;
}

/**
 * The RLOO loss (formulas in the module doc).
 * @throws ConfigError for a bad variant or ε, or a missing oldLogProbs for "ppo_clip".
 */
export function rlooLoss(args: RlooLossArgs): RlooLossResult {
  const variant = checkField("rloo.variant", args.variant ?? "reinforce", {
    type: "enum",
    values: RLOO_VARIANTS,
    doc: "RLOO loss",
  }) as RlooVariant;
  const eps = checkField("rloo.clipRange", args.clipRange ?? 0.2, {
    type: "number",
    gt: 0,
    doc: "clip ε",
  }) as number;
  const { logProbs, oldLogProbs, advantages, mask } = args;
  if (variant === "ppo_clip" && oldLogProbs === undefined) {
    throw new ConfigError('rloo.oldLogProbs is required for variant "ppo_clip"');
  }
  return tf.tidy(() => {
    const seqLogProbs = tf.sum(tf.mul(logProbs, mask), 1); // [B]
    const ratio = oldLogProbs === undefined
      ? tf.onesLike(seqLogProbs)
      : tf.exp(tf.sub(seqLogProbs, tf.sum(tf.mul(oldLogProbs, mask), 1))); // [B]
    if (variant === "reinforce") {
      return {
        loss: tf.mean<Scalar>(tf.mul(tf.neg(advantages), seqLogProbs)),
        clipFrac: tf.scalar(0),
        ratioMean: tf.mean<Scalar>(ratio),
      };
    }
    const unclipped = tf.mul(tf.neg(advantages), ratio); // [B]
    const clipped = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - eps, 1 + eps)); // [B]
    return {
      loss: tf.mean<Scalar>(tf.maximum(unclipped, clipped)),
      clipFrac: tf.mean<Scalar>(tf.cast(tf.greater(clipped, unclipped), "float32")),
      ratioMean: tf.mean<Scalar>(ratio),
    };
  });
}
