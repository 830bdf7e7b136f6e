/**
 * RLOO on the token-level exact task, through lib/losses/rloo.ts (Ahmadian et al. 2024).
 *
 * One step: for every context, `groups` groups of k completions from π_old → sequence
 * rewards with the KL inside, R = r − β·Σ_t k1_t → leave-one-out advantages → `epochs`
 * full-batch Adam steps on the REINFORCE loss (or the sequence-level clipped variant).
 *
 * With k1 at the sampled tokens, E[R] = E_π[r] − β·KL(π‖π_ref) and the leave-one-out
 * baseline keeps the gradient unbiased, so the fixed point is π*_β; at π*_β every R
 * equals β·log Z(x) and every advantage is exactly 0. The learning rate decays linearly
 * to 0 over `steps`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenTask } from "../data/token_task.ts";
import { klPerTokenArray, type SampleKlEstimator } from "../losses/kl.ts";
import {
  klPenalisedRewards,
  RLOO_VARIANTS,
  rlooAdvantages,
  rlooLoss,
  type RlooVariant,
} from "../losses/rloo.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { checkFinite, type MetricRow, type RowSink } from "./metrics.ts";
import {
  batchTensors,
  emit,
  exactMetrics,
  finish,
  sampleTokenBatch,
  setLearningRate,
  TabularTokenPolicy,
  type TokenTrainResult,
} from "./_token_policy.ts";

/** Settings of {@link trainTokenRloo}. */
export interface TokenRlooConfig {
  /** KL coefficient β ≥ 0 inside the sequence reward. */
  beta: number;
  /** Per-token KL estimator summed into the reward (k1: unbiased for the sequence KL). */
  klEstimator: SampleKlEstimator;
  /** Completions per group k. */
  k: number;
  /** Groups per context per step. */
  groups: number;
  /** "reinforce" (the paper) or "ppo_clip" (sequence-level clipped ratio). */
  variant: RlooVariant;
  /** Iterations (sample + update). */
  steps: number;
  /** Peak Adam learning rate (linear decay to 0). */
  lr: number;
  /** Updates per batch. */
  epochs: number;
  /** Clip ε of "ppo_clip". */
  clipRange: number;
  /** Seed of the samples. */
  seed: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
}

/** Defaults of {@link TokenRlooConfig}. */
export const TOKEN_RLOO_DEFAULTS: TokenRlooConfig = {
  beta: 0.1,
  klEstimator: "k1",
  k: 4,
  groups: 16,
  variant: "reinforce",
  steps: 300,
  lr: 0.05,
  epochs: 1,
  clipRange: 0.2,
  seed: 0,
  logEvery: 50,
};

const SCHEMA: Schema<TokenRlooConfig> = {
  beta: { type: "number", min: 0, doc: "KL coefficient β" },
  klEstimator: { type: "enum", values: ["k1", "k2", "k3"], doc: "per-token KL estimator" },
  k: { type: "number", int: true, min: 2, doc: "completions per group k" },
  groups: { type: "number", int: true, min: 1, doc: "groups per context per step" },
  variant: { type: "enum", values: RLOO_VARIANTS, doc: "RLOO loss" },
  steps: { type: "number", int: true, min: 1, doc: "iterations" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  epochs: { type: "number", int: true, min: 1, doc: "updates per batch" },
  clipRange: { type: "number", gt: 0, doc: "clip ε" },
  seed: { type: "number", int: true, doc: "seed" },
  logEvery: { type: "number", int: true, min: 1, doc: "steps between metric rows" },
};

/**
 * Train a tabular token policy with RLOO (see the module doc).
 * @param args the task, an optional `onRow` sink, and any {@link TokenRlooConfig} fields.
 * @throws ConfigError naming the field for a bad setting.
 */
export function trainTokenRloo(
  args: { task: TokenTask; onRow?: RowSink } & Partial<TokenRlooConfig>,
): TokenTrainResult {
  const { task, onRow, ...overrides } = args;
  const cfg = resolveConfig("tokenRloo", SCHEMA, TOKEN_RLOO_DEFAULTS, overrides);
  const rng = new Rng(cfg.seed);
  const policy = new TabularTokenPolicy(task);
  const optimizer = tf.train.adam(cfg.lr);
  const history: MetricRow[] = [];
  try {
    for (let step = 1; step <= cfg.steps; step++) {
      setLearningRate(optimizer, cfg.lr * (1 - (step - 1) / cfg.steps));
      // Rows are context-major, so every run of k consecutive rows is one group.
      const batch = sampleTokenBatch(task, policy.logPolicy(), cfg.groups * cfg.k, rng);
      const rewards = klPenalisedRewards({
        score: batch.score,
        klPerToken: klPerTokenArray(batch.oldLogProbs, batch.refLogProbs, cfg.klEstimator),
        mask: batch.mask,
        beta: cfg.beta,
      });
      const t = batchTensors(batch);
      const adv = tf.tensor1d(rlooAdvantages(rewards, cfg.k));
      let metrics: Record<string, tf.Scalar> = {};
      for (let epoch = 0; epoch < cfg.epochs; epoch++) {
        tf.dispose(Object.values(metrics));
        const loss = optimizer.minimize(
          () => {
            const out = rlooLoss({
              logProbs: policy.tokenLogProbs(t),
              oldLogProbs: t.oldLogProbs,
              advantages: adv,
              mask: t.mask,
              variant: cfg.variant,
              clipRange: cfg.clipRange,
            });
            metrics = {
              "loss/policy": tf.keep(out.loss.clone()),
              "rloo/clipfrac": tf.keep(out.clipFrac),
            };
            return out.loss;
          },
          true,
          [policy.theta],
        )!;
        loss.dispose();
      }
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        const row: MetricRow = { step, ...exactMetrics(policy) };
        for (const [k, v] of Object.entries(metrics)) {
          row[k] = checkFinite(k, v.dataSync()[0]!, step);
        }
        emit(history, onRow, row);
      }
      tf.dispose([adv, ...Object.values(metrics)]);
      t.dispose();
    }
    return finish(policy, history);
  } finally {
    policy.dispose();
    optimizer.dispose();
  }
}
