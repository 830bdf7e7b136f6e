/**
 * Model readouts on a {@link ResponseBatch}: per-token log-probabilities of the response,
 * their per-sequence sums, value estimates per position, and reward-model scores at the
 * last real token.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D, Tensor3D } from "../util/tensor_types.ts";
import { type CausalLM, gatherLogProbs } from "../models/causal_lm.ts";
import type { ScalarModel } from "../models/scalar_head.ts";
import type { ForwardOptions } from "../models/transformer.ts";
import type { ResponseBatch } from "../data/response_batch.ts";

/** The batch's tokens [B, T+1] and response mask [B, T] as tensors; the caller disposes them. */
export function batchTensors(batch: ResponseBatch): { tokens: Tensor2D; mask: Tensor2D } {
  return {
    tokens: tf.tensor2d(batch.tokens, [batch.batch, batch.length + 1], "int32"),
    mask: tf.tensor2d(batch.mask, [batch.batch, batch.length]),
  };
}

/**
 * Next-token logits of the tempered model π_τ = softmax(logits/τ), the distribution a
 * sampler at temperature τ draws from (TRL divides the logits the same way wherever the
 * policy's log-probabilities stand for its samples). At τ = 1 the logits are returned as
 * they are, so results without a temperature are bit for bit unchanged.
 * @param ids [B, T] int32.
 * @returns [B, T, V]; the caller disposes it.
 */
export function temperedLogits(
  model: CausalLM,
  ids: Tensor2D,
  temperature: number,
  opts: ForwardOptions = {},
): Tensor3D {
  if (temperature === 1) return model.logits(ids, opts);
  return tf.tidy(() => tf.div(model.logits(ids, opts), temperature) as Tensor3D);
}

/**
 * log π_τ(tokens[t+1] | tokens[≤t]) at response positions, 0 elsewhere, at temperature
 * τ = `temperature` (default 1: the model as it is; see {@link temperedLogits}).
 * @returns [B, T]; the caller disposes it.
 */
export function responseLogProbs(
  model: CausalLM,
  tokens: Tensor2D,
  mask: Tensor2D,
  opts: ForwardOptions = {},
  temperature = 1,
): Tensor2D {
  if (temperature === 1) return tf.tidy(() => model.tokenLogProbs(tokens, opts).mul(mask));
  return tf.tidy(() => {
    const [b, t1] = tokens.shape; // [B, T+1]
    const inputs = tokens.slice([0, 0], [b, t1 - 1]) as Tensor2D; // [B, T]
    const targets = tokens.slice([0, 1], [b, t1 - 1]); // [B, T]
    return gatherLogProbs(temperedLogits(model, inputs, temperature, opts), targets).mul(mask);
  });
}

/**
 * Σ_t log π(y_t | x, y_<t) over each row's response.
 * @returns [B]; the caller disposes it.
 */
export function sequenceLogProbs(
  model: CausalLM,
  tokens: Tensor2D,
  mask: Tensor2D,
  opts: ForwardOptions = {},
): Tensor1D {
  return tf.tidy(() => responseLogProbs(model, tokens, mask, opts).sum(1) as Tensor1D);
}

/**
 * Value estimates V(x, y_<t+1) at every predicted position t: the scalar head on
 * tokens[:, :T], aligned with the response mask.
 * @returns [B, T]; the caller disposes it.
 */
export function responseValues(
  value: ScalarModel,
  tokens: Tensor2D,
  opts: ForwardOptions = {},
): Tensor2D {
  return tf.tidy(() => {
    const [b, t1] = tokens.shape; // [B, T+1]
    return value.scores(tokens.slice([0, 0], [b, t1 - 1]) as Tensor2D, opts);
  });
}

/** Per-row sequence log-probabilities of a whole batch, in chunks (no gradient). */
export async function sequenceLogProbsOf(
  model: CausalLM,
  batch: ResponseBatch,
): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const { tokens, mask } = batchTensors(batch);
    return sequenceLogProbs(model, tokens, mask);
  });
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

/** Reward-model scores at each row's last real token (no gradient). */
export async function rewardScoresOf(rm: ScalarModel, batch: ResponseBatch): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const tokens = tf.tensor2d(batch.tokens, [batch.batch, batch.length + 1], "int32");
    return rm.scoreAt(tokens, batch.lastToken);
  });
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}
