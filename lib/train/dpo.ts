/**
 * Direct preference optimisation and its relatives (IPO, hinge/SLiC, SimPO) on a causal
 * LM: the reference log-probabilities are computed once and cached with the dataset (or
 * passed in precomputed, so an experiment computes them once per preference set); chosen
 * and rejected go through the policy in one concatenated forward pass; metric rows carry
 * the implicit rewards (rewards/chosen = β·(log π − log π_ref)(y_w), …).
 *
 * The policy pass runs without dropout unless `disableDropout` is false: the cached
 * reference pass has none, and with dropout only on one side the implicit reward of a
 * policy equal to its reference is not 0 (TRL's DPOConfig also disables dropout by
 * default). Pairs labelled a tie are skipped, in training and in the held-out accuracy:
 * they state no preference (see lib/data/preference_pairs.ts). Accuracy counts a pair with
 * equal implicit rewards as half right, in training (`rewards/accuracy`) and held out
 * (`val/accuracy`) alike.
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
import { ConfigError } from "../util/errors.ts";

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
  /** Run the policy pass without dropout, like the cached reference pass (TRL's default). */
  disableDropout: boolean;
}

/** Field specs for {@link DpoConfig}. */
export const DPO_CONFIG_SCHEMA: Schema<DpoConfig> = {
  ...LOOP_CONFIG_SCHEMA,
  beta: { type: "number", gt: 0, doc: "KL coefficient β" },
  lossType: { type: "enum", values: DPO_LOSS_NAMES, doc: "loss of the DPO family" },
  labelSmoothing: { type: "number", min: 0, lt: 0.5, doc: "label smoothing ε (cDPO)" },
  lengthNormalise: { type: "boolean", doc: "token-average log-probs (TRL's IPO)" },
  simpoGamma: { type: "number", min: 0, doc: "SimPO target margin γ" },
  disableDropout: { type: "boolean", doc: "no dropout in the policy pass" },
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
  disableDropout: true,
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

/**
 * The pairs at `indices` of a cache, with their log-probabilities (e.g. the untied pairs,
 * or a subset a run uses).
 */
export function selectCachedPairs(
  data: RefCachedPairs,
  indices: readonly number[],
): RefCachedPairs {
  checkCache(data, "data");
  return {
    pairs: indices.map((i) => data.pairs[i]!),
    refChosen: Float32Array.from(indices, (i) => data.refChosen[i]!),
    refRejected: Float32Array.from(indices, (i) => data.refRejected[i]!),
  };
}

/** The reference log-probabilities of a cache as plain JSON (float32 values round-trip exactly). */
export function refLogProbsToJSON(
  data: RefCachedPairs,
): { refChosen: number[]; refRejected: number[] } {
  return { refChosen: Array.from(data.refChosen), refRejected: Array.from(data.refRejected) };
}

/**
 * A cache from `pairs` and log-probabilities saved by {@link refLogProbsToJSON}; the
 * pairs must be the ones they were computed on, in the same order (checked by count).
 * @throws ConfigError when the counts differ or a value is not a finite number.
 */
export function refLogProbsFromJSON(
  pairs: readonly TokenPair[],
  json: { refChosen: readonly number[]; refRejected: readonly number[] },
): RefCachedPairs {
  const data = {
    pairs,
    refChosen: Float32Array.from(json.refChosen),
    refRejected: Float32Array.from(json.refRejected),
  };
  checkCache(data, "saved reference log-probs");
  return data;
}

function checkCache(data: RefCachedPairs, what: string): void {
  const n = data.pairs.length;
  if (data.refChosen.length !== n || data.refRejected.length !== n) {
    throw new ConfigError(
      `${what}: ${n} pairs but ${data.refChosen.length} refChosen and ` +
        `${data.refRejected.length} refRejected log-probs`,
    );
  }
  for (const arr of [data.refChosen, data.refRejected]) {
    const bad = arr.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new ConfigError(`${what}: log-prob ${bad} is ${arr[bad]}`);
  }
}

/** Untied pairs of a cache (a tie states no preference; see the module doc). */
function untied(data: RefCachedPairs): RefCachedPairs {
  if (!data.pairs.some((p) => p.tie)) return data;
  const keep = data.pairs.flatMap((p, i) => (p.tie ? [] : [i]));
  return selectCachedPairs(data, keep);
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
  /**
   * The frozen reference (the SFT model); read once to fill the cache of any pairs given
   * without reference log-probabilities (needed unless `train` and `val` are caches).
   */
  ref?: CausalLM;
  /** Training pairs, or a {@link RefCachedPairs} computed once (e.g. per preference set). */
  train: readonly TokenPair[] | RefCachedPairs;
  /** Held-out pairs for `val/accuracy` at evaluation steps, likewise. */
  val?: readonly TokenPair[] | RefCachedPairs;
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
  /**
   * Held-out accuracy before the last step reads only the first this many validation
   * pairs (a cheaper curve); the final one reads them all. Default: all, every time.
   */
  valSubset?: number;
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

/**
 * Held-out preference accuracy of the implicit reward: over untied pairs, a pair with
 * equal implicit rewards counting half (as `rewards/accuracy` in training). NaN without
 * untied pairs.
 */
export async function implicitRewardAccuracy(
  policy: CausalLM,
  cached: RefCachedPairs,
  c: DpoConfig,
  batchSize = 64,
): Promise<number> {
  const data = untied(cached);
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
  const train = untied(await withReference(run.ref, run.train, "train"));
  if (train.pairs.length === 0) {
    throw new ConfigError(`trainDpo needs at least one untied training pair, got 0`);
  }
  const val = run.val && (isCache(run.val) ? run.val.pairs : run.val).length
    ? untied(await withReference(run.ref, run.val, "val"))
    : undefined;
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
          const training = !c.disableDropout;
          const out = batchLoss(policy, train, idx, c, training, c.seed * 100003 + step);
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
        if (val?.pairs.length) {
          // Before the last step, a held-out subset (the curve's points); at the end, all.
          const subset = run.valSubset !== undefined && step < c.steps &&
              run.valSubset < val.pairs.length
            ? selectCachedPairs(val, Array.from({ length: run.valSubset }, (_, i) => i))
            : val;
          const accuracy = await implicitRewardAccuracy(policy, subset, c);
          out["val/accuracy"] = accuracy;
          if (subset === val) valAccuracy = accuracy;
        }
        if (run.evaluate) Object.assign(out, await run.evaluate(step));
        return Object.keys(out).length ? out : undefined;
      },
    });
    return { rows, valAccuracy };
  } finally {
    opt.dispose();
  }
}

/** Pairs as a cache: given one (checked), or computed with `ref`. */
async function withReference(
  ref: CausalLM | undefined,
  data: readonly TokenPair[] | RefCachedPairs,
  what: string,
): Promise<RefCachedPairs> {
  if (isCache(data)) {
    checkCache(data, what);
    return data;
  }
  if (!ref) {
    throw new ConfigError(
      `trainDpo: ${what} pairs come without reference log-probs, so ref is required`,
    );
  }
  return await cacheReferenceLogProbs(ref, data);
}

function isCache(data: readonly TokenPair[] | RefCachedPairs): data is RefCachedPairs {
  return !Array.isArray(data);
}
