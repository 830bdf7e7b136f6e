/**
 * GRPO on a causal LM (Shao et al. 2024, "DeepSeekMath", §4.1) and Dr. GRPO (Liu et al.
 * 2025), the loss of lib/losses/grpo.ts on the shared critic-free loop. One iteration:
 *
 *   draw prompts → G completions each (lib/train/group_rollout.ts) → sequence rewards
 *   (with −β·Σ_t KL_t inside when the KL goes in the reward) → group-relative advantages →
 *   `epochs` passes of minibatch updates on the clipped token-level surrogate (with β·KL_t
 *   per token when the KL goes in the loss) → one metric row.
 *
 * Where the KL goes decides what is optimised (see lib/losses/grpo.ts and the token-level
 * exact task, lib/train/token_grpo.ts): `klPlacement: "loss"` is the paper's (k3 per token
 * by default, k1/k2 selectable), whose fixed point is not π*_β; `"reward"` puts k1 in the
 * sequence reward before the group advantage, which optimises E[r] − β·KL exactly. β = 0
 * drops the KL (TRL's default); the reference is then only read for `kl/ref`.
 *
 * Like PPO, the trained policy is the tempered π_τ = softmax(logits/τ): log π_old, log π_θ
 * and log π_ref are all read at the sampling temperature τ.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D } from "../util/tensor_types.ts";
import { gatherLogProbs } from "../models/causal_lm.ts";
import { selectRows, selectRowsOf } from "../data/response_batch.ts";
import {
  groupAdvantages,
  GRPO_AGGREGATIONS,
  type GrpoAggregation,
  grpoLoss,
} from "../losses/grpo.ts";
import type { SampleKlEstimator } from "../losses/kl.ts";
import { klPenalisedRewards } from "../losses/rloo.ts";
import { entropyFromLogits } from "../losses/ppo.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { temperedLogits } from "./response_log_probs.ts";
import { checkFinite, type MetricRow, readScalars } from "./metrics.ts";
import { collectGroupRollout, drawPrompts, meanOf, rolloutMetrics } from "./group_rollout.ts";
import { firstSamples, minibatchEpochs, type OnlineRun, runOnlineLoop } from "./online_loop.ts";
import { KL_PLACEMENTS, type KlPlacement } from "./token_grpo.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";

/** GRPO hyper-parameters (TRL's GRPOConfig names in brackets where they differ). */
export interface GrpoConfig {
  /** Iterations (rollout + update). */
  iterations: number;
  /** Prompts per iteration, each sampled `groupSize` times. */
  promptsPerIteration: number;
  /** Completions per prompt G [num_generations]. */
  groupSize: number;
  /** Maximum new tokens per completion [max_completion_length]; also Dr. GRPO's normaliser. */
  maxNewTokens: number;
  /** Sampling temperature τ; every log-probability is read at τ. */
  temperature: number;
  /** Passes over each iteration's completions (GRPO's μ) [num_iterations]. */
  epochs: number;
  /** Completions per optimiser step. */
  minibatchSize: number;
  /** Learning rate (constant). */
  lr: number;
  /** Global gradient-norm clip (0: off). */
  gradClip: number;
  /** ε (ε_low) of the clipped ratio [epsilon]. */
  clipRange: number;
  /** ε_high of the clip, DAPO's clip-higher (null: = clipRange) [epsilon_high]. */
  clipRangeHigh: number | null;
  /** KL coefficient β ≥ 0 (0: no KL term). */
  beta: number;
  /** Where the KL goes: per token in the loss (the paper) or inside the sequence reward. */
  klPlacement: KlPlacement;
  /** Per-token KL estimator; "auto": k3 in the loss (the paper), k1 in the reward (exact). */
  klEstimator: SampleKlEstimator | "auto";
  /** Divide advantages by the group's std (GRPO); false is Dr. GRPO [scale_rewards]. */
  scaleRewards: boolean;
  /** How per-token losses are averaged (lib/losses/grpo.ts) [loss_type]. */
  aggregation: GrpoAggregation;
  /** Emit sample texts every this many iterations (0: never). */
  sampleEvery: number;
  /** Call the run's `evaluate` every this many iterations and after the last (0: never). */
  evalEvery: number;
  /** Seed of prompt order and sampling. */
  seed: number;
}

/** Field specs for {@link GrpoConfig}. */
export const GRPO_CONFIG_SCHEMA: Schema<GrpoConfig> = {
  iterations: { type: "number", int: true, min: 1, doc: "GRPO iterations" },
  promptsPerIteration: { type: "number", int: true, min: 1, doc: "prompts per iteration" },
  groupSize: { type: "number", int: true, min: 2, doc: "completions per prompt G" },
  maxNewTokens: { type: "number", int: true, min: 1, doc: "max new tokens per completion" },
  temperature: { type: "number", gt: 0, doc: "sampling temperature" },
  epochs: { type: "number", int: true, min: 1, doc: "passes over each rollout (μ)" },
  minibatchSize: { type: "number", int: true, min: 1, doc: "completions per optimiser step" },
  lr: { type: "number", gt: 0, doc: "learning rate" },
  gradClip: { type: "number", min: 0, doc: "global gradient-norm clip, 0 = off" },
  clipRange: { type: "number", gt: 0, doc: "clip ε_low" },
  clipRangeHigh: { type: "number", gt: 0, nullable: true, doc: "clip ε_high, null = ε_low" },
  beta: { type: "number", min: 0, doc: "KL coefficient β (0: no KL term)" },
  klPlacement: { type: "enum", values: KL_PLACEMENTS, doc: "KL in the loss or in the reward" },
  klEstimator: {
    type: "enum",
    values: ["auto", "k1", "k2", "k3"],
    doc: "per-token KL estimator (auto: k3 in the loss, k1 in the reward)",
  },
  scaleRewards: { type: "boolean", doc: "divide advantages by the group std" },
  aggregation: { type: "enum", values: GRPO_AGGREGATIONS, doc: "token aggregation of the loss" },
  sampleEvery: { type: "number", int: true, min: 0, doc: "emit samples every N iterations" },
  evalEvery: { type: "number", int: true, min: 0, doc: "evaluate every N iterations, 0 = never" },
  seed: { type: "number", int: true, doc: "seed of prompts and sampling" },
};

/** Defaults: the paper's GRPO (k3 in the loss, std division, per-sequence mean). */
export const GRPO_DEFAULTS: GrpoConfig = {
  iterations: 30,
  promptsPerIteration: 8,
  groupSize: 8,
  maxNewTokens: 12,
  temperature: 1,
  epochs: 2,
  minibatchSize: 16,
  lr: 3e-4,
  gradClip: 1,
  clipRange: 0.2,
  clipRangeHigh: null,
  beta: 0.1,
  klPlacement: "loss",
  klEstimator: "auto",
  scaleRewards: true,
  aggregation: "sequence_mean",
  sampleEvery: 10,
  evalEvery: 0,
  seed: 0,
};

/** What Dr. GRPO changes (Liu et al. 2025): no std division, a constant normaliser. */
export const DR_GRPO_CONFIG: Pick<GrpoConfig, "scaleRewards" | "aggregation"> = {
  scaleRewards: false,
  aggregation: "dr_grpo",
};

/** Validate a GRPO config over {@link GRPO_DEFAULTS}. */
export function grpoConfig(overrides: Partial<GrpoConfig> = {}, section = "grpo"): GrpoConfig {
  return resolveConfig(section, GRPO_CONFIG_SCHEMA, GRPO_DEFAULTS, overrides);
}

/** The estimator a config uses: "auto" is k3 in the loss and k1 in the reward. */
export function grpoKlEstimator(
  c: Pick<GrpoConfig, "klPlacement" | "klEstimator">,
): SampleKlEstimator {
  if (c.klEstimator !== "auto") return c.klEstimator;
  return c.klPlacement === "reward" ? "k1" : "k3";
}

/** Inputs of {@link trainGrpo}. */
export interface GrpoRun extends OnlineRun {
  /** Hyper-parameters (see {@link grpoConfig}). */
  config: GrpoConfig;
}

/** Train `policy` in place with GRPO; returns one row per iteration (and evaluation rows). */
export async function trainGrpo(run: GrpoRun): Promise<MetricRow[]> {
  const { policy, config: c } = run;
  const scoreName = run.rewardMetric ?? "reward/score";
  if (run.prompts.length === 0) throw new RangeError("GRPO needs at least one prompt");
  const rng = new Rng(c.seed);
  const opt = new AdamW(policy.params, { gradClip: c.gradClip });
  const G = c.groupSize;
  const inReward = c.klPlacement === "reward";
  const estimator = grpoKlEstimator(c);
  try {
    return await runOnlineLoop(run, {
      iterations: c.iterations,
      evalEvery: c.evalEvery,
      sampleEvery: c.sampleEvery,
      label: run.progress === false ? false : run.progress || `grpo β=${c.beta}`,
      iterate: async (it) => {
        const t0 = performance.now();
        const ro = await collectGroupRollout({
          policy,
          ref: run.ref,
          prompts: drawPrompts(run.prompts, c.promptsPerIteration, rng),
          groupSize: G,
          maxNewTokens: c.maxNewTokens,
          temperature: c.temperature,
          klEstimator: inReward ? estimator : "k1",
          reward: run.reward,
          rng,
        });
        for (const s of ro.scores) checkFinite(scoreName, s, it);
        const { batch } = ro;
        // R_i: the score, with −β·Σ_t KL_t inside when the KL goes in the reward.
        const rewards = inReward
          ? klPenalisedRewards({
            score: ro.scores,
            klPerToken: ro.klPerToken,
            mask: batch.mask,
            beta: c.beta,
          })
          : ro.scores;
        const advantages = groupAdvantages(rewards, G, { scaleByStd: c.scaleRewards });
        const T = batch.length;
        const stats = await minibatchEpochs({
          rows: batch.batch,
          epochs: c.epochs,
          minibatchSize: c.minibatchSize,
          rng,
          it,
          step: async (idx) => {
            const mb = selectRows(batch, idx);
            const b = idx.length;
            const rowsOf = (x: Float32Array) => tf.tensor2d(selectRowsOf(x, T, idx), [b, T]);
            const tokens = tf.tensor2d(mb.tokens, [b, T + 1], "int32");
            const mask = tf.tensor2d(mb.mask, [b, T]);
            const oldLogProbs = rowsOf(ro.logProbs), refLogProbs = rowsOf(ro.refLogProbs);
            const adv = tf.tensor1d(idx.map((i) => advantages[i]!));
            let diag: Tensor[] = [];
            const { loss, gradNorm } = optimiserStep(opt, () => {
              const inputs = tokens.slice([0, 0], [b, T]) as Tensor2D;
              const logits = temperedLogits(policy, inputs, c.temperature); // [b, T, V]
              // Masked before the ratio and the KL estimate: prompt positions stay exactly 0.
              const logProbs = gatherLogProbs(logits, tokens.slice([0, 1], [b, T])).mul(mask); // [b, T]
              const out = grpoLoss({
                logProbs,
                oldLogProbs,
                refLogProbs,
                advantages: adv,
                mask,
                beta: inReward ? 0 : c.beta,
                klEstimator: estimator,
                clipRange: c.clipRange,
                clipRangeHigh: c.clipRangeHigh ?? c.clipRange,
                aggregation: c.aggregation,
                maxTokens: c.maxNewTokens,
              });
              diag = [out.pgLoss, out.kl, out.clipFrac, entropyFromLogits(logits, mask)].map((x) =>
                tf.keep(x)
              );
              return out.loss;
            }, c.lr);
            tf.dispose([tokens, mask, oldLogProbs, refLogProbs, adv]);
            return await readScalars({
              "loss/total": loss,
              "loss/policy": diag[0]!,
              "grpo/kl_in_loss": diag[1]!,
              "grpo/clip_frac": diag[2]!,
              "policy/entropy": diag[3]!,
              "train/grad_norm": gradNorm,
            });
          },
        });
        const group = groupStats(rewards, G);
        const metrics: Record<string, number> = {
          ...rolloutMetrics(ro, scoreName, c.beta, (performance.now() - t0) / 1000),
          ...stats,
          "grpo/reward_std": group.meanStd,
          "grpo/zero_std_frac": group.zeroStdFraction,
        };
        checkFinite("kl/ref", metrics["kl/ref"]!, it);
        for (const [name, source] of Object.entries(run.monitors ?? {})) {
          metrics[name] = meanOf(await source(ro.prompts, ro.responses, batch));
        }
        return {
          metrics,
          samples: firstSamples(it + 1, ro.prompts, ro.responses, ro.scores),
          show: `score ${metrics[scoreName]!.toFixed(3)} kl ${metrics["kl/ref"]!.toFixed(2)}`,
        };
      },
    });
  } finally {
    opt.dispose();
  }
}

/**
 * The mean within-group standard deviation of the rewards (n − 1, as groupAdvantages) and
 * the fraction of groups whose rewards are all equal: their advantages are 0, so they
 * teach nothing (TRL's `frac_reward_zero_std`).
 */
export function groupStats(
  rewards: ArrayLike<number>,
  groupSize: number,
): { meanStd: number; zeroStdFraction: number } {
  const groups = Math.floor(rewards.length / groupSize);
  let stdSum = 0, zero = 0;
  for (let g = 0; g < groups; g++) {
    let m = 0;
    for (let i = 0; i < groupSize; i++) m += rewards[g * groupSize + i]!;
    m /= groupSize;
    let ss = 0;
    for (let i = 0; i < groupSize; i++) ss += (rewards[g * groupSize + i]! - m) ** 2;
    stdSum += Math.sqrt(ss / (groupSize - 1));
    if (ss === 0) zero++;
  }
  return { meanStd: stdSum / groups, zeroStdFraction: zero / groups };
}
