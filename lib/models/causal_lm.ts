/**
 * The causal language model: the transformer trunk with a tied output embedding
 * (logits = h · Wteᵀ, as GPT-2 and nanoGPT), per-token log-probabilities of given
 * sequences, and batched sampling with a KV cache.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D, Tensor3D } from "../util/tensor_types.ts";
import { type ModelConfig, modelConfig } from "./config.ts";
import { cloneParams, disposeParams, type Params } from "./params.ts";
import { type ForwardOptions, initTrunkParams, Trunk } from "./transformer.ts";
import { type SampleOptions, type SampleResult, sampleWithCache } from "./sampling.ts";
import type { Rng } from "../util/rng.ts";

/** A GPT-style causal LM. Owns its parameters: call {@link CausalLM.dispose}. */
export class CausalLM {
  /** The transformer trunk; its parameters are the model's. */
  readonly trunk: Trunk;

  /** Wrap existing parameters (e.g. a checkpoint's); the model takes ownership of them. */
  constructor(config: ModelConfig, params: Params) {
    this.trunk = new Trunk(config, params);
  }

  /** A freshly initialised model (seeded; identical on every backend). */
  static create(config: Partial<ModelConfig>, seed: number): CausalLM {
    const cfg = modelConfig(config);
    return new CausalLM(cfg, initTrunkParams(cfg, seed));
  }

  /** The model's shape. */
  get config(): ModelConfig {
    return this.trunk.config;
  }

  /** Its trainable variables by name. */
  get params(): Params {
    return this.trunk.params;
  }

  /**
   * Next-token logits.
   * @param ids [B, T] int32.
   * @returns [B, T, V]; the caller disposes it.
   */
  logits(ids: Tensor2D, opts: ForwardOptions = {}): Tensor3D {
    const [b, t] = ids.shape;
    const { hidden } = this.trunk.forward(ids, opts);
    return tf.tidy(() => {
      const h2 = hidden.reshape([b * t, this.config.dModel]) as Tensor2D; // [B*T, D]
      const logits = tf.matMul(h2, this.trunk.p("wte"), false, true); // [B*T, V]
      hidden.dispose();
      return logits.reshape([b, t, this.config.vocabSize]) as Tensor3D;
    });
  }

  /**
   * Log-probability of each next token: out[b, t] = log π(tokens[b, t+1] | tokens[b, ≤t]).
   * Positions are not masked here; callers multiply by their mask.
   *
   * The target's logit is picked with a one-hot product instead of a gather so the
   * gradient exists on every backend.
   *
   * @param tokens [B, T+1] int32 (inputs are tokens[:, :T], targets tokens[:, 1:]).
   * @returns [B, T]; the caller disposes it.
   */
  tokenLogProbs(tokens: Tensor2D, opts: ForwardOptions = {}): Tensor2D {
    return tf.tidy(() => {
      const [b, t1] = tokens.shape;
      const t = t1 - 1;
      const inputs = tokens.slice([0, 0], [b, t]) as Tensor2D; // [B, T]
      const targets = tokens.slice([0, 1], [b, t]); // [B, T]
      const logits = this.logits(inputs, opts); // [B, T, V]
      return gatherLogProbs(logits, targets);
    });
  }

  /**
   * Sample continuations of `prompts` with a KV cache (see {@link sampleWithCache}).
   * @param prompts token ids per row, each starting with BOS.
   */
  sample(prompts: number[][], opts: SampleOptions, rng: Rng): Promise<SampleResult> {
    return sampleWithCache(this, prompts, opts, rng);
  }

  /** A copy with its own variables; frozen (not trainable) when `trainable` is false. */
  clone(trainable = true): CausalLM {
    return new CausalLM(this.config, cloneParams(this.params, trainable));
  }

  /** Free the parameters. */
  dispose(): void {
    disposeParams(this.params);
  }
}

/**
 * log softmax(logits)[target] = logit_target − logsumexp(logits), per position.
 *
 * Written as one op with its own gradient, ∂/∂logits = (onehot(target) − softmax) · dy,
 * so the backward pass is four element-wise passes over [B, T, V] instead of the autodiff
 * of logsumexp (whose max branch costs a broadcast comparison over [B, T, V]) and of a
 * one-hot product. `gatherLogProbsReference` in `_reference.ts` is the plain formulation
 * it must match.
 * Works on every backend (the forward gather has no gradient of its own to need).
 *
 * @param logits [B, T, V].
 * @param targets [B, T] int32.
 * @returns [B, T]; the caller disposes it.
 */
export function gatherLogProbs(logits: Tensor3D, targets: Tensor): Tensor2D {
  return tf.tidy(() => logProbOp(logits, targets.toInt()) as Tensor2D);
}

const logProbOp = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const [logits, targets, save] = args as [Tensor3D, Tensor, tf.GradSaveFunc];
  const [b, t, v] = logits.shape;
  const n = b * t;
  const flat = logits.reshape([n, v]); // [N, V]
  const lse = tf.logSumExp(flat, -1); // [N]
  const index = tf.range(0, n * v, v, "int32").add(targets.reshape([n])); // [N], into [N*V]
  const picked = tf.gather(flat.reshape([n * v]), index); // [N]
  save([logits, targets]);
  return {
    value: picked.sub(lse).reshape([b, t]), // [B, T]
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [x, tg] = saved as [Tensor3D, Tensor];
      const probs = tf.softmax(x.reshape([n, v])); // [N, V] (one XNNPACK kernel on wasm)
      const hot = tf.oneHot(tg.reshape([n]), v).toFloat(); // [N, V]
      const dLogits = hot.sub(probs).mul(dy.reshape([n, 1])); // [N, V]
      return [dLogits.reshape([b, t, v]), tf.zerosLike(tg)];
    },
  };
});
