/**
 * Floating-point operations of the benchmark's workloads, counted from the model's matrix
 * products (a multiply-add is 2 FLOPs). Element-wise work (LayerNorm, GELU, softmax, the
 * AdamW update: O(parameters) per step) is left out: on the reference model it is under
 * 1% of the products.
 *
 * Per token, a forward pass multiplies by every weight matrix once,
 *
 *   N = L·(3D² + D² + 2·r·D²) + D·V      (qkv, attention out, the two MLP maps, tied head)
 *
 * (the embedding lookups are gathers, 0 FLOPs), and each layer's attention costs
 * 2·S·D for q·kᵀ and 2·S·D for att·v over the S positions it attends to. As written,
 * training computes the full T×T score matrix and masks it, so S = T for every query.
 * Backward costs twice the forward (a gradient for the input and one for the weight of
 * every product), so, after Kaplan et al. 2020 (C ≈ 6·N per token plus attention):
 *
 *   train step = B·T · (6·N + 12·L·T·D)
 *
 * Sampling with a KV cache runs the prompt once (P queries, each attending to P keys, the
 * head on the last position only), then one position per new token:
 *
 *   prefill = B·P·2·N_blocks + B·L·4·P²·D + B·2·D·V
 *   step k  = B·(2·N + 4·L·(P + k)·D),  k = 1 … n−1
 *
 * with N_blocks = N − D·V (n tokens are drawn from the prefill's and n−1 steps' logits).
 *
 * @module
 */
import type { ModelConfig } from "../../lib/models/config.ts";
import { trunkParamSpecs } from "../../lib/models/transformer.ts";
import type { Workload } from "./workloads.ts";

/** Weights of the transformer blocks' matrix products: L·(4 + 2r)·D². */
export function blockMatmulWeights(m: ModelConfig): number {
  const d = m.dModel;
  return m.nLayers * (4 + 2 * m.mlpRatio) * d * d;
}

/** N: weights every token's forward pass multiplies by, blocks plus the tied head D·V. */
export function matmulWeights(m: ModelConfig): number {
  return blockMatmulWeights(m) + m.dModel * m.vocabSize;
}

/**
 * Every trainable parameter of the causal LM (embeddings, biases, LayerNorm gains
 * included), counted from the same parameter list the model is built from.
 */
export function parameterCount(m: ModelConfig): number {
  return trunkParamSpecs(m).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** FLOPs of one training step (forward, backward) on B×T tokens: B·T·(6·N + 12·L·T·D). */
export function trainStepFlops(
  m: ModelConfig,
  w: Pick<Workload, "trainBatch" | "trainLength">,
): number {
  const t = w.trainLength;
  return w.trainBatch * t * (6 * matmulWeights(m) + 12 * m.nLayers * t * m.dModel);
}

/** FLOPs of sampling `newTokens` per row with the KV cache (prefill and steps; see above). */
export function samplingFlops(
  m: ModelConfig,
  w: Pick<Workload, "sampleBatch" | "promptLength" | "newTokens">,
): number {
  const { sampleBatch: b, promptLength: p, newTokens: n } = w;
  const d = m.dModel, l = m.nLayers;
  const head = 2 * d * m.vocabSize;
  let flops = b * p * 2 * blockMatmulWeights(m) + b * l * 4 * p * p * d + b * head;
  for (let k = 1; k < n; k++) flops += b * (2 * matmulWeights(m) + 4 * l * (p + k) * d);
  return flops;
}
