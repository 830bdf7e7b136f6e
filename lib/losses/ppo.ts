/**
 * PPO for language models: advantages (GAE), the clipped surrogate, the clipped value loss,
 * entropy, explained variance, and the KL-shaped per-token reward.
 *
 * Papers: Schulman et al. 2017 (PPO, arXiv:1707.06347); Schulman et al. 2016 (GAE,
 * arXiv:1506.02438); Ziegler et al. 2019 (fine-tuning LMs from human preferences,
 * arXiv:1909.08593) and Stiennon et al. 2020 (arXiv:2009.01325) for the per-token
 * −β·KL reward with the score on the last token; Huang et al. 2022, "The 37
 * implementation details of PPO" (ICLR blog track) for the value clipping, advantage
 * whitening and the clip-fraction / approx-KL diagnostics.
 *
 * Layout: [B, T] arrays are row-major (index b·T + t); `mask` is 1 at real response tokens
 * and 0 at padding. Rollout-side functions (gae, whiten, shapeRewards, explainedVariance)
 * work on JavaScript arrays because rollouts already hold their numbers there; loss-side
 * functions work on tensors and are differentiable.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor } from "../util/tensor_types.ts";
import { checkField } from "../util/schema.ts";

// ---------------------------------------------------------------------------------------
// Rollout side: plain arrays.

/** Inputs of {@link gae}; all arrays [B, T] row-major. */
export interface GaeArgs {
  /** Per-token rewards r_t, [B, T]. */
  rewards: ArrayLike<number>;
  /** Value estimates V_t, [B, T]. */
  values: ArrayLike<number>;
  /** 1 at real tokens, 0 at padding, [B, T]. */
  mask: ArrayLike<number>;
  /** Sequence length T (the row width). */
  T: number;
  /** Discount γ ∈ [0, 1]. */
  gamma: number;
  /** GAE λ ∈ [0, 1]. */
  lambda: number;
}

const UNIT_SPEC = { type: "number", min: 0, max: 1, doc: "discount in [0, 1]" } as const;

/**
 * Generalised advantage estimation (Schulman et al. 2016):
 *
 *     δ_t = r_t + γ·V_{t+1} − V_t,    A_t = δ_t + γλ·A_{t+1},    returns_t = A_t + V_t.
 *
 * The episode ends at the last real token: where mask[t+1] = 0 (or t = T−1), V_{t+1} = 0
 * and A_{t+1} = 0, so an early EOS or right padding cuts the recursion. Padded positions
 * get A = returns = 0.
 *
 * Written on plain arrays: it is a backwards scan over t, which as tensor ops would be T
 * small slice/stack kernels (TRL does exactly that in Python); as a loop it is O(B·T)
 * arithmetic with no kernel launches, and no gradient flows through it anyway.
 *
 * @returns advantages and returns, each a new Float32Array [B, T].
 */
export function gae(args: GaeArgs): { advantages: Float32Array; returns: Float32Array } {
  const { rewards, values, mask, T } = args;
  const gamma = checkField("ppo.gamma", args.gamma, UNIT_SPEC) as number;
  const lambda = checkField("ppo.lambda", args.lambda, UNIT_SPEC) as number;
  const n = rewards.length;
  if (values.length !== n || mask.length !== n || n % T !== 0) {
    throw new RangeError(
      `rewards, values and mask must have equal length divisible by T=${T}, got ${n}, ${values.length}, ${mask.length}`,
    );
  }
  const advantages = new Float32Array(n);
  const returns = new Float32Array(n);
  for (let row = 0; row < n; row += T) {
    let nextValue = 0; // V_{t+1}, 0 past the last real token
    let nextAdv = 0; // A_{t+1}
    for (let t = T - 1; t >= 0; t--) {
      const i = row + t;
      if (mask[i]! === 0) {
        nextValue = 0;
        nextAdv = 0;
        continue;
      }
      const delta = rewards[i]! + gamma * nextValue - values[i]!;
      const adv = delta + gamma * lambda * nextAdv;
      advantages[i] = adv;
      returns[i] = adv + values[i]!;
      nextValue = values[i]!;
      nextAdv = adv;
    }
  }
  return { advantages, returns };
}

/**
 * Masked whitening (Huang et al. 2022, detail "advantage normalisation"; TRL's
 * `masked_whiten`): (x − mean)/sqrt(var + 1e-8) over the real tokens, with the unbiased
 * variance. With `shiftMean = false` the mean is added back (only the scale changes), as
 * TRL does for returns. Padded positions are 0 in the output.
 * @param x values, [B, T] flat.
 * @param mask 1 at real tokens, same length.
 * @returns a new Float32Array.
 */
export function whiten(
  x: ArrayLike<number>,
  mask: ArrayLike<number>,
  shiftMean = true,
): Float32Array {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask[i]! !== 0) {
      n++;
      sum += x[i]!;
    }
  }
  const out = new Float32Array(x.length);
  if (n === 0) return out;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < x.length; i++) if (mask[i]! !== 0) ss += (x[i]! - mean) ** 2;
  const variance = n > 1 ? ss / (n - 1) : 0;
  const scale = 1 / Math.sqrt(variance + 1e-8);
  for (let i = 0; i < x.length; i++) {
    if (mask[i]! === 0) continue;
    out[i] = (x[i]! - mean) * scale + (shiftMean ? 0 : mean);
  }
  return out;
}

/** Inputs of {@link shapeRewards}. */
export interface ShapeRewardsArgs {
  /** Per-token KL estimate (e.g. k1 = log π − log π_ref of the sampled token), [B, T]. */
  klPerToken: ArrayLike<number>;
  /** Sequence-level score (reward model or gold reward), [B]. */
  score: ArrayLike<number>;
  /** Index t of the last real token of each row, [B]. */
  lastIndex: ArrayLike<number>;
  /** KL coefficient β ≥ 0. */
  beta: number;
  /** 1 at real tokens, [B, T]. */
  mask: ArrayLike<number>;
}

/**
 * The KL-shaped per-token reward of Ziegler et al. (2019) and Stiennon et al. (2020):
 *
 *     R_t = −β·KL_t  at every real token,  plus  score  at t = lastIndex.
 *
 * Its undiscounted sum is score − β·Σ_t KL_t, a sample of r(x, y) − β·KL(π‖π_ref).
 * @returns a new Float32Array [B, T] (0 at padding).
 */
export function shapeRewards(args: ShapeRewardsArgs): Float32Array {
  const { klPerToken, score, lastIndex, beta, mask } = args;
  const b = score.length;
  if (b === 0 || klPerToken.length % b !== 0 || mask.length !== klPerToken.length) {
    throw new RangeError(
      `klPerToken and mask must be [B, T] with B = score.length = ${b}, got lengths ${klPerToken.length} and ${mask.length}`,
    );
  }
  const T = klPerToken.length / b;
  const out = new Float32Array(klPerToken.length);
  for (let i = 0; i < out.length; i++) out[i] = mask[i]! !== 0 ? -beta * klPerToken[i]! : 0;
  for (let row = 0; row < b; row++) {
    const t = lastIndex[row]!;
    if (!Number.isInteger(t) || t < 0 || t >= T || mask[row * T + t]! === 0) {
      throw new RangeError(`lastIndex[${row}] must be a real token index in [0, ${T}), got ${t}`);
    }
    out[row * T + t] = out[row * T + t]! + score[row]!;
  }
  return out;
}

/**
 * Explained variance of the value head (Huang et al. 2022): 1 − Var[R − V]/Var[R] over real
 * tokens. 1 is perfect, 0 is no better than a constant, negative is worse. NaN if Var[R] = 0.
 * @param values V, [B, T] flat. @param returns R, same length. @param mask 1 at real tokens.
 */
export function explainedVariance(
  values: ArrayLike<number>,
  returns: ArrayLike<number>,
  mask: ArrayLike<number>,
): number {
  let n = 0, sr = 0, sd = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask[i]! === 0) continue;
    n++;
    sr += returns[i]!;
    sd += returns[i]! - values[i]!;
  }
  if (n === 0) return NaN;
  const mr = sr / n, md = sd / n;
  let vr = 0, vd = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask[i]! === 0) continue;
    vr += (returns[i]! - mr) ** 2;
    vd += (returns[i]! - values[i]! - md) ** 2;
  }
  return vr === 0 ? NaN : 1 - vd / vr;
}

// ---------------------------------------------------------------------------------------
// Loss side: tensors.

/**
 * Σ(x·mask)/Σ mask, a scalar; the caller disposes it.
 * @param x any shape. @param mask same shape, 1 at real tokens.
 */
export function maskedMean(x: Tensor, mask: Tensor): Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1e-8)));
}

/** Inputs of {@link ppoPolicyLoss}; all [B, T]. */
export interface PpoPolicyLossArgs {
  /** log π_θ(a_t) of the taken tokens under the current policy, [B, T]; differentiable. */
  logProbs: Tensor;
  /** log π_old(a_t) recorded at rollout time, [B, T]. */
  oldLogProbs: Tensor;
  /** Advantages A_t, [B, T]. */
  advantages: Tensor;
  /** 1 at real tokens, [B, T]. */
  mask: Tensor;
  /** ε of the clipped ratio, > 0 (0.2 in the paper and most code). */
  clipRange: number;
}

/** Outputs of {@link ppoPolicyLoss}: scalars; the caller disposes them. */
export interface PpoPolicyLossResult {
  /** Masked mean of max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)); differentiable. */
  pgLoss: Scalar;
  /** Fraction of real tokens where the clipped term is the one taken (clipping binds). */
  clipFrac: Scalar;
  /** k3 estimate of KL(π_old ‖ π_θ): masked mean of (r − 1) − log r, r = ratio. */
  approxKl: Scalar;
  /** Masked mean of the ratio π_θ/π_old. */
  ratioMean: Scalar;
  /** Largest ratio over real tokens. */
  ratioMax: Scalar;
  /** Smallest ratio over real tokens. */
  ratioMin: Scalar;
}

/**
 * PPO's clipped surrogate objective (Schulman et al. 2017, eq. 7), as a loss to minimise:
 *
 *     ratio = exp(logProbs − oldLogProbs)
 *     pgLoss = mean_mask[ max(−A·ratio, −A·clip(ratio, 1 − ε, 1 + ε)) ]
 *
 * Its gradient vanishes where the clipped term is taken, i.e. A > 0 and ratio > 1+ε, or
 * A < 0 and ratio < 1−ε. `approxKl` is the k3 estimator (ratio − 1) − log ratio (unbiased
 * for KL(π_old‖π_θ) on tokens drawn from π_old; CleanRL's `approx_kl`), not TRL's ½(log
 * ratio)². `clipFrac` follows TRL: the fraction where −A·clip(ratio) > −A·ratio.
 * @returns scalars; the caller disposes them.
 */
export function ppoPolicyLoss(args: PpoPolicyLossArgs): PpoPolicyLossResult {
  const eps = checkField("ppo.clipRange", args.clipRange, {
    type: "number",
    gt: 0,
    doc: "PPO ε",
  }) as number;
  const { logProbs, oldLogProbs, advantages, mask } = args;
  return tf.tidy(() => {
    const logRatio = tf.sub(logProbs, oldLogProbs); // [B, T]
    const ratio = tf.exp(logRatio); // [B, T]
    const pgLosses = tf.mul(tf.neg(advantages), ratio); // [B, T]
    const pgLosses2 = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - eps, 1 + eps)); // [B, T]
    const pgLoss = maskedMean(tf.maximum(pgLosses, pgLosses2), mask);
    const real = tf.cast(tf.greater(mask, 0), "bool"); // [B, T]
    const r = ratio; // metrics below are diagnostics: callers differentiate pgLoss only
    return {
      pgLoss,
      clipFrac: maskedMean(tf.cast(tf.greater(pgLosses2, pgLosses), "float32"), mask),
      approxKl: maskedMean(tf.sub(tf.sub(r, 1), logRatio), mask),
      ratioMean: maskedMean(r, mask),
      ratioMax: tf.max<Scalar>(tf.where(real, r, tf.fill(r.shape, -Infinity))),
      ratioMin: tf.min<Scalar>(tf.where(real, r, tf.fill(r.shape, Infinity))),
    };
  });
}

/** Inputs of {@link ppoValueLoss}; all [B, T]. */
export interface PpoValueLossArgs {
  /** V_θ(s_t) under the current value head, [B, T]; differentiable. */
  values: Tensor;
  /** V recorded at rollout time, [B, T]. */
  oldValues: Tensor;
  /** Return targets (GAE returns), [B, T]. */
  returns: Tensor;
  /** 1 at real tokens, [B, T]. */
  mask: Tensor;
  /** Clip range for the value update, > 0 (TRL's `cliprange_value`, 0.2). */
  clipRangeValue: number;
}

/**
 * PPO's clipped value loss (Huang et al. 2022, detail "value function loss clipping";
 * Ziegler et al. 2019's lm-human-preferences):
 *
 *     vClipped     = oldValues + clip(values − oldValues, −ε_v, ε_v)
 *     vLoss        = ½·mean_mask[ max((values − R)², (vClipped − R)²) ]
 *     vClipFrac    = mean_mask[ (vClipped − R)² > (values − R)² ]
 * @returns scalars { vLoss (differentiable), vClipFrac }; the caller disposes them.
 */
export function ppoValueLoss(args: PpoValueLossArgs): { vLoss: Scalar; vClipFrac: Scalar } {
  const eps = checkField("ppo.clipRangeValue", args.clipRangeValue, {
    type: "number",
    gt: 0,
    doc: "value clip range",
  }) as number;
  const { values, oldValues, returns, mask } = args;
  return tf.tidy(() => {
    const vClipped = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -eps, eps)); // [B, T]
    const vLossUnclipped = tf.square(tf.sub(values, returns)); // [B, T]
    const vLossClipped = tf.square(tf.sub(vClipped, returns)); // [B, T]
    return {
      vLoss: tf.mul(0.5, maskedMean(tf.maximum(vLossUnclipped, vLossClipped), mask)) as Scalar,
      vClipFrac: maskedMean(tf.cast(tf.greater(vLossClipped, vLossUnclipped), "float32"), mask),
    };
  });
}

/**
 * Masked mean entropy of the policy's next-token distributions:
 * H = logsumexp(l) − Σ_v softmax(l)_v·l_v per position, averaged over real tokens.
 * @param logits [B, T, V]. @param mask [B, T].
 * @returns a scalar; the caller disposes it.
 */
export function entropyFromLogits(logits: Tensor, mask: Tensor): Scalar {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits); // [B, T, V]
    const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logProbs), logProbs), -1)); // [B, T]
    return maskedMean(entropy, mask);
  });
}
