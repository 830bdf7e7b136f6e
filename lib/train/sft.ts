/**
 * Supervised fine-tuning: next-token cross-entropy with AdamW, global-norm clipping and a
 * warmup + cosine schedule; periodic validation perplexity; metric rows to the caller.
 * Used twice in the canonical task: the base LM on all of Brown, then SFT on `reviews`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CausalLM } from "../models/causal_lm.ts";
import { shuffledBatches } from "../data/lm_batches.ts";
import { sftLoss } from "../losses/sft.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { warmupCosine } from "./schedule.ts";
import { perplexity } from "./perplexity.ts";
import { checkFinite, type MetricRow, type RowSink } from "./metrics.ts";
import { Progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";

/** SFT hyper-parameters. */
export interface SftConfig {
  /** Optimiser steps. */
  steps: number;
  /** Sequences per batch. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Final learning rate of the cosine decay. */
  minLr: number;
  /** Linear warmup steps. */
  warmupSteps: number;
  /** Decoupled weight decay λ (matrices only). */
  weightDecay: number;
  /** Global gradient-norm clip (0: off). */
  gradClip: number;
  /** Validate every this many steps (0: only at the end). */
  evalEvery: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
  /** Seed of the batch order and dropout. */
  seed: number;
}

/** Field specs for {@link SftConfig}. */
export const SFT_CONFIG_SCHEMA: Schema<SftConfig> = {
  steps: { type: "number", int: true, min: 1, doc: "optimiser steps" },
  batchSize: { type: "number", int: true, min: 1, doc: "sequences per batch" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  minLr: { type: "number", min: 0, doc: "final learning rate" },
  warmupSteps: { type: "number", int: true, min: 0, doc: "linear warmup steps" },
  weightDecay: { type: "number", min: 0, doc: "AdamW weight decay" },
  gradClip: { type: "number", min: 0, doc: "global gradient-norm clip, 0 = off" },
  evalEvery: { type: "number", int: true, min: 0, doc: "validate every N steps, 0 = at the end" },
  logEvery: { type: "number", int: true, min: 1, doc: "log a metric row every N steps" },
  seed: { type: "number", int: true, doc: "seed of batch order and dropout" },
};

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
  model: CausalLM;
  /** Training sequences [BOS, …, EOS] within the context. */
  train: readonly (readonly number[])[];
  /** Validation sequences, for perplexity. */
  val?: readonly (readonly number[])[];
  config: SftConfig;
  /** Receives each metric row as it is logged. */
  onRow?: RowSink;
  /** Label of the progress bar; `false` silences it. */
  progress?: string | false;
}

/** Every logged row and the final validation perplexity. */
export interface SftResult {
  rows: MetricRow[];
  valPpl?: number;
}

/** Train `model` in place. */
export async function trainSft(run: SftRun): Promise<SftResult> {
  const { model, config: c } = run;
  const rng = new Rng(c.seed);
  const batches = shuffledBatches(run.train, c.batchSize, rng);
  const opt = new AdamW(model.params, { weightDecay: c.weightDecay, gradClip: c.gradClip });
  const rows: MetricRow[] = [];
  const bar = new Progress({
    label: run.progress || "sft",
    total: c.steps,
    quiet: run.progress === false,
    every: c.logEvery * 5,
  });
  const emit = (row: MetricRow) => {
    rows.push(row);
    run.onRow?.(row);
  };
  const validate = async (step: number) => {
    if (!run.val?.length) return undefined;
    const { ppl, nll } = await perplexity(model, run.val);
    emit({ step, "val/loss": checkFinite("val/loss", nll, step), "val/ppl": ppl });
    return ppl;
  };
  let windowStart = performance.now(), windowTokens = 0, lossSum = 0, lossCount = 0;
  let valPpl: number | undefined;
  try {
    for (let step = 0; step < c.steps; step++) {
      if (c.evalEvery > 0 && step > 0 && step % c.evalEvery === 0) valPpl = await validate(step);
      const lr = warmupCosine(step, {
        lr: c.lr,
        minLr: c.minLr,
        warmupSteps: c.warmupSteps,
        totalSteps: c.steps,
      });
      const batch = batches.next().value!;
      const tokens = tf.tensor2d(batch.tokens, [batch.batch, batch.length + 1], "int32");
      const mask = tf.tensor2d(batch.mask, [batch.batch, batch.length]);
      const { loss, gradNorm } = optimiserStep(opt, () => {
        const lp = model.tokenLogProbs(tokens, {
          training: true,
          dropoutSeed: c.seed * 100003 + step,
        });
        return sftLoss(lp, mask);
      }, lr);
      const lossValue = checkFinite("loss/sft", (await loss.data())[0]!, step);
      tf.dispose([tokens, mask, loss]);
      lossSum += lossValue;
      lossCount++;
      windowTokens += batch.realTokens;
      if ((step + 1) % c.logEvery === 0 || step === c.steps - 1) {
        const secs = (performance.now() - windowStart) / 1000;
        const norm = (await gradNorm.data())[0]!;
        emit({
          step: step + 1,
          "loss/sft": lossSum / lossCount,
          "train/lr": lr,
          "train/grad_norm": norm,
          "perf/tokens_per_s": windowTokens / secs,
        });
        bar.update(step + 1, `loss ${(lossSum / lossCount).toFixed(3)}`);
        windowStart = performance.now();
        windowTokens = lossSum = lossCount = 0;
      }
      gradNorm.dispose();
    }
    valPpl = await validate(c.steps) ?? valPpl;
    bar.finish(valPpl !== undefined ? `val ppl ${valPpl.toFixed(1)}` : "");
  } finally {
    opt.dispose();
  }
  return { rows, valPpl };
}
