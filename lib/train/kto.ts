/**
 * KTO on a causal LM (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic
 * Optimization"): the loss of lib/losses/kto.ts on the shared loop, from unpaired examples
 * (lib/data/unpaired_feedback.ts) whose reference log-probabilities are computed once, as
 * the DPO trainer's are.
 *
 * The reference point z0. The paper estimates KL(π_θ‖π_ref) from *mismatched* pairs of the
 * same batch, and TRL builds them by shifting the completions by one within the batch:
 * row j of the KL batch is the prompt of example j with the completion of example j − 1
 * (cyclically). z0 = max(0, mean_j (log π_θ − log π_ref)(y_{j−1} | x_j)), with no gradient.
 * The policy reads those rows in the same forward pass as the examples; the reference reads
 * them once per step (no gradient), since the pairing changes with every batch.
 *
 * The policy pass runs without dropout unless `disableDropout` is false, as in the DPO
 * trainer (the reference pass has none). Metric rows follow TRL's KTO names: `rewards/chosen`
 * and `rewards/rejected` are the mean implicit rewards β·(log π − log π_ref) of the batch's
 * desirable and undesirable examples (0 for a class the batch lacks), `kto/z0` the
 * reference point.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor1D } from "../util/tensor_types.ts";
import type { CausalLM } from "../models/causal_lm.ts";
import { responseBatch, selectRows } from "../data/response_batch.ts";
import { shuffledIndexBatches } from "../data/lm_batches.ts";
import type { KtoExample } from "../data/unpaired_feedback.ts";
import { ktoLoss } from "../losses/kto.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { LOOP_CONFIG_SCHEMA, type LoopConfig } from "./loop_config.ts";
import { runLoop } from "./loop.ts";
import { type MetricRow, readScalars, type RowSink } from "./metrics.ts";
import { batchTensors, sequenceLogProbs, sequenceLogProbsOf } from "./response_log_probs.ts";
import { DPO_DEFAULTS, implicitRewardAccuracy, type RefCachedPairs } from "./dpo.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { ConfigError } from "../util/errors.ts";

/** KTO hyper-parameters. */
export interface KtoConfig extends LoopConfig {
  /** β: the scale of the implicit reward inside the value function. */
  beta: number;
  /** λ_D, the weight of desirable examples. */
  desirableWeight: number;
  /** λ_U, the weight of undesirable examples. */
  undesirableWeight: number;
  /** Run the policy pass without dropout, like the cached reference pass (TRL's default). */
  disableDropout: boolean;
}

/** Field specs for {@link KtoConfig}. */
export const KTO_CONFIG_SCHEMA: Schema<KtoConfig> = {
  ...LOOP_CONFIG_SCHEMA,
  beta: { type: "number", gt: 0, doc: "KTO β" },
  desirableWeight: { type: "number", min: 0, doc: "weight λ_D of desirable examples" },
  undesirableWeight: { type: "number", min: 0, doc: "weight λ_U of undesirable examples" },
  disableDropout: { type: "boolean", doc: "no dropout in the policy pass" },
};

/** Defaults for the canonical task: the DPO trainer's loop settings, λ_D = λ_U = 1. */
export const KTO_DEFAULTS: KtoConfig = {
  steps: DPO_DEFAULTS.steps,
  batchSize: DPO_DEFAULTS.batchSize,
  lr: DPO_DEFAULTS.lr,
  minLr: DPO_DEFAULTS.minLr,
  warmupSteps: DPO_DEFAULTS.warmupSteps,
  weightDecay: DPO_DEFAULTS.weightDecay,
  gradClip: DPO_DEFAULTS.gradClip,
  evalEvery: 0,
  logEvery: DPO_DEFAULTS.logEvery,
  seed: 0,
  beta: 0.1,
  desirableWeight: 1,
  undesirableWeight: 1,
  disableDropout: true,
};

/** Validate a KTO config over {@link KTO_DEFAULTS}. */
export function ktoConfig(overrides: Partial<KtoConfig> = {}, section = "kto"): KtoConfig {
  return resolveConfig(section, KTO_CONFIG_SCHEMA, KTO_DEFAULTS, overrides);
}

/** Examples with their cached Σ log π_ref(y | x). */
export interface RefCachedExamples {
  /** The examples, in the order of `refLogProbs`. */
  examples: readonly KtoExample[];
  /** Σ log π_ref(completion | prompt) per example. */
  refLogProbs: Float32Array;
}

/** Compute the reference log-probabilities of every example once (no gradient). */
export async function cacheKtoReference(
  ref: CausalLM,
  examples: readonly KtoExample[],
  batchSize = 64,
): Promise<RefCachedExamples> {
  const refLogProbs = new Float32Array(examples.length);
  for (let i = 0; i < examples.length; i += batchSize) {
    const chunk = examples.slice(i, i + batchSize);
    const batch = responseBatch(
      chunk.map((e) => e.prompt),
      chunk.map((e) => e.completion),
      ref.config.context,
    );
    refLogProbs.set(await sequenceLogProbsOf(ref, batch), i);
  }
  return { examples, refLogProbs };
}

/**
 * DPO's cached pairs unpaired (lib/data/unpaired_feedback.ts `unpairPreferences`): each
 * untied pair's chosen completion desirable, its rejected one undesirable, with the
 * reference log-probabilities the pairs already carry.
 */
export function unpairCachedPairs(cache: RefCachedPairs): RefCachedExamples {
  const examples: KtoExample[] = [];
  const refLogProbs: number[] = [];
  cache.pairs.forEach((p, i) => {
    if (p.tie) return;
    examples.push({ prompt: p.prompt, completion: p.chosen, desirable: true });
    examples.push({ prompt: p.prompt, completion: p.rejected, desirable: false });
    refLogProbs.push(cache.refChosen[i]!, cache.refRejected[i]!);
  });
  return { examples, refLogProbs: Float32Array.from(refLogProbs) };
}

/**
 * The distinct (prompt, completion) examples of a cache, first occurrence kept, in order:
 * a completion ranked against several others appears in several pairs, but a person
 * labelling single completions sees it once.
 */
export function distinctExamples(cache: RefCachedExamples): RefCachedExamples {
  const seen = new Set<string>();
  const keep: number[] = [];
  cache.examples.forEach((e, i) => {
    const key = `${e.prompt.join(",")}|${e.completion.join(",")}`;
    if (!seen.has(key)) {
      seen.add(key);
      keep.push(i);
    }
  });
  return {
    examples: keep.map((i) => cache.examples[i]!),
    refLogProbs: Float32Array.from(keep, (i) => cache.refLogProbs[i]!),
  };
}

/** Inputs of {@link trainKto}. */
export interface KtoRun {
  /** The policy to train, in place (starts as a copy of the reference). */
  policy: CausalLM;
  /** The frozen reference: reads the mismatched pairs every step (and uncached examples once). */
  ref: CausalLM;
  /** Training examples, or a {@link RefCachedExamples} computed once. */
  train: readonly KtoExample[] | RefCachedExamples;
  /** Held-out preference pairs for `val/accuracy` of the implicit reward at evaluation steps. */
  val?: RefCachedPairs;
  /** Hyper-parameters (see {@link ktoConfig}). */
  config: KtoConfig;
  /** Extra evaluation at evaluation steps (gold reward, KL of samples). */
  evaluate?: (step: number) => Promise<Record<string, number>>;
  /** Receives each metric row as it is logged. */
  onRow?: RowSink;
  /** Label of the progress bar; `false` silences it. */
  progress?: string | false;
  /** Called after every step whose metrics were finite (see `LoopSpec.afterStep`). */
  afterStep?: (stepsDone: number) => Promise<void> | void;
}

/** Train `policy` in place with KTO; returns the metric rows and the last held-out accuracy. */
export async function trainKto(run: KtoRun): Promise<{ rows: MetricRow[]; valAccuracy?: number }> {
  const { policy, ref, config: c } = run;
  const train = Array.isArray(run.train)
    ? await cacheKtoReference(ref, run.train)
    : run.train as RefCachedExamples;
  const n = train.examples.length;
  if (n === 0) throw new ConfigError("trainKto needs at least one training example, got 0");
  if (train.refLogProbs.length !== n) {
    throw new ConfigError(`trainKto: ${n} examples but ${train.refLogProbs.length} ref log-probs`);
  }
  const batches = shuffledIndexBatches(n, c.batchSize, new Rng(c.seed));
  const opt = new AdamW(policy.params, { weightDecay: c.weightDecay, gradClip: c.gradClip });
  // The implicit-reward accuracy reads only the sign of β·(log-ratio margin).
  const accuracyConfig = { ...DPO_DEFAULTS, beta: c.beta };
  let valAccuracy: number | undefined;
  try {
    const rows = await runLoop({
      config: c,
      label: run.progress ?? `kto β=${c.beta}`,
      onRow: run.onRow,
      afterStep: run.afterStep,
      show: "loss/kto",
      step: async (step, lr) => {
        const idx = batches.next().value as number[];
        const b = idx.length;
        const ex = idx.map((i) => train.examples[i]!);
        // KL rows: prompt j with the completion of example j − 1, as TRL shifts them.
        const klCompletions = ex.map((_, j) => ex[(j + b - 1) % b]!.completion);
        const batch = responseBatch(
          [...ex.map((e) => e.prompt), ...ex.map((e) => e.prompt)],
          [...ex.map((e) => e.completion), ...klCompletions],
          policy.config.context,
        );
        const klRef = await sequenceLogProbsOf(
          ref,
          selectRows(batch, Array.from({ length: b }, (_, j) => b + j)),
        );
        const fixed = {
          ref: tf.tensor1d(idx.map((i) => train.refLogProbs[i]!)),
          klRef: tf.tensor1d(klRef),
          desirable: tf.tensor1d(ex.map((e) => (e.desirable ? 1 : 0))),
        };
        let kept: Tensor[] = [];
        const { loss, gradNorm } = optimiserStep(opt, () => {
          const { tokens, mask } = batchTensors(batch);
          const seq = sequenceLogProbs(policy, tokens, mask, {
            training: !c.disableDropout,
            dropoutSeed: c.seed * 100003 + step,
          }); // [2b]
          const [policyLogProbs, klPolicyLogProbs] = tf.split(seq, 2) as [Tensor1D, Tensor1D];
          const out = ktoLoss({
            policyLogProbs,
            refLogProbs: fixed.ref,
            desirable: fixed.desirable,
            klPolicyLogProbs,
            klRefLogProbs: fixed.klRef,
            beta: c.beta,
            desirableWeight: c.desirableWeight,
            undesirableWeight: c.undesirableWeight,
          });
          const d = fixed.desirable, u = tf.sub(1, d);
          const classMean = (x: Tensor, w: Tensor) =>
            tf.div(tf.sum(tf.mul(x, w)), tf.maximum(tf.sum(w), 1));
          const chosen = classMean(out.rewards, d), rejected = classMean(out.rewards, u);
          kept = [
            out.z0,
            chosen,
            rejected,
            tf.sub(chosen, rejected),
            classMean(policyLogProbs, d),
            classMean(policyLogProbs, u),
          ].map((x) => tf.keep(x));
          return out.loss as Scalar;
        }, lr);
        tf.dispose(Object.values(fixed));
        const metrics = await readScalars({
          "loss/kto": loss,
          "kto/z0": kept[0]!,
          "rewards/chosen": kept[1]!,
          "rewards/rejected": kept[2]!,
          "rewards/margin": kept[3]!,
          "logps/chosen": kept[4]!,
          "logps/rejected": kept[5]!,
          "train/grad_norm": gradNorm,
        });
        return { metrics, tokens: batch.responseLengths.reduce((a, x) => a + x, 0) };
      },
      evaluate: async (step) => {
        const out: Record<string, number> = {};
        if (run.val?.pairs.length) {
          out["val/accuracy"] = valAccuracy = await implicitRewardAccuracy(
            policy,
            run.val,
            accuracyConfig,
          );
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
