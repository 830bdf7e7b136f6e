/**
 * KTO, Kahneman–Tversky Optimisation (Ethayarajh et al. 2024, "KTO: Model Alignment as
 * Prospect Theoretic Optimization", arXiv:2402.01306, eq. 7–8): learns from single
 * completions labelled desirable or undesirable, no pairs.
 *
 *     r_θ(x, y) = log π_θ(y|x) − log π_ref(y|x)
 *     z0        = max(0, mean_j [log π_θ(y'_j|x_j) − log π_ref(y'_j|x_j)])   (no gradient)
 *     loss(x,y) = λ_D·(1 − σ(β·(r_θ − z0)))   if y is desirable
 *               = λ_U·(1 − σ(β·(z0 − r_θ)))   if y is undesirable
 *
 * averaged over the batch. z0 is the reference point: the paper's KL(π_θ‖π_ref),
 * estimated as in the paper and TRL from *mismatched* prompt–completion pairs (x_j, y'_j)
 * of the same batch (y'_j written for another prompt), clamped at 0 and detached so no
 * gradient flows through it. The paper advises λ_D·n_D / (λ_U·n_U) ∈ [1, 4/3].
 *
 * The optimum is not π*_β: each term saturates (σ flattens far from z0), so KTO's policy
 * maximises a bounded "human value" of the implied reward rather than r − β·KL; the
 * token-level exact task measures how far it lands (tests/token_task_test.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor1D } from "../util/tensor_types.ts";
import { ConfigError } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";

/** Inputs of {@link ktoLoss}; tensors are not disposed by the loss. */
export interface KtoLossArgs {
  /** Summed log π_θ(y|x) of each completion, [B]; differentiable. */
  policyLogProbs: Tensor1D;
  /** Summed log π_ref(y|x), [B]. */
  refLogProbs: Tensor1D;
  /** 1 where the completion is desirable, 0 where undesirable, [B]. */
  desirable: Tensor1D;
  /** Summed log π_θ(y'|x) of the mismatched pairs, [M]; never differentiated. */
  klPolicyLogProbs: Tensor1D;
  /** Summed log π_ref(y'|x) of the mismatched pairs, [M]. */
  klRefLogProbs: Tensor1D;
  /** β > 0. */
  beta: number;
  /** λ_D, weight of desirable examples; default 1. */
  desirableWeight?: number;
  /** λ_U, weight of undesirable examples; default 1. */
  undesirableWeight?: number;
}

/** Outputs of {@link ktoLoss}; the caller disposes every tensor. */
export interface KtoLossResult {
  /** Per-completion loss, [B]. */
  losses: Tensor1D;
  /** Mean of `losses`; differentiable. */
  loss: Scalar;
  /** The reference point z0 (detached). */
  z0: Scalar;
  /** Implicit rewards β·r_θ, [B]. */
  rewards: Tensor1D;
}

/** Identity forward, zero gradient: torch's `.detach()`, which tfjs lacks. */
const stopGradient = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as Tensor;
  return { value: x.clone(), gradFunc: (dy: Tensor) => tf.zerosLike(dy) };
});

/**
 * The KTO loss (formula in the module doc).
 * @throws ConfigError for a bad β or weight, or inputs of mismatched shapes.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ktoLoss } from "./kto.ts";
 * const x = tf.tensor1d([-3, -5]);
 * const out = ktoLoss({
 *   policyLogProbs: x, refLogProbs: x, desirable: tf.tensor1d([1, 0]),
 *   klPolicyLogProbs: x, klRefLogProbs: x, beta: 0.1,
 * }); // policy = reference: every loss is λ·(1 − σ(0)) = 0.5
 * tf.dispose([x, ...Object.values(out)]);
 * ```
 */
export function ktoLoss(args: KtoLossArgs): KtoLossResult {
  const beta = checkField("kto.beta", args.beta, { type: "number", gt: 0, doc: "KTO β" }) as number;
  const weightSpec = { type: "number", min: 0, doc: "class weight" } as const;
  const lambdaD = checkField(
    "kto.desirableWeight",
    args.desirableWeight ?? 1,
    weightSpec,
  ) as number;
  const lambdaU = checkField(
    "kto.undesirableWeight",
    args.undesirableWeight ?? 1,
    weightSpec,
  ) as number;
  const { policyLogProbs, refLogProbs, desirable, klPolicyLogProbs, klRefLogProbs } = args;
  const b = policyLogProbs.shape[0];
  for (const [name, t] of [["refLogProbs", refLogProbs], ["desirable", desirable]] as const) {
    if (t.rank !== 1 || t.shape[0] !== b) {
      throw new ConfigError(`kto.${name} must have shape [${b}], got [${t.shape.join(", ")}]`);
    }
  }
  if (
    klPolicyLogProbs.rank !== 1 || !tf.util.arraysEqual(klPolicyLogProbs.shape, klRefLogProbs.shape)
  ) {
    throw new ConfigError(
      `kto.klPolicyLogProbs and kto.klRefLogProbs must be [M] of equal length, got ` +
        `[${klPolicyLogProbs.shape.join(", ")}] and [${klRefLogProbs.shape.join(", ")}]`,
    );
  }
  return tf.tidy(() => {
    const z0 = tf.maximum(
      tf.mean(tf.sub(stopGradient(klPolicyLogProbs) as Tensor1D, klRefLogProbs)),
      0,
    ) as Scalar;
    const logRatio = tf.sub(policyLogProbs, refLogProbs); // [B]: r_θ
    const u = tf.mul(beta, tf.sub(logRatio, z0)); // [B]: β(r_θ − z0)
    const desirableLoss = tf.mul(lambdaD, tf.sigmoid(tf.neg(u))); // 1 − σ(u) = σ(−u)
    const undesirableLoss = tf.mul(lambdaU, tf.sigmoid(u)); // 1 − σ(−u) = σ(u)
    const losses: Tensor1D = tf.add(
      tf.mul(desirable, desirableLoss),
      tf.mul(tf.sub(1, desirable), undesirableLoss),
    );
    return {
      losses,
      loss: tf.mean<Scalar>(losses),
      z0,
      rewards: tf.mul<Tensor1D>(beta, logRatio),
    };
  });
}
