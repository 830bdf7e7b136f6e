/**
 * Supervised fine-tuning: next-token cross-entropy with AdamW, global-norm clipping and a
 * warmup + cosine schedule; periodic validation perplexity; metric rows to the caller.
 * Used twice in the canonical task: the base LM on Brown without `reviews`, then SFT on `reviews`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../util/tensor_types.ts";
import type { CausalLM } from "../models/causal_lm.ts";
import { shuffledBatches } from "../data/lm_batches.ts";
import { sftLoss } from "../losses/sft.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { perplexity } from "./perplexity.ts";
import { type MetricRow, readScalars, type RowSink } from "./metrics.ts";
import { runLoop } from "./loop.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { LOOP_CONFIG_SCHEMA, type LoopConfig } from "./loop_config.ts";

/** SFT hyper-parameters: the shared loop settings. */
export type SftConfig = LoopConfig;

/** Field specs for {@link SftConfig}. */
export const SFT_CONFIG_SCHEMA: Schema<SftConfig> = LOOP_CONFIG_SCHEMA;

/** Defaults: a few hundred steps of a small model on 2 cores. */
export const SFT_DEFAULTS: SftConfig = {
  steps: 300,
  batchSize: 32,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 20,
  weightDecay: 0.01,
  gradClip: 1,
  evalEvery: 100,
  logEvery: 10,
  seed: 0,
};

/** Validate an SFT config over {@link SFT_DEFAULTS}. */
export function sftConfig(overrides: Partial<SftConfig> = {}, section = "sft"): SftConfig {
  return resolveConfig(section, SFT_CONFIG_SCHEMA, SFT_DEFAULTS, overrides);
}

/** Inputs of {@link trainSft}. */
export interface SftRun {
  /** The model to fine-tune, in place. */
  model: CausalLM;
  /** Training sequences [BOS, …, EOS] within the context. */
  train: readonly (readonly number[])[];
  /** Validation sequences, for perplexity. */
  val?: readonly (readonly number[])[];
  /** Hyper-parameters (see {@link sftConfig}). */
  config: SftConfig;
  /** Receives each metric row as it is logged. */
  onRow?: RowSink;
  /** Label of the progress bar; `false` silences it. */
  progress?: string | false;
  /** Called after every step whose metrics were finite (see `LoopSpec.afterStep`). */
  afterStep?: (stepsDone: number) => Promise<void> | void;
  /**
   * Early stopping: measure the validation perplexity before training and at every
   * evaluation, and leave the model with the weights that had the lowest (the starting
   * weights if no step improved on them). Needs `val`. Default false.
   */
  keepBest?: boolean;
}

/** Every logged row and the final validation perplexity. */
export interface SftResult {
  /** Every logged row. */
  rows: MetricRow[];
  /**
   * Validation perplexity of the returned weights, when validation sequences were given
   * (the final ones; the best ones with `keepBest`).
   */
  valPpl?: number;
  /** With `keepBest`: the steps done when the kept weights were measured (0: none helped). */
  bestStep?: number;
}

/** Train `model` in place. */
export async function trainSft(run: SftRun): Promise<SftResult> {
  const { model, config: c } = run;
  const batches = shuffledBatches(run.train, c.batchSize, new Rng(c.seed));
  const opt = new AdamW(model.params, { weightDecay: c.weightDecay, gradClip: c.gradClip });
  const keepBest = (run.keepBest ?? false) && (run.val?.length ?? 0) > 0;
  let valPpl: number | undefined;
  let best: { ppl: number; step: number; weights: Map<string, Tensor> } | undefined;
  const remember = (step: number, ppl: number) => {
    if (!keepBest || (best && !(ppl < best.ppl))) return;
    const weights = new Map([...model.params].map(([k, v]) => [k, tf.keep(v.clone())]));
    if (best) tf.dispose([...best.weights.values()]);
    best = { ppl, step, weights };
  };
  try {
    if (keepBest) remember(0, (await perplexity(model, run.val!)).ppl);
    const rows = await runLoop({
      config: c,
      label: run.progress ?? "sft",
      onRow: run.onRow,
      afterStep: run.afterStep,
      show: "loss/sft",
      step: async (step, lr) => {
        const batch = batches.next().value!;
        const tokens = tf.tensor2d(batch.tokens, [batch.batch, batch.length + 1], "int32");
        const mask = tf.tensor2d(batch.mask, [batch.batch, batch.length]);
        const { loss, gradNorm } = optimiserStep(opt, () => {
          const logProbs = model.tokenLogProbs(tokens, {
            training: true,
            dropoutSeed: c.seed * 100003 + step,
          });
          return sftLoss(logProbs, mask);
        }, lr);
        tf.dispose([tokens, mask]);
        return {
          metrics: await readScalars({ "loss/sft": loss, "train/grad_norm": gradNorm }),
          tokens: batch.realTokens,
        };
      },
      evaluate: async (step) => {
        if (!run.val?.length) return undefined;
        const { ppl, nll } = await perplexity(model, run.val);
        valPpl = ppl;
        remember(step, ppl);
        return { "val/loss": nll, "val/ppl": ppl };
      },
    });
    if (!best) return { rows, valPpl };
    for (const [k, v] of model.params) v.assign(best.weights.get(k)!);
    return { rows, valPpl: best.ppl, bestStep: best.step };
  } finally {
    if (best) tf.dispose([...best.weights.values()]);
    opt.dispose();
  }
}
