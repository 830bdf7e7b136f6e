/**
 * Direct preference optimisation and its relatives (IPO, hinge/SLiC, SimPO) on a causal
 * LM: the reference log-probabilities are computed once and cached with the dataset;
 * chosen and rejected go through the policy in one concatenated forward pass; metric rows
 * carry the implicit rewards (rewards/chosen = β·(log π − log π_ref)(y_w), …).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor1D } from "../util/tensor_types.ts";
import type { CausalLM } from "../models/causal_lm.ts";
import { pairBatch, type TokenPair } from "../data/response_batch.ts";
import { shuffledIndexBatches } from "../data/lm_batches.ts";
import { DPO_LOSS_NAMES, dpoLoss, type DpoLossName } from "../losses/dpo.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { LOOP_CONFIG_SCHEMA, type LoopConfig } from "./loop_config.ts";
import { runLoop } from "./loop.ts";
import { type MetricRow, readScalars, type RowSink } from "./metrics.ts";
import { batchTensors, sequenceLogProbs, sequenceLogProbsOf } from "./response_log_probs.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";

/** DPO-family hyper-parameters. */
export interface DpoConfig extends LoopConfig {
  /** β: strength of the implicit KL regulariser. */
  beta: number;
  /** Which loss of the family. */
  lossType: DpoLossName;
  /** ε of conservative DPO (probability a label is flipped). */
  labelSmoothing: number;
  /** Average log-probs over tokens (TRL's IPO) instead of summing (the DPO reference code). */
  lengthNormalise: boolean;
  /** SimPO's target margin γ. */
  simpoGamma: number;
}

/** Field specs for {@link DpoConfig}. */
export const DPO_CONFIG_SCHEMA: Schema<DpoConfig> = {
  ...LOOP_CONFIG_SCHEMA,
  beta: { type: "number", gt: 0, doc: "KL coefficient β" },
  lossType: { type: "enum", values: DPO_LOSS_NAMES, doc: "loss of the DPO family" },
  labelSmoothing: { type: "number", min: 0, lt: 0.5, doc: "label smoothing ε (cDPO)" },
  lengthNormalise: { type: "boolean", doc: "token-average log-probs (TRL's IPO)" },
  simpoGamma: { type: "number", min: 0, doc: "SimPO target margin γ" },
};

/** Defaults for the canonical task. */
export const DPO_DEFAULTS: DpoConfig = {
  steps: 200,
  batchSize: 32,
  lr: 5e-4,
  minLr: 5e-5,
  warmupSteps: 10,
  weightDecay: 0,
  gradClip: 1,
  evalEvery: 0,
  logEvery: 10,
  seed: 0,
  beta: 0.1,
  lossType: "dpo",
  labelSmoothing: 0,
  lengthNormalise: false,
  simpoGamma: 0.5,
};

/** Validate a DPO config over {@link DPO_DEFAULTS}. */
export function dpoConfig(overrides: Partial<DpoConfig> = {}, section = "dpo"): DpoConfig {
  return resolveConfig(section, DPO_CONFIG_SCHEMA, DPO_DEFAULTS, overrides);
}

/** Pairs with their cached reference log-probabilities. */
export interface RefCachedPairs {
  /** The pairs, in the order of the cached log-probabilities. */
  pairs: readonly TokenPair[];
  /** Σ log π_ref(y_w | x) per pair. */
  refChosen: Float32Array;
  /** Σ log π_ref(y_l | x) per pair. */
  refRejected: Float32Array;
}

/** Compute the reference log-probabilities of every pair once (no gradient). */
export async function cacheReferenceLogProbs(
  ref: CausalLM,
  pairs: readonly TokenPair[],
  batchSize = 64,
): Promise<RefCachedPairs> {
  const refChosen = new Float32Array(pairs.length);
  const refRejected = new Float32Array(pairs.length);
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize);
    const logProbs = await sequenceLogProbsOf(ref, pairBatch(chunk, ref.config.context)); // [2b]
    refChosen.set(logProbs.subarray(0, chunk.length), i);
    refRejected.set(logProbs.subarray(chunk.length), i);
  }
  return { pairs, refChosen, refRejected };
}

/** Inputs of {@link trainDpo}. */
export interface DpoRun {
  /** The policy to train, in place (starts as a copy of the reference). */
  policy: CausalLM;
  /** The frozen reference (the SFT model); read once to fill the cache. */
  ref: CausalLM;
  /** Training pairs. */
  train: readonly TokenPair[];
  /** Held-out pairs, for validation loss and accuracy. */
  val?: readonly TokenPair[];
  /** Hyper-parameters (see {@link dpoConfig}). */
  config: DpoConfig;
  /** Extra evaluation at evaluation steps (gold reward, KL of samples). */
  evaluate?: (step: number) => Promise<Record<string, number>>;
  /** Receives each metric row as it is logged. */
  onRow?: RowSink;
  /** Label of the progress bar; `false` silences it. */
  progress?: string | false;
  /** Called after every step whose metrics were finite (see `LoopSpec.afterStep`). */
  afterStep?: (stepsDone: number) => Promise<void> | void;
}

/** The loss and implicit-reward metrics of one batch under `policy`. */
function batchLoss(
  policy: CausalLM,
  data: RefCachedPairs,
  idx: readonly number[],
  c: DpoConfig,
  training: boolean,
  dropoutSeed: number,
) {
  const pairs = idx.map((i) => data.pairs[i]!);
  const batch = pairBatch(pairs, policy.config.context);
  return tf.tidy(() => {
    const { tokens, mask } = batchTensors(batch);
    const logProbs = sequenceLogProbs(policy, tokens, mask, { training, dropoutSeed }); // [2B]
    const [policyChosen, policyRejected] = tf.split(logProbs, 2) as [Tensor1D, Tensor1D];
    const lengths = tf.tensor1d(batch.responseLengths, "float32");
    const [chosenLengths, rejectedLengths] = tf.split(lengths, 2) as [Tensor1D, Tensor1D];
    const out = dpoLoss({
      policyChosen,
      policyRejected,
      refChosen: tf.tensor1d(idx.map((i) => data.refChosen[i]!)),
      refRejected: tf.tensor1d(idx.map((i) => data.refRejected[i]!)),
      beta: c.beta,
      lossType: c.lossType,
      labelSmoothing: c.labelSmoothing,
      lengthNormalise: c.lengthNormalise,
      chosenLengths,
      rejectedLengths,
      simpoGamma: c.simpoGamma,
    });
    return {
      ...out,
      chosenLogProbs: policyChosen.mean() as Scalar,
      rejectedLogProbs: policyRejected.mean() as Scalar,
      tokens: batch.responseLengths.reduce((a, n) => a + n, 0),
    };
  });
}

/** Held-out preference accuracy of the implicit reward (ties count half). */
export async function implicitRewardAccuracy(
  policy: CausalLM,
  data: RefCachedPairs,
  c: DpoConfig,
  batchSize = 64,
): Promise<number> {
  let correct = 0;
  for (let i = 0; i < data.pairs.length; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.pairs.length - i) }, (_, j) => i + j);
    const out = batchLoss(policy, data, idx, c, false, 0);
    const [ch, rj] = [await out.chosenRewards.data(), await out.rejectedRewards.data()];
    for (let j = 0; j < ch.length; j++) correct += ch[j]! > rj[j]! ? 1 : ch[j] === rj[j] ? 0.5 : 0;
    tf.dispose(Object.values(out).filter((x) => x instanceof tf.Tensor));
  }
  return data.pairs.length ? correct / data.pairs.length : NaN;
}

/** Train `policy` in place; returns the metric rows. */
export async function trainDpo(run: DpoRun): Promise<{ rows: MetricRow[]; valAccuracy?: number }> {
  const { policy, config: c } = run;
  const train = await cacheReferenceLogProbs(run.ref, run.train);
  const val = run.val?.length ? await cacheReferenceLogProbs(run.ref, run.val) : undefined;
  const batches = shuffledIndexBatches(train.pairs.length, c.batchSize, new Rng(c.seed));
  const opt = new AdamW(policy.params, { weightDecay: c.weightDecay, gradClip: c.gradClip });
  let valAccuracy: number | undefined;
  try {
    const rows = await runLoop({
      config: c,
      label: run.progress ?? `${c.lossType} β=${c.beta}`,
      onRow: run.onRow,
      afterStep: run.afterStep,
      show: "loss/dpo",
      step: async (step, lr) => {
        const idx = batches.next().value as number[];
        let kept: Tensor[] = [];
        let tokens = 0;
        const { loss, gradNorm } = optimiserStep(opt, () => {
          const out = batchLoss(policy, train, idx, c, true, c.seed * 100003 + step);
          tokens = out.tokens;
          kept = [
            out.chosenRewards.mean(),
            out.rejectedRewards.mean(),
            out.rewardAccuracy,
            out.rewardMargin,
            out.chosenLogProbs,
            out.rejectedLogProbs,
          ].map((t) => tf.keep(t));
          return out.loss;
        }, lr);
        const [chosen, rejected, accuracy, margin, chosenLogProbs, rejectedLogProbs] = kept;
        const metrics = await readScalars({
          "loss/dpo": loss,
          "rewards/chosen": chosen!,
          "rewards/rejected": rejected!,
          "rewards/accuracy": accuracy!,
          "rewards/margin": margin!,
          "logps/chosen": chosenLogProbs!,
          "logps/rejected": rejectedLogProbs!,
          "train/grad_norm": gradNorm,
        });
        return { metrics, tokens };
      },
      evaluate: async (step) => {
        const out: Record<string, number> = {};
        if (val) out["val/accuracy"] = valAccuracy = await implicitRewardAccuracy(policy, val, c);
        if (run.evaluate) Object.assign(out, await run.evaluate(step));
        return Object.keys(out).length ? out : undefined;
      },
    });
    return { rows, valAccuracy };
  } finally {
    opt.dispose();
  }
}
