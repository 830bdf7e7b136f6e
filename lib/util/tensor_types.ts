/**
 * The tensor types the kit's API takes and returns. Each is exactly the `@tensorflow/tfjs`
 * type of the same name; the kit names them itself so that its documentation covers every
 * type its signatures mention. Shapes are in each function's JSDoc (`[B, T, V]`).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** A tensor of any rank (`tf.Tensor`). */
export type Tensor = tf.Tensor;
/** A rank-0 tensor (`tf.Scalar`): a loss, a norm. */
export type Scalar = tf.Scalar;
/** A rank-1 tensor (`tf.Tensor1D`): one value per sequence, `[B]`. */
export type Tensor1D = tf.Tensor1D;
/** A rank-2 tensor (`tf.Tensor2D`): token ids or per-token values, `[B, T]`. */
export type Tensor2D = tf.Tensor2D;
/** A rank-3 tensor (`tf.Tensor3D`): per-token vectors such as logits, `[B, T, V]`. */
export type Tensor3D = tf.Tensor3D;
/** A rank-4 tensor (`tf.Tensor4D`): attention keys and values, `[B, H, T, hd]`. */
export type Tensor4D = tf.Tensor4D;
/** A trainable (or frozen) parameter tensor (`tf.Variable`). */
export type Variable = tf.Variable;
