/**
 * RLOO on a causal LM (Ahmadian et al. 2024, "Back to Basics", §3.3), the loss of
 * lib/losses/rloo.ts on the shared critic-free loop. One iteration:
 *
 *   draw prompts → k completions each (lib/train/group_rollout.ts) → sequence rewards with
 *   the KL inside, R = r − β·Σ_t KL_t (k1 by default) → leave-one-out advantages
 *   A_i = R_i − mean_{j≠i} R_j → `epochs` passes of minibatch updates → one metric row.
 *
 * With k1 at the sampled tokens E[R] = E[r] − β·KL(π‖π_ref) over whole sequences and the
 * leave-one-out baseline leaves the gradient unbiased, so the fixed point is π*_β (the
 * token-level exact task checks it, lib/train/token_rloo.ts). `variant: "reinforce"` is
 * the paper's loss, −A·Σ_t log π_θ, valid on fresh samples only: one pass (`epochs` 1),
 * and each minibatch after the first of an iteration is slightly off-policy.
 * `"ppo_clip"` (the default; TRL's RLOOTrainer) clips the sequence-level ratio, so several
 * passes and minibatches stay close to the sampling policy; on fresh samples its gradient
 * is REINFORCE's.
 *
 * As in PPO and GRPO, every log-probability is read at the sampling temperature τ.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D } from "../util/tensor_types.ts";
import { gatherLogProbs } from "../models/causal_lm.ts";
import { selectRows, selectRowsOf } from "../data/response_batch.ts";
import type { SampleKlEstimator } from "../losses/kl.ts";
import {
  klPenalisedRewards,
  RLOO_VARIANTS,
  rlooAdvantages,
  rlooLoss,
  type RlooVariant,
} from "../losses/rloo.ts";
import { entropyFromLogits } from "../losses/ppo.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { temperedLogits } from "./response_log_probs.ts";
import { checkFinite, type MetricRow, readScalars } from "./metrics.ts";
import { collectGroupRollout, drawPrompts, meanOf, rolloutMetrics } from "./group_rollout.ts";
import { firstSamples, minibatchEpochs, type OnlineRun, runOnlineLoop } from "./online_loop.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { ConfigError } from "../util/errors.ts";

/** RLOO hyper-parameters. */
export interface RlooConfig {
  /** Iterations (rollout + update). */
  iterations: number;
  /** Prompts per iteration, each sampled `k` times. */
  promptsPerIteration: number;
  /** Completions per prompt k ≥ 2 (the leave-one-out baseline needs another). */
  k: number;
  /** Maximum new tokens per completion. */
  maxNewTokens: number;
  /** Sampling temperature τ; every log-probability is read at τ. */
  temperature: number;
  /** Passes over each iteration's completions ("reinforce": 1). */
  epochs: number;
  /** Completions per optimiser step. */
  minibatchSize: number;
  /** Learning rate (constant). */
  lr: number;
  /** Global gradient-norm clip (0: off). */
  gradClip: number;
  /** KL coefficient β ≥ 0 inside the sequence reward. */
  beta: number;
  /** Per-token KL estimator summed into the reward (k1: unbiased for the sequence KL). */
  klEstimator: SampleKlEstimator;
  /** "reinforce" (the paper) or "ppo_clip" (sequence-level clipped ratio, TRL's). */
  variant: RlooVariant;
  /** ε of "ppo_clip". */
  clipRange: number;
  /** Emit sample texts every this many iterations (0: never). */
  sampleEvery: number;
  /** Call the run's `evaluate` every this many iterations and after the last (0: never). */
  evalEvery: number;
  /** Seed of prompt order and sampling. */
  seed: number;
}

/** Field specs for {@link RlooConfig}. */
export const RLOO_CONFIG_SCHEMA: Schema<RlooConfig> = {
  iterations: { type: "number", int: true, min: 1, doc: "RLOO iterations" },
  promptsPerIteration: { type: "number", int: true, min: 1, doc: "prompts per iteration" },
  k: { type: "number", int: true, min: 2, doc: "completions per prompt k" },
  maxNewTokens: { type: "number", int: true, min: 1, doc: "max new tokens per completion" },
  temperature: { type: "number", gt: 0, doc: "sampling temperature" },
  epochs: { type: "number", int: true, min: 1, doc: "passes over each rollout" },
  minibatchSize: { type: "number", int: true, min: 1, doc: "completions per optimiser step" },
  lr: { type: "number", gt: 0, doc: "learning rate" },
  gradClip: { type: "number", min: 0, doc: "global gradient-norm clip, 0 = off" },
  beta: { type: "number", min: 0, doc: "KL coefficient β in the reward" },
  klEstimator: { type: "enum", values: ["k1", "k2", "k3"], doc: "per-token KL estimator" },
  variant: { type: "enum", values: RLOO_VARIANTS, doc: "REINFORCE or sequence-level clip" },
  clipRange: { type: "number", gt: 0, doc: "clip ε of ppo_clip" },
  sampleEvery: { type: "number", int: true, min: 0, doc: "emit samples every N iterations" },
  evalEvery: { type: "number", int: true, min: 0, doc: "evaluate every N iterations, 0 = never" },
  seed: { type: "number", int: true, doc: "seed of prompts and sampling" },
};

/** Defaults for the canonical task. */
export const RLOO_DEFAULTS: RlooConfig = {
  iterations: 30,
  promptsPerIteration: 16,
  k: 4,
  maxNewTokens: 12,
  temperature: 1,
  epochs: 2,
  minibatchSize: 16,
  lr: 3e-4,
  gradClip: 1,
  beta: 0.1,
  klEstimator: "k1",
  variant: "ppo_clip",
  clipRange: 0.2,
  sampleEvery: 10,
  evalEvery: 0,
  seed: 0,
};

/** Validate an RLOO config over {@link RLOO_DEFAULTS}, field by field and across fields. */
export function rlooConfig(overrides: Partial<RlooConfig> = {}, section = "rloo"): RlooConfig {
  const c = resolveConfig(section, RLOO_CONFIG_SCHEMA, RLOO_DEFAULTS, overrides);
  checkRlooRules(c, section);
  return c;
}

/**
 * The rule that ties RLOO fields together (`section` prefixes the names as typed).
 * @throws ConfigError when "reinforce" is asked for more than one pass: it has no
 *   importance ratio, so a second pass over the same samples would be off-policy.
 */
export function checkRlooRules(c: Pick<RlooConfig, "variant" | "epochs">, section = "rloo"): void {
  if (c.variant === "reinforce" && c.epochs !== 1) {
    throw new ConfigError(
      `${section}.epochs must be 1 with ${section}.variant "reinforce", got ${c.epochs}: ` +
        `REINFORCE has no importance ratio, so a second pass over the same samples is ` +
        `off-policy; use ${section}.variant "ppo_clip" for several passes`,
    );
  }
}

/** Inputs of {@link trainRloo}. */
export interface RlooRun extends OnlineRun {
  /** Hyper-parameters (see {@link rlooConfig}). */
  config: RlooConfig;
}

/** Train `policy` in place with RLOO; returns one row per iteration (and evaluation rows). */
export async function trainRloo(run: RlooRun): Promise<MetricRow[]> {
  const { policy, config: c } = run;
  checkRlooRules(c);
  const scoreName = run.rewardMetric ?? "reward/score";
  if (run.prompts.length === 0) throw new RangeError("RLOO needs at least one prompt");
  const rng = new Rng(c.seed);
  const opt = new AdamW(policy.params, { gradClip: c.gradClip });
  try {
    return await runOnlineLoop(run, {
      iterations: c.iterations,
      evalEvery: c.evalEvery,
      sampleEvery: c.sampleEvery,
      label: run.progress === false ? false : run.progress || `rloo β=${c.beta}`,
      iterate: async (it) => {
        const t0 = performance.now();
        const ro = await collectGroupRollout({
          policy,
          ref: run.ref,
          prompts: drawPrompts(run.prompts, c.promptsPerIteration, rng),
          groupSize: c.k,
          maxNewTokens: c.maxNewTokens,
          temperature: c.temperature,
          klEstimator: c.klEstimator,
          reward: run.reward,
          rng,
        });
        for (const s of ro.scores) checkFinite(scoreName, s, it);
        const { batch } = ro;
        const rewards = klPenalisedRewards({
          score: ro.scores,
          klPerToken: ro.klPerToken,
          mask: batch.mask,
          beta: c.beta,
        }); // R_i = r_i − β·Σ_t KL_t
        const advantages = rlooAdvantages(rewards, c.k);
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
            const tokens = tf.tensor2d(mb.tokens, [b, T + 1], "int32");
            const mask = tf.tensor2d(mb.mask, [b, T]);
            const oldLogProbs = tf.tensor2d(selectRowsOf(ro.logProbs, T, idx), [b, T]);
            const adv = tf.tensor1d(idx.map((i) => advantages[i]!));
            let diag: Tensor[] = [];
            const { loss, gradNorm } = optimiserStep(opt, () => {
              const inputs = tokens.slice([0, 0], [b, T]) as Tensor2D;
              const logits = temperedLogits(policy, inputs, c.temperature); // [b, T, V]
              const logProbs = gatherLogProbs(logits, tokens.slice([0, 1], [b, T])).mul(mask); // [b, T]
              const out = rlooLoss({
                logProbs,
                oldLogProbs,
                advantages: adv,
                mask,
                variant: c.variant,
                clipRange: c.clipRange,
              });
              diag = [out.clipFrac, out.ratioMean, entropyFromLogits(logits, mask)].map((x) =>
                tf.keep(x)
              );
              return out.loss;
            }, c.lr);
            tf.dispose([tokens, mask, oldLogProbs, adv]);
            return await readScalars({
              "loss/policy": loss,
              "rloo/clip_frac": diag[0]!,
              "rloo/ratio_mean": diag[1]!,
              "policy/entropy": diag[2]!,
              "train/grad_norm": gradNorm,
            });
          },
        });
        const metrics: Record<string, number> = {
          ...rolloutMetrics(ro, scoreName, c.beta, (performance.now() - t0) / 1000),
          ...stats,
          "rloo/reward_penalised": meanOf(rewards),
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
