/**
 * The Bradley–Terry reward-model loss: pure tensor math on the scalar rewards a reward
 * model assigns to the chosen and rejected completion of each pair.
 *
 *     loss = mean_b[ −log σ(r_c − r_r − m) ]  +  η · mean_b[ (r_c + r_r)² ]
 *
 * The first term is the negative log-likelihood of the labels under Bradley–Terry
 * (Stiennon et al. 2020, "Learning to summarize from human feedback", eq. 1; Ouyang et al.
 * 2022, "Training language models to follow instructions with human feedback", eq. 1,
 * which averages it over all K(K−1)/2 pairs of a ranking). The optional margin m (per pair
 * or shared) demands that chosen beat rejected by at least m, as in Llama 2 (Touvron et al.
 * 2023, eq. 2). The centring term with coefficient η (Eisenstein et al. 2023, "Helping or
 * Herding? Reward Model Ensembles Mitigate but do not Eliminate Reward Hacking"; TRL's
 * `center_rewards_coefficient`) pins the free additive constant of the rewards near zero,
 * which the Bradley–Terry term alone leaves undetermined.
 *
 * −log σ(x) is computed as softplus(−x), stable for large |x| (tf.logSigmoid's gradient
 * is broken in tfjs 4.22).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor1D } from "../util/tensor_types.ts";
import { ConfigError, show } from "../util/errors.ts";
import { checkField } from "../util/schema.ts";

/** Inputs of {@link bradleyTerryLoss}; tensors are not disposed by it. */
export interface BradleyTerryLossArgs {
  /** r(x, y_w): reward of each chosen completion, [B]. */
  rewardChosen: Tensor1D;
  /** r(x, y_l): reward of each rejected completion, [B]. */
  rewardRejected: Tensor1D;
  /** Required reward margin m: a number or one per pair [B]; default 0. */
  margin?: number | Tensor1D;
  /** Centring coefficient η ≥ 0; default 0 (off). TRL suggests 0.01. */
  centringCoef?: number;
}

/**
 * Outputs of {@link bradleyTerryLoss}; the caller disposes every tensor (a type alias, not
 * an interface, so `tf.dispose(result)` accepts it).
 */
export type BradleyTerryLossResult = {
  /** The loss above, scalar; differentiable in both reward tensors. */
  loss: Scalar;
  /**
   * mean_b[ 1{r_c > r_r} + ½·1{r_c = r_r} ], scalar. Ties count half, like p_correct in
   * lib/data/annotator_p_correct.ts, so this accuracy is comparable to the Bayes ceiling.
   */
  accuracy: Scalar;
  /** mean_b[ r_c − r_r ], scalar (the reward margin, without m). */
  margin: Scalar;
};

/**
 * Bradley–Terry reward-model loss with optional margin and centring (formula in the module
 * doc).
 * @returns loss, accuracy and margin scalars; the caller disposes them.
 * @throws ConfigError when the reward tensors are not rank 1 of one shape, the margin
 *   tensor's shape differs, or centringCoef is negative.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { bradleyTerryLoss } from "./reward.ts";
 * const out = bradleyTerryLoss({ rewardChosen: tf.tensor1d([0]), rewardRejected: tf.tensor1d([0]) });
 * if (Math.abs(out.loss.dataSync()[0]! - Math.LN2) > 1e-6) throw new Error(); // −log σ(0)
 * tf.dispose(out);
 * ```
 */
export function bradleyTerryLoss(args: BradleyTerryLossArgs): BradleyTerryLossResult {
  const { rewardChosen, rewardRejected, margin = 0, centringCoef = 0 } = args;
  if (rewardChosen.rank !== 1 || !sameShape(rewardChosen, rewardRejected)) {
    throw new ConfigError(
      `rewardChosen and rewardRejected must both be [B], got ${show(rewardChosen.shape)} ` +
        `and ${show(rewardRejected.shape)}`,
    );
  }
  if (typeof margin !== "number" && !sameShape(margin, rewardChosen)) {
    throw new ConfigError(
      `margin must be a number or [B] = ${show(rewardChosen.shape)}, got ${show(margin.shape)}`,
    );
  }
  if (typeof margin === "number") checkField("margin", margin, { type: "number", doc: "margin" });
  checkField("centringCoef", centringCoef, { type: "number", min: 0, doc: "centring η" });

  return tf.tidy(() => {
    const diff = tf.sub(rewardChosen, rewardRejected); // r_c − r_r, [B]
    const nll = tf.mean(tf.softplus(tf.neg(tf.sub(diff, margin)))); // −log σ(diff − m)
    const loss = centringCoef > 0
      ? tf.add(nll, tf.mul(centringCoef, tf.mean(tf.square(tf.add(rewardChosen, rewardRejected)))))
      : nll;
    const accuracy = tf.mean(tf.mul(tf.add(tf.sign(diff), 1), 0.5)); // 1, ½, 0 per pair
    return {
      loss: loss as Scalar,
      accuracy: accuracy as Scalar,
      margin: tf.mean(diff) as Scalar,
    };
  });
}

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
}
