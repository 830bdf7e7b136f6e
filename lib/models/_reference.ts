/**
 * Plain reference formulations of the model's fused or rewritten ops, kept only as what the
 * fast versions are tested against (private: not re-exported by `models/mod.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "../util/tensor_types.ts";

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GELU in its textbook tanh form, ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³): what
 * `gelu` (computed as x·σ(2u)) must match.
 */
export function geluTanh(x: Tensor): Tensor {
  return tf.tidy(() => {
    const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(GELU_C);
    return x.mul(0.5).mul(tf.tanh(inner).add(1));
  });
}

/**
 * The plain embedding formulation: one-hot(ids) · table. Costs N·V·D multiply-adds;
 * kept as the reference `embed` is tested against.
 * @param ids [N] int32.
 * @param table [V, D].
 * @returns [N, D]; the caller disposes it.
 */
export function embedOneHot(ids: Tensor1D, table: Tensor2D): Tensor2D {
  return tf.tidy(() => tf.matMul(tf.oneHot(ids, table.shape[0]).toFloat(), table));
}

/**
 * The plain formulation of `gatherLogProbs`: logsumexp and a one-hot product, left
 * to autodiff. Kept as the reference the fused op is tested against.
 * @param logits [B, T, V].
 * @param targets [B, T] int32.
 * @returns [B, T]; the caller disposes it.
 */
export function gatherLogProbsReference(logits: Tensor3D, targets: Tensor): Tensor2D {
  return tf.tidy(() => {
    const v = logits.shape[2];
    const lse = tf.logSumExp(logits, -1); // [B, T]
    const picked = logits.mul(tf.oneHot(targets.toInt(), v)).sum(-1); // [B, T]
    return picked.sub(lse) as Tensor2D;
  });
}
