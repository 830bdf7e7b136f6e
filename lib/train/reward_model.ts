/**
 * Reward-model training on preference pairs with the Bradley–Terry loss
 * −log σ(r(x, y_w) − r(x, y_l) − m) (+ optional centring), as in Stiennon et al. 2020 and
 * Ouyang et al. 2022. Chosen and rejected share one forward pass. Same loop conventions as
 * SFT: progress, metric rows, validation accuracy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor1D } from "../util/tensor_types.ts";
import type { ScalarModel } from "../models/scalar_head.ts";
import { pairBatch, type TokenPair } from "../data/response_batch.ts";
import { shuffledIndexBatches } from "../data/lm_batches.ts";
import { bradleyTerryLoss } from "../losses/reward.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { LOOP_CONFIG_SCHEMA, type LoopConfig } from "./loop_config.ts";
import { runLoop } from "./loop.ts";
import { type MetricRow, readScalars, type RowSink } from "./metrics.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { ConfigError } from "../util/errors.ts";

/** Reward-model hyper-parameters. */
export interface RewardModelConfig extends LoopConfig {
  /** Required margin m in the Bradley–Terry loss (0: none). */
  margin: number;
  /** Centring coefficient η on (r_w + r_l)² (0: off; TRL suggests 0.01). */
  centringCoef: number;
}

/** Field specs for {@link RewardModelConfig}. */
export const REWARD_MODEL_SCHEMA: Schema<RewardModelConfig> = {
  ...LOOP_CONFIG_SCHEMA,
  margin: { type: "number", min: 0, doc: "Bradley–Terry margin m" },
  centringCoef: { type: "number", min: 0, doc: "reward centring coefficient η" },
};

/** Defaults for the canonical task. */
export const REWARD_MODEL_DEFAULTS: RewardModelConfig = {
  steps: 300,
  batchSize: 32,
  lr: 1e-3,
  minLr: 1e-4,
  warmupSteps: 20,
  weightDecay: 0.01,
  gradClip: 1,
  evalEvery: 100,
  logEvery: 10,
  seed: 0,
  margin: 0,
  centringCoef: 0.01,
};

/** Validate a reward-model config over {@link REWARD_MODEL_DEFAULTS}. */
export function rewardModelConfig(
  overrides: Partial<RewardModelConfig> = {},
  section = "rm",
): RewardModelConfig {
  return resolveConfig(section, REWARD_MODEL_SCHEMA, REWARD_MODEL_DEFAULTS, overrides);
}

/** Inputs of {@link trainRewardModel}. */
export interface RewardModelRun {
  /** The scalar-head model to train, in place. */
  model: ScalarModel;
  /** Training pairs. */
  train: readonly TokenPair[];
  /** Held-out pairs, for validation loss and accuracy. */
  val?: readonly TokenPair[];
  /** Hyper-parameters (see {@link rewardModelConfig}). */
  config: RewardModelConfig;
  /** Receives each metric row as it is logged. */
  onRow?: RowSink;
  /** Label of the progress bar; `false` silences it. */
  progress?: string | false;
}

/** Rows, and final train and held-out accuracies. */
export interface RewardModelResult {
  /** Every logged row. */
  rows: MetricRow[];
  /** Fraction of training pairs with r(x, y_w) > r(x, y_l) after training. */
  trainAccuracy: number;
  /** The same on the held-out pairs, when given. */
  valAccuracy?: number;
}

/** r(x, y_w) and r(x, y_l) of a batch of pairs: [B] each; the caller disposes them. */
export function pairRewards(
  model: ScalarModel,
  pairs: readonly TokenPair[],
  training = false,
  dropoutSeed = 0,
): { chosen: Tensor1D; rejected: Tensor1D } {
  const batch = pairBatch(pairs, model.config.context);
  return tf.tidy(() => {
    const tokens = tf.tensor2d(batch.tokens, [batch.batch, batch.length + 1], "int32");
    const r = model.scoreAt(tokens, batch.lastToken, { training, dropoutSeed }); // [2B]
    const [chosen, rejected] = tf.split(r, 2) as [Tensor1D, Tensor1D];
    return { chosen, rejected };
  });
}

/**
 * Fraction of untied pairs the model orders like the label, a pair it scores equally
 * counting half (like the annotators' p_correct, so it is comparable to the Bayes
 * ceiling). Pairs labelled a tie are left out: they have no order to agree with. NaN
 * without untied pairs.
 */
export async function pairAccuracy(
  model: ScalarModel,
  allPairs: readonly TokenPair[],
  batchSize = 64,
): Promise<number> {
  const pairs = untied(allPairs);
  let correct = 0;
  for (let i = 0; i < pairs.length; i += batchSize) {
    const { chosen, rejected } = pairRewards(model, pairs.slice(i, i + batchSize));
    const [c, r] = [await chosen.data(), await rejected.data()];
    tf.dispose([chosen, rejected]);
    for (let j = 0; j < c.length; j++) correct += c[j]! > r[j]! ? 1 : c[j] === r[j] ? 0.5 : 0;
  }
  return pairs.length ? correct / pairs.length : NaN;
}

/**
 * Train `model` in place on labelled pairs. Pairs labelled a tie are skipped (the
 * Bradley–Terry likelihood has no tie outcome; TRL's reward trainer has none either, and
 * binarised preference sets drop ties), so training and accuracies see untied pairs only.
 * @throws ConfigError when no training pair is untied.
 */
export async function trainRewardModel(run: RewardModelRun): Promise<RewardModelResult> {
  const { model, config: c } = run;
  const train = untied(run.train);
  if (train.length === 0) {
    throw new ConfigError("trainRewardModel needs at least one untied training pair, got 0");
  }
  const val = run.val ? untied(run.val) : [];
  const batches = shuffledIndexBatches(train.length, c.batchSize, new Rng(c.seed));
  const nextBatch = (): TokenPair[] => (batches.next().value as number[]).map((i) => train[i]!);
  const opt = new AdamW(model.params, { weightDecay: c.weightDecay, gradClip: c.gradClip });
  let valAccuracy: number | undefined;
  try {
    const rows = await runLoop({
      config: c,
      label: run.progress ?? "reward model",
      onRow: run.onRow,
      show: "rm/accuracy",
      step: async (step, lr) => {
        const pairs = nextBatch();
        let acc: Scalar | undefined, margin: Scalar | undefined;
        const { loss, gradNorm } = optimiserStep(opt, () => {
          const r = pairRewards(model, pairs, true, c.seed * 100003 + step);
          const out = bradleyTerryLoss({
            rewardChosen: r.chosen,
            rewardRejected: r.rejected,
            margin: c.margin,
            centringCoef: c.centringCoef,
          });
          acc = tf.keep(out.accuracy);
          margin = tf.keep(out.margin);
          return out.loss;
        }, lr);
        const metrics = await readScalars({
          "loss/rm": loss,
          "rm/accuracy": acc!,
          "rm/margin": margin!,
          "train/grad_norm": gradNorm,
        });
        return { metrics };
      },
      evaluate: async () => {
        if (!val.length) return undefined;
        valAccuracy = await pairAccuracy(model, val);
        return { "val/accuracy": valAccuracy };
      },
    });
    const trainAccuracy = await pairAccuracy(model, train);
    return { rows, trainAccuracy, valAccuracy };
  } finally {
    opt.dispose();
  }
}

/** The pairs that state a preference (the same array when none is a tie). */
function untied(pairs: readonly TokenPair[]): readonly TokenPair[] {
  return pairs.some((p) => p.tie) ? pairs.filter((p) => !p.tie) : pairs;
}
