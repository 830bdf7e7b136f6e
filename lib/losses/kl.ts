/**
 * Per-token estimators of KL(π ‖ π_ref) from samples a ~ π, and the exact per-position KL
 * between two full next-token distributions.
 *
 * With logp = log π(a), logq = log π_ref(a) and r = π_ref(a)/π(a) = exp(logq − logp)
 * (Schulman 2020, "Approximating KL Divergence", http://joschu.net/blog/kl-approx.html):
 *
 * | name | per-token value              | E_{a~π}[·]              | variance            |
 * |------|------------------------------|-------------------------|---------------------|
 * | k1   | logp − logq  (= −log r)      | KL(π‖π_ref), unbiased   | high; can be < 0    |
 * | k2   | ½(logp − logq)²              | biased (≈ KL when close)| low; always ≥ 0     |
 * | k3   | (r − 1) − log r              | KL(π‖π_ref), unbiased   | low; always ≥ 0     |
 * | full | Σ_v π(v)(log π(v) − log π_ref(v)) | exact per position | none from the token |
 *
 * k1 is what Ziegler et al. (2019) and Stiennon et al. (2020) put into the reward; k3 is
 * the control-variate form (k1 + (r − 1), and E_π[r − 1] = 0) used by GRPO and CleanRL's
 * `approx_kl`. k2's expectation is ½E[(log r)²], an f-divergence that agrees with KL only
 * to second order.
 *
 * Tensor versions serve losses; `Float32Array` versions serve rollout code that already
 * holds per-token log-probs in JavaScript arrays.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../util/tensor_types.ts";
import { ConfigError, show } from "../util/errors.ts";

/** Names of the KL estimators, sample-based ones first. */
export const KL_ESTIMATORS = ["k1", "k2", "k3", "full"] as const;
/** A KL estimator: `k1`, `k2`, `k3` from sampled tokens, or `full` from whole distributions. */
export type KlEstimator = (typeof KL_ESTIMATORS)[number];
/** The estimators that need only the sampled token's log-probs. */
export type SampleKlEstimator = Exclude<KlEstimator, "full">;

/** A per-token estimator on tensors: (logProbs, refLogProbs) of any equal shape → same shape. */
export type KlTensorFn = (logProbs: Tensor, refLogProbs: Tensor) => Tensor;
/** A per-token estimator on one pair of scalars. */
export type KlScalarFn = (logProbs: number, refLogProbs: number) => number;

/**
 * Tensor estimators keyed by name. Each takes log π(a) and log π_ref(a) (any shape, e.g.
 * [B, T]) and returns the per-token estimate of the same shape; the caller disposes it.
 */
export const KL_TENSOR_ESTIMATORS: Record<SampleKlEstimator, KlTensorFn> = {
  // k1 = log π − log π_ref
  k1: (logProbs, refLogProbs) => tf.sub(logProbs, refLogProbs),
  // k2 = ½(log π − log π_ref)²
  k2: (logProbs, refLogProbs) =>
    tf.tidy(() => tf.mul(0.5, tf.square(tf.sub(logProbs, refLogProbs)))),
  // k3 = (r − 1) − log r = expm1(d) − d with d = log π_ref − log π (expm1 keeps precision at d ≈ 0)
  k3: (logProbs, refLogProbs) =>
    tf.tidy(() => {
      const d = tf.sub(refLogProbs, logProbs);
      return tf.sub(tf.expm1(d), d);
    }),
};

/** Scalar estimators keyed by name (same formulas as {@link KL_TENSOR_ESTIMATORS}). */
export const KL_SCALAR_ESTIMATORS: Record<SampleKlEstimator, KlScalarFn> = {
  k1: (logProbs, refLogProbs) => logProbs - refLogProbs,
  k2: (logProbs, refLogProbs) => 0.5 * (logProbs - refLogProbs) ** 2,
  k3: (logProbs, refLogProbs) => {
    const d = refLogProbs - logProbs;
    return Math.expm1(d) - d;
  },
};

function checkEstimator(estimator: string): SampleKlEstimator {
  if (estimator === "k1" || estimator === "k2" || estimator === "k3") return estimator;
  throw new ConfigError(
    `klEstimator must be one of "k1", "k2", "k3" for per-token estimates from samples ` +
      `(use fullKl for "full"), got ${show(estimator)}`,
  );
}

/**
 * Per-token KL estimate from sampled tokens' log-probs.
 * @param logProbs log π(a_t) of the sampled tokens, e.g. [B, T].
 * @param refLogProbs log π_ref(a_t), same shape.
 * @param estimator "k1" | "k2" | "k3".
 * @returns the estimate, same shape as `logProbs`; the caller disposes it.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { klPerToken } from "./kl.ts";
 * const k = klPerToken(tf.tensor1d([-1]), tf.tensor1d([-1]), "k3"); // [0]
 * k.dispose();
 * ```
 */
export function klPerToken(
  logProbs: Tensor,
  refLogProbs: Tensor,
  estimator: SampleKlEstimator,
): Tensor {
  return KL_TENSOR_ESTIMATORS[checkEstimator(estimator)](logProbs, refLogProbs);
}

/**
 * Per-token KL estimate on JavaScript arrays (rollout code).
 * @param logProbs log π(a) per token, flat (e.g. [B·T] row-major).
 * @param refLogProbs log π_ref(a), same length.
 * @returns a new Float32Array of the same length.
 */
export function klPerTokenArray(
  logProbs: ArrayLike<number>,
  refLogProbs: ArrayLike<number>,
  estimator: SampleKlEstimator,
): Float32Array {
  if (logProbs.length !== refLogProbs.length) {
    throw new RangeError(
      `logProbs and refLogProbs must have equal length, ` +
        `got ${logProbs.length} and ${refLogProbs.length}`,
    );
  }
  const fn = KL_SCALAR_ESTIMATORS[checkEstimator(estimator)];
  const out = new Float32Array(logProbs.length);
  for (let i = 0; i < logProbs.length; i++) out[i] = fn(logProbs[i]!, refLogProbs[i]!);
  return out;
}

/**
 * Exact KL(π ‖ π_ref) at every position from full next-token distributions:
 * Σ_v π(v)(log π(v) − log π_ref(v)), π = softmax(logits).
 *
 * Inputs may be logits or log-probabilities (log-softmax is applied, which leaves
 * log-probabilities unchanged).
 * @param logits policy logits, [B, T, V] (any rank; the last axis is the vocabulary).
 * @param refLogits reference logits, same shape.
 * @returns per-position KL, [B, T]; the caller disposes it.
 */
export function fullKl(logits: Tensor, refLogits: Tensor): Tensor {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits); // [B, T, V]
    const refLogProbs = tf.logSoftmax(refLogits); // [B, T, V]
    return tf.sum(tf.mul(tf.exp(logProbs), tf.sub(logProbs, refLogProbs)), -1); // [B, T]
  });
}

/**
 * {@link fullKl} on arrays of log-probabilities (or logits) laid out [N, V] row-major.
 * @param logProbs policy log-probs or logits, length N·V.
 * @param refLogProbs reference log-probs or logits, length N·V.
 * @param vocab V, the size of the last axis.
 * @returns KL per row, Float32Array [N].
 */
export function fullKlArray(
  logProbs: ArrayLike<number>,
  refLogProbs: ArrayLike<number>,
  vocab: number,
): Float32Array {
  if (logProbs.length !== refLogProbs.length || logProbs.length % vocab !== 0) {
    throw new RangeError(
      `logProbs and refLogProbs must have equal length divisible by vocab=${vocab}, ` +
        `got ${logProbs.length} and ${refLogProbs.length}`,
    );
  }
  const n = logProbs.length / vocab;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * vocab;
    const logZ = logSumExp(logProbs, o, vocab);
    const refLogZ = logSumExp(refLogProbs, o, vocab);
    let kl = 0;
    for (let v = 0; v < vocab; v++) {
      const logProb = logProbs[o + v]! - logZ;
      kl += Math.exp(logProb) * (logProb - (refLogProbs[o + v]! - refLogZ));
    }
    out[i] = kl;
  }
  return out;
}

/** log Σ exp(x[offset .. offset+n)), max-shifted for stability (`n`: the rest of `x`). */
export function logSumExp(x: ArrayLike<number>, offset = 0, n?: number): number {
  n ??= x.length - offset;
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[offset + i]!);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[offset + i]! - m);
  return m + Math.log(s);
}
