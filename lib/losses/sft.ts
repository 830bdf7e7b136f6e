/**
 * The supervised fine-tuning loss: masked token cross-entropy,
 *
 *   L = − Σ_{b,t} m_{b,t} · log π(y_{b,t} | y_{b,<t}) / Σ_{b,t} m_{b,t}
 *
 * (the negative log-likelihood per real token; perplexity is exp(L)).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor2D } from "../util/tensor_types.ts";

/**
 * Mean negative log-likelihood over the positions where `mask` is 1.
 * @param logProbs [B, T] log-probabilities of the target tokens.
 * @param mask [B, T] 1 for real targets, 0 for padding.
 * @returns a scalar; the caller disposes it.
 */
export function sftLoss(logProbs: Tensor2D, mask: Tensor2D): Scalar {
  return tf.tidy(() => {
    const n = tf.maximum(mask.sum(), 1);
    return logProbs.mul(mask).sum().neg().div(n) as Scalar;
  });
}
