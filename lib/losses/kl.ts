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

/** A per-token estimator on tensors: (logp, logq) of any equal shape → same shape. */
export type KlTensorFn = (logp: Tensor, logq: Tensor) => Tensor;
/** A per-token estimator on one pair of scalars. */
export type KlScalarFn = (logp: number, logq: number) => number;

/**
 * Tensor estimators keyed by name. Each takes log π(a) and log π_ref(a) (any shape, e.g.
 * [B, T]) and returns the per-token estimate of the same shape; the caller disposes it.
 */
export const KL_TENSOR_ESTIMATORS: Record<SampleKlEstimator, KlTensorFn> = {
  // k1 = logp − logq
  k1: (logp, logq) => tf.sub(logp, logq),
  // k2 = ½(logp − logq)²
  k2: (logp, logq) => tf.tidy(() => tf.mul(0.5, tf.square(tf.sub(logp, logq)))),
  // k3 = (r − 1) − log r = expm1(d) − d with d = logq − logp (expm1 keeps precision at d ≈ 0)
  k3: (logp, logq) =>
    tf.tidy(() => {
      const d = tf.sub(logq, logp);
      return tf.sub(tf.expm1(d), d);
    }),
};

/** Scalar estimators keyed by name (same formulas as {@link KL_TENSOR_ESTIMATORS}). */
export const KL_SCALAR_ESTIMATORS: Record<SampleKlEstimator, KlScalarFn> = {
  k1: (logp, logq) => logp - logq,
  k2: (logp, logq) => 0.5 * (logp - logq) ** 2,
  k3: (logp, logq) => {
    const d = logq - logp;
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
 * @param logp log π(a_t) of the sampled tokens, e.g. [B, T].
 * @param logq log π_ref(a_t), same shape.
 * @param estimator "k1" | "k2" | "k3".
 * @returns the estimate, same shape as `logp`; the caller disposes it.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { klPerToken } from "./kl.ts";
 * const k = klPerToken(tf.tensor1d([-1]), tf.tensor1d([-1]), "k3"); // [0]
 * k.dispose();
 * ```
 */
export function klPerToken(
  logp: Tensor,
  logq: Tensor,
  estimator: SampleKlEstimator,
): Tensor {
  return KL_TENSOR_ESTIMATORS[checkEstimator(estimator)](logp, logq);
}

/**
 * Per-token KL estimate on JavaScript arrays (rollout code).
 * @param logp log π(a) per token, flat (e.g. [B·T] row-major).
 * @param logq log π_ref(a), same length.
 * @returns a new Float32Array of the same length.
 */
export function klPerTokenArray(
  logp: ArrayLike<number>,
  logq: ArrayLike<number>,
  estimator: SampleKlEstimator,
): Float32Array {
  if (logp.length !== logq.length) {
    throw new RangeError(
      `logp and logq must have equal length, got ${logp.length} and ${logq.length}`,
    );
  }
  const fn = KL_SCALAR_ESTIMATORS[checkEstimator(estimator)];
  const out = new Float32Array(logp.length);
  for (let i = 0; i < logp.length; i++) out[i] = fn(logp[i]!, logq[i]!);
  return out;
}

/**
 * Exact KL(π ‖ π_ref) at every position from full next-token distributions:
 * Σ_v π(v)(log π(v) − log π_ref(v)), π = softmax(logits).
 *
 * Inputs may be logits or log-probabilities (log-softmax is applied, which leaves
 * log-probabilities unchanged).
 * @param logitsP policy logits, [B, T, V] (any rank; the last axis is the vocabulary).
 * @param logitsQ reference logits, same shape.
 * @returns per-position KL, [B, T]; the caller disposes it.
 */
export function fullKl(logitsP: Tensor, logitsQ: Tensor): Tensor {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(logitsP); // [B, T, V]
    const logQ = tf.logSoftmax(logitsQ); // [B, T, V]
    return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1); // [B, T]
  });
}

/**
 * {@link fullKl} on arrays of log-probabilities (or logits) laid out [N, V] row-major.
 * @param logP policy log-probs or logits, length N·V.
 * @param logQ reference log-probs or logits, length N·V.
 * @param vocab V, the size of the last axis.
 * @returns KL per row, Float32Array [N].
 */
export function fullKlArray(
  logP: ArrayLike<number>,
  logQ: ArrayLike<number>,
  vocab: number,
): Float32Array {
  if (logP.length !== logQ.length || logP.length % vocab !== 0) {
    throw new RangeError(
      `logP and logQ must have equal length divisible by vocab=${vocab}, got ${logP.length} and ${logQ.length}`,
    );
  }
  const n = logP.length / vocab;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * vocab;
    const lzP = logSumExp(logP, o, vocab);
    const lzQ = logSumExp(logQ, o, vocab);
    let kl = 0;
    for (let v = 0; v < vocab; v++) {
      const lp = logP[o + v]! - lzP;
      kl += Math.exp(lp) * (lp - (logQ[o + v]! - lzQ));
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
