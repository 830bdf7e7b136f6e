/**
 * AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization") with
 * global-norm gradient clipping (Pascanu et al. 2013), as nanoGPT and TRL train.
 *
 *   g ← g · min(1, c / ‖g‖₂)
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
 *   θ ← θ − lr · ( m̂ / (√v̂ + ε) + λθ ),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
 *
 * Weight decay applies to matrices only (rank ≥ 2), not to gains and biases, as nanoGPT.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Variable } from "../util/tensor_types.ts";
import { ownedVariable, type Params } from "../models/params.ts";

/** AdamW hyper-parameters. */
export interface AdamWOptions {
  /** Decay rate of the first moment (β₁, default 0.9). */
  beta1?: number;
  /** Decay rate of the second moment (β₂, default 0.95, as nanoGPT). */
  beta2?: number;
  /** ε in the denominator (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay λ on matrices (default 0). */
  weightDecay?: number;
  /** Clip the global gradient norm to this (0 or Infinity: off). */
  gradClip?: number;
}

/** AdamW over a fixed set of named variables. Owns its moment buffers: call `dispose`. */
export class AdamW {
  /** β₁. */
  readonly beta1: number;
  /** β₂. */
  readonly beta2: number;
  /** ε. */
  readonly eps: number;
  /** Weight decay λ. */
  readonly weightDecay: number;
  /** Global gradient-norm clip c (0: off). */
  readonly gradClip: number;
  #t = 0;
  #m = new Map<string, Variable>();
  #v = new Map<string, Variable>();

  /** An optimiser for `params` (updated in place) with zeroed moments. */
  constructor(readonly params: Params, opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.gradClip = opts.gradClip ?? 0;
    for (const [name, p] of params) {
      this.#m.set(name, ownedVariable(tf.zerosLike(p), false));
      this.#v.set(name, ownedVariable(tf.zerosLike(p), false));
    }
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#t;
  }

  /**
   * Apply one update from `grads` (keyed by variable name, as `tf.variableGrads` returns).
   * @returns the global gradient norm before clipping; the caller disposes it.
   */
  apply(grads: Record<string, Tensor>, lr: number): Scalar {
    this.#t++;
    const t = this.#t;
    return tf.tidy(() => {
      const list: [string, Variable, Tensor][] = [];
      for (const [name, p] of this.params) {
        const g = grads[p.name];
        if (g) list.push([name, p, g]);
      }
      const norm = tf.sqrt(tf.addN(list.map(([, , g]) => tf.sum(tf.square(g))))) as Scalar;
      const scale = this.gradClip > 0 && Number.isFinite(this.gradClip)
        ? tf.minimum(1, tf.div(this.gradClip, norm.add(1e-6)))
        : tf.scalar(1);
      const bc1 = 1 - this.beta1 ** t, bc2 = 1 - this.beta2 ** t;
      for (const [name, p, g0] of list) {
        const g = g0.mul(scale);
        const m = this.#m.get(name)!, v = this.#v.get(name)!;
        m.assign(m.mul(this.beta1).add(g.mul(1 - this.beta1)));
        v.assign(v.mul(this.beta2).add(g.square().mul(1 - this.beta2)));
        let update = m.div(bc1).div(v.div(bc2).sqrt().add(this.eps));
        if (this.weightDecay > 0 && p.rank >= 2) update = update.add(p.mul(this.weightDecay));
        p.assign(p.sub(update.mul(lr)));
      }
      return norm;
    });
  }

  /** Free the moment buffers. */
  dispose(): void {
    for (const x of [...this.#m.values(), ...this.#v.values()]) x.dispose();
    this.#m.clear();
    this.#v.clear();
  }
}

/**
 * Evaluate `lossFn`, back-propagate into `params` and apply one AdamW step.
 * @returns the loss and the pre-clip gradient norm; the caller disposes both.
 */
export function optimiserStep(
  opt: AdamW,
  lossFn: () => Scalar,
  lr: number,
): { loss: Scalar; gradNorm: Scalar } {
  const vars = [...opt.params.values()].filter((v) => v.trainable);
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const gradNorm = opt.apply(grads, lr);
  tf.dispose(grads);
  return { loss: value, gradNorm };
}
