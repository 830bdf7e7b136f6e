/**
 * The scalar-head transformer: the same trunk with a linear head giving one number per
 * position. The reward model reads it at the last real token of each sequence (Ziegler et
 * al. 2019, Ouyang et al. 2022); the value model uses every position.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "../util/tensor_types.ts";
import type { ModelConfig } from "./config.ts";
import { cloneParams, disposeParams, type Params } from "./params.ts";
import { type ForwardOptions, initParams, type ParamSpec, Trunk } from "./transformer.ts";
import type { CausalLM } from "./causal_lm.ts";

/** The head's parameters: w ~ N(0, 1/(D+1)) (the scale TRL's reward head uses), b = 0. */
export function headParamSpecs(cfg: ModelConfig): ParamSpec[] {
  return [
    { name: "head.w", shape: [cfg.dModel, 1], init: { std: 1 / Math.sqrt(cfg.dModel + 1) } },
    { name: "head.b", shape: [1], init: { fill: 0 } },
  ];
}

/** A transformer with a scalar head. Owns its parameters: call {@link ScalarModel.dispose}. */
export class ScalarModel {
  /** The transformer trunk (without the LM head). */
  readonly trunk: Trunk;

  /** Wrap existing parameters (trunk and `head.w`, `head.b`); the model takes ownership. */
  constructor(config: ModelConfig, params: Params) {
    if (!params.has("head.w") || !params.has("head.b")) {
      throw new Error("a scalar model needs head.w and head.b parameters");
    }
    this.trunk = new Trunk(config, params);
  }

  /**
   * Start from a language model's trunk (copied, so the LM is untouched) with a fresh head
   * (see {@link headParamSpecs}).
   */
  static fromLM(lm: CausalLM, seed: number): ScalarModel {
    const params = cloneParams(lm.params, true);
    for (const [name, v] of initParams(headParamSpecs(lm.config), seed)) params.set(name, v);
    return new ScalarModel(lm.config, params);
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
   * One number per position.
   * @param ids [B, T] int32.
   * @returns [B, T]; the caller disposes it.
   */
  scores(ids: Tensor2D, opts: ForwardOptions = {}): Tensor2D {
    const [b, t] = ids.shape;
    const { hidden } = this.trunk.forward(ids, opts);
    return tf.tidy(() => {
      const h2 = hidden.reshape([b * t, this.config.dModel]) as Tensor2D; // [B*T, D]
      const s = tf.fused.matMul({ a: h2, b: this.trunk.p("head.w"), bias: this.trunk.p("head.b") });
      hidden.dispose();
      return s.reshape([b, t]) as Tensor2D;
    });
  }

  /**
   * The score at one position per row — for a reward model, the last real token (the EOS
   * or the last generated token, never padding). A one-hot product picks it so the
   * gradient exists on every backend.
   * @param ids [B, T] int32.
   * @param lastIndex per row, the position to read (0 ≤ i < T).
   * @returns [B]; the caller disposes it.
   */
  scoreAt(ids: Tensor2D, lastIndex: ArrayLike<number>, opts: ForwardOptions = {}): Tensor1D {
    const [b, t] = ids.shape;
    if (lastIndex.length !== b) {
      throw new RangeError(`lastIndex has ${lastIndex.length} entries for a batch of ${b}`);
    }
    for (let i = 0; i < b; i++) {
      const li = lastIndex[i]!;
      if (!Number.isInteger(li) || li < 0 || li >= t) {
        throw new RangeError(`lastIndex[${i}] must be in [0, ${t}), got ${li}`);
      }
    }
    return tf.tidy(() => {
      const s = this.scores(ids, opts); // [B, T]
      const pick = tf.oneHot(tf.tensor1d(Array.from(lastIndex), "int32"), t); // [B, T]
      return s.mul(pick).sum(1) as Tensor1D;
    });
  }

  /** A copy with its own variables; frozen when `trainable` is false. */
  clone(trainable = true): ScalarModel {
    return new ScalarModel(this.config, cloneParams(this.params, trainable));
  }

  /** Free the parameters. */
  dispose(): void {
    disposeParams(this.params);
  }
}
