/**
 * Building blocks of the transformer as pure tensor functions: layer norm, GELU, a linear
 * map on flattened tokens, and the token embedding lookup.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor1D, Tensor2D } from "../util/tensor_types.ts";

/**
 * Layer normalisation (Ba et al. 2016): (x − μ) / √(σ² + ε) · g + b over the last axis.
 * @param x [..., D]
 */
export function layerNorm(x: Tensor, g: Tensor1D, b: Tensor1D, eps = 1e-5): Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).mul(tf.rsqrt(variance.add(eps))).mul(g).add(b);
  });
}

const GELU_C = Math.sqrt(2 / Math.PI);
/**
 * GELU, tanh approximation as in GPT-2 (Hendrycks & Gimpel 2016):
 * ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
 *
 * Computed as x·σ(2u), which is the same function (½(1 + tanh(u)) = σ(2u)): the wasm
 * backend runs sigmoid through XNNPACK but tanh through a scalar loop ~15× slower.
 * The textbook tanh form in `_reference.ts` is what it is tested against. Every backend
 * has sigmoid's gradient.
 */
export function gelu(x: Tensor): Tensor {
  return tf.tidy(() => {
    const twoU = x.mul(x).mul(0.044715 * 2 * GELU_C).add(2 * GELU_C).mul(x); // 2u
    return x.mul(tf.sigmoid(twoU));
  });
}

/** y = x·W + b on a [N, in] matrix (fused bias add where the backend has it). */
export function linear(x: Tensor2D, w: Tensor2D, b?: Tensor1D): Tensor2D {
  return tf.fused.matMul({ a: x, b: w, bias: b }) as Tensor2D;
}

/**
 * Embedding lookup with a gradient on every backend.
 *
 * `tf.gather`'s gradient needs UnsortedSegmentSum, which the wasm backend lacks, so the
 * lookup is a gather with a custom gradient: the table's gradient is the scatter-add of
 * the output gradient rows into their token ids (ScatterNd sums duplicate indices).
 * The one-hot product in `_reference.ts` is the plain formulation it must agree with.
 *
 * @param ids [N] int32 token ids.
 * @param table [V, D] embedding table.
 * @returns [N, D]; the caller disposes it.
 */
export function embed(ids: Tensor1D, table: Tensor2D): Tensor2D {
  return embedOp(table, ids) as Tensor2D;
}

const embedOp = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const [table, ids, save] = args as [Tensor2D, Tensor1D, tf.GradSaveFunc];
  save([ids]);
  const [v, d] = table.shape;
  return {
    value: tf.gather(table, ids), // [N, D]
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const savedIds = saved[0]!;
      const dTable = tf.scatterND(savedIds.reshape([-1, 1]), dy.reshape([-1, d]), [v, d]);
      return [dTable, tf.zerosLike(savedIds)];
    },
  };
});
