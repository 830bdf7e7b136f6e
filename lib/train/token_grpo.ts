/**
 * GRPO and Dr. GRPO on the token-level exact task, through lib/losses/grpo.ts.
 *
 * One step: for every context, `groups` groups of G completions from π_old → sequence
 * rewards → group-relative advantages → `epochs` full-batch Adam steps on grpoLoss. Where
 * the KL goes is a setting, because it decides what is optimised:
 *
 * - `klPlacement: "loss"` (the paper; default): β·k3 per token inside the loss. Its
 *   gradient is not that of KL(π‖π_ref) over sequences (see lib/losses/grpo.ts), so the
 *   fixed point is not π*_β; the exact task measures the gap.
 * - `klPlacement: "reward"`: R_i = r_i − β·Σ_t k_t with k the per-token estimate at the
 *   sampled tokens (k1 unless `klEstimator` says otherwise: the unbiased choice), before the group advantage.
 *   At π*_β every R_i equals β·log Z(x), so every advantage is exactly 0 whatever the std
 *   division or the aggregation: π*_β is a fixed point, and the check lands on it.
 *
 * Dr. GRPO is `{ scaleRewards: false, aggregation: "dr_grpo" }` ({@link DR_GRPO}).
 * The learning rate decays linearly to 0 over `steps`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenTask } from "../data/token_task.ts";
import {
  groupAdvantages,
  GRPO_AGGREGATIONS,
  type GrpoAggregation,
  grpoLoss,
} from "../losses/grpo.ts";
import { klPerTokenArray, type SampleKlEstimator } from "../losses/kl.ts";
import { klPenalisedRewards } from "../losses/rloo.ts";
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

/** Where GRPO's KL penalty goes. */
export const KL_PLACEMENTS = ["loss", "reward"] as const;
/** "loss" (per-token term in the loss, the paper) or "reward" (inside the sequence reward). */
export type KlPlacement = (typeof KL_PLACEMENTS)[number];

/** Settings of {@link trainTokenGrpo}. */
export interface TokenGrpoConfig {
  /** KL coefficient β ≥ 0 (0: no KL term, TRL's default). */
  beta: number;
  /** Where the KL goes: "loss" or "reward". */
  klPlacement: KlPlacement;
  /** Per-token KL estimator; "auto" is k3 in the loss (the paper) and k1 in the reward (unbiased there). */
  klEstimator: SampleKlEstimator | "auto";
  /** Divide advantages by the group std (GRPO); false for Dr. GRPO. */
  scaleRewards: boolean;
  /** Token aggregation of the loss. */
  aggregation: GrpoAggregation;
  /** Completions per group G. */
  groupSize: number;
  /** Groups per context per step. */
  groups: number;
  /** Iterations (sample + update). */
  steps: number;
  /** Peak Adam learning rate (linear decay to 0). */
  lr: number;
  /** Updates per batch (GRPO's μ). */
  epochs: number;
  /** Clip ε. */
  clipRange: number;
  /** Seed of the samples. */
  seed: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
}

/** Defaults of {@link TokenGrpoConfig}: the paper's GRPO (k3 in the loss, per-sequence mean). */
export const TOKEN_GRPO_DEFAULTS: TokenGrpoConfig = {
  beta: 0.1,
  klPlacement: "loss",
  klEstimator: "auto",
  scaleRewards: true,
  aggregation: "sequence_mean",
  groupSize: 8,
  groups: 8,
  steps: 300,
  lr: 0.05,
  epochs: 2,
  clipRange: 0.2,
  seed: 0,
  logEvery: 50,
};

/** The Dr. GRPO changes to {@link TOKEN_GRPO_DEFAULTS} (Liu et al. 2025). */
export const DR_GRPO: Partial<TokenGrpoConfig> = { scaleRewards: false, aggregation: "dr_grpo" };

const SCHEMA: Schema<TokenGrpoConfig> = {
  beta: { type: "number", min: 0, doc: "KL coefficient β" },
  klPlacement: { type: "enum", values: KL_PLACEMENTS, doc: "where the KL goes" },
  klEstimator: { type: "enum", values: ["auto", "k1", "k2", "k3"], doc: "per-token KL estimator" },
  scaleRewards: { type: "boolean", doc: "divide advantages by the group std" },
  aggregation: { type: "enum", values: GRPO_AGGREGATIONS, doc: "token aggregation" },
  groupSize: { type: "number", int: true, min: 2, doc: "completions per group G" },
  groups: { type: "number", int: true, min: 1, doc: "groups per context per step" },
  steps: { type: "number", int: true, min: 1, doc: "iterations" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  epochs: { type: "number", int: true, min: 1, doc: "updates per batch" },
  clipRange: { type: "number", gt: 0, doc: "clip ε" },
  seed: { type: "number", int: true, doc: "seed" },
  logEvery: { type: "number", int: true, min: 1, doc: "steps between metric rows" },
};

/**
 * Train a tabular token policy with GRPO (see the module doc).
 * @param args the task, an optional `onRow` sink, and any {@link TokenGrpoConfig} fields.
 * @throws ConfigError naming the field for a bad setting.
 */
export function trainTokenGrpo(
  args: { task: TokenTask; onRow?: RowSink } & Partial<TokenGrpoConfig>,
): TokenTrainResult {
  const { task, onRow, ...overrides } = args;
  const cfg = resolveConfig("tokenGrpo", SCHEMA, TOKEN_GRPO_DEFAULTS, overrides);
  const rng = new Rng(cfg.seed);
  const policy = new TabularTokenPolicy(task);
  const optimizer = tf.train.adam(cfg.lr);
  const history: MetricRow[] = [];
  const inReward = cfg.klPlacement === "reward";
  const estimator = cfg.klEstimator === "auto" ? (inReward ? "k1" : "k3") : cfg.klEstimator;
  try {
    for (let step = 1; step <= cfg.steps; step++) {
      setLearningRate(optimizer, cfg.lr * (1 - (step - 1) / cfg.steps));
      // Rows are context-major, so every run of G consecutive rows is one group.
      const batch = sampleTokenBatch(task, policy.logPolicy(), cfg.groups * cfg.groupSize, rng);
      const rewards = inReward
        ? klPenalisedRewards({
          score: batch.score,
          klPerToken: klPerTokenArray(batch.oldLogProbs, batch.refLogProbs, estimator),
          mask: batch.mask,
          beta: cfg.beta,
        })
        : batch.score;
      const advantages = groupAdvantages(rewards, cfg.groupSize, { scaleByStd: cfg.scaleRewards });

      const t = batchTensors(batch);
      const adv = tf.tensor1d(advantages);
      let metrics: Record<string, tf.Scalar> = {};
      for (let epoch = 0; epoch < cfg.epochs; epoch++) {
        tf.dispose(Object.values(metrics));
        const loss = optimizer.minimize(
          () => {
            const out = grpoLoss({
              logProbs: policy.tokenLogProbs(t),
              oldLogProbs: t.oldLogProbs,
              refLogProbs: t.refLogProbs,
              advantages: adv,
              mask: t.mask,
              beta: inReward ? 0 : cfg.beta,
              klEstimator: estimator,
              clipRange: cfg.clipRange,
              aggregation: cfg.aggregation,
            });
            metrics = {
              "grpo/clipfrac": tf.keep(out.clipFrac),
              "loss/policy": tf.keep(out.pgLoss),
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
