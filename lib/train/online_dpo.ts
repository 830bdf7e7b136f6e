/**
 * Online DPO on a causal LM (Guo et al. 2024, "Direct Language Model Alignment from Online
 * AI Feedback", arXiv:2402.04792): every iteration samples two completions per prompt from
 * the *current* policy (lib/train/group_rollout.ts, groups of 2), has an annotator label
 * each pair from the two completions' rewards, and takes DPO-family steps
 * (lib/losses/dpo.ts: DPO, IPO, hinge, SimPO, cDPO's label smoothing) against the frozen
 * reference, whose log-probabilities the rollout already read.
 *
 * Who labels: `annotator` (lib/data/annotators.ts) compares the two rewards of the pair.
 * The noiseless annotator (the default) prefers the higher reward, as TRL's OnlineDPOTrainer
 * does with a reward model; a Bradley–Terry annotator at temperature τ draws the label
 * with P(a ≻ b) = σ((r_a − r_b)/τ), which is how the kit simulates people — on the reward
 * model's own score with τ = 1 it labels as the reward model believes, on the gold reward
 * it is online human feedback. A pair the annotator calls a tie is skipped, as the DPO
 * trainer skips tied pairs.
 *
 * Why it targets π*_β (the token-level exact task checks it, lib/train/token_online_dpo.ts):
 * with Bradley–Terry labels on a reward r, the population DPO loss is minimised wherever
 * β·(log π/π_ref)(y) − β·(log π/π_ref)(y') = r(y) − r(y') on the pairs sampled, i.e. at
 * π_ref·exp(r/β)/Z; sampling the pairs from the moving policy changes which pairs are seen,
 * not that minimiser. Noiseless labels have no finite minimiser (they push every margin to
 * ∞), so there β sets a pace rather than a KL price.
 *
 * The policy pass runs without dropout (the reference log-probabilities come from the
 * rollout, which has none), and every log-probability is read at the sampling temperature.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor1D, Tensor2D } from "../util/tensor_types.ts";
import { gatherLogProbs } from "../models/causal_lm.ts";
import { selectRows } from "../data/response_batch.ts";
import { type Annotator, noiseless } from "../data/annotators.ts";
import { DPO_LOSS_NAMES, dpoLoss, type DpoLossName } from "../losses/dpo.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { temperedLogits } from "./response_log_probs.ts";
import { checkFinite, type MetricRow, readScalars } from "./metrics.ts";
import {
  collectGroupRollout,
  drawPrompts,
  maskedRowSums,
  meanOf,
  rolloutMetrics,
} from "./group_rollout.ts";
import { firstSamples, minibatchEpochs, type OnlineRun, runOnlineLoop } from "./online_loop.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";

/** Online DPO hyper-parameters. */
export interface OnlineDpoConfig {
  /** Iterations (sample pairs → label → update). */
  iterations: number;
  /** Prompts per iteration, one pair of completions each. */
  promptsPerIteration: number;
  /** Maximum new tokens per completion. */
  maxNewTokens: number;
  /** Sampling temperature τ; every log-probability is read at τ. */
  temperature: number;
  /** Passes over each iteration's labelled pairs. */
  epochs: number;
  /** Pairs per optimiser step. */
  minibatchSize: number;
  /** Learning rate (constant). */
  lr: number;
  /** Global gradient-norm clip (0: off). */
  gradClip: number;
  /** β of the DPO-family loss. */
  beta: number;
  /** Which loss of the family (lib/losses/dpo.ts). */
  lossType: DpoLossName;
  /** ε of conservative DPO (probability a label is flipped). */
  labelSmoothing: number;
  /** Average log-probs over tokens (TRL's IPO) instead of summing. */
  lengthNormalise: boolean;
  /** SimPO's target margin γ. */
  simpoGamma: number;
  /** Emit sample texts every this many iterations (0: never). */
  sampleEvery: number;
  /** Call the run's `evaluate` every this many iterations and after the last (0: never). */
  evalEvery: number;
  /** Seed of prompt order, sampling and the annotator's draws. */
  seed: number;
}

/** Field specs for {@link OnlineDpoConfig}. */
export const ONLINE_DPO_CONFIG_SCHEMA: Schema<OnlineDpoConfig> = {
  iterations: { type: "number", int: true, min: 1, doc: "online DPO iterations" },
  promptsPerIteration: { type: "number", int: true, min: 1, doc: "pairs sampled per iteration" },
  maxNewTokens: { type: "number", int: true, min: 1, doc: "max new tokens per completion" },
  temperature: { type: "number", gt: 0, doc: "sampling temperature" },
  epochs: { type: "number", int: true, min: 1, doc: "passes over each iteration's pairs" },
  minibatchSize: { type: "number", int: true, min: 1, doc: "pairs per optimiser step" },
  lr: { type: "number", gt: 0, doc: "learning rate" },
  gradClip: { type: "number", min: 0, doc: "global gradient-norm clip, 0 = off" },
  beta: { type: "number", gt: 0, doc: "β of the loss" },
  lossType: { type: "enum", values: DPO_LOSS_NAMES, doc: "loss of the DPO family" },
  labelSmoothing: { type: "number", min: 0, lt: 0.5, doc: "label smoothing ε (cDPO)" },
  lengthNormalise: { type: "boolean", doc: "token-average log-probs (TRL's IPO)" },
  simpoGamma: { type: "number", min: 0, doc: "SimPO target margin γ" },
  sampleEvery: { type: "number", int: true, min: 0, doc: "emit samples every N iterations" },
  evalEvery: { type: "number", int: true, min: 0, doc: "evaluate every N iterations, 0 = never" },
  seed: { type: "number", int: true, doc: "seed of prompts, sampling and labels" },
};

/** Defaults for the canonical task. */
export const ONLINE_DPO_DEFAULTS: OnlineDpoConfig = {
  iterations: 60,
  promptsPerIteration: 32,
  maxNewTokens: 12,
  temperature: 1,
  epochs: 1,
  minibatchSize: 32,
  lr: 5e-4,
  gradClip: 1,
  beta: 0.1,
  lossType: "dpo",
  labelSmoothing: 0,
  lengthNormalise: false,
  simpoGamma: 0.5,
  sampleEvery: 10,
  evalEvery: 0,
  seed: 0,
};

/** Validate an online DPO config over {@link ONLINE_DPO_DEFAULTS}. */
export function onlineDpoConfig(
  overrides: Partial<OnlineDpoConfig> = {},
  section = "odpo",
): OnlineDpoConfig {
  return resolveConfig(section, ONLINE_DPO_CONFIG_SCHEMA, ONLINE_DPO_DEFAULTS, overrides);
}

/** Inputs of {@link trainOnlineDpo}: `reward` is what the annotator labels pairs by. */
export interface OnlineDpoRun extends OnlineRun {
  /** Hyper-parameters (see {@link onlineDpoConfig}). */
  config: OnlineDpoConfig;
  /** Labels each pair from its two rewards; default the noiseless annotator (ν = 0). */
  annotator?: Annotator;
}

/** One labelled pair: row indices of the rollout. */
interface RowPair {
  chosen: number;
  rejected: number;
}

/** Train `policy` in place with online DPO; returns one row per iteration (and evaluations). */
export async function trainOnlineDpo(run: OnlineDpoRun): Promise<MetricRow[]> {
  const { policy, config: c } = run;
  const scoreName = run.rewardMetric ?? "reward/score";
  if (run.prompts.length === 0) throw new RangeError("online DPO needs at least one prompt");
  const annotator = run.annotator ?? noiseless();
  const rng = new Rng(c.seed);
  const labelRng = new Rng(c.seed).fork(1); // the annotator's own stream
  const opt = new AdamW(policy.params, { gradClip: c.gradClip });
  try {
    return await runOnlineLoop(run, {
      iterations: c.iterations,
      evalEvery: c.evalEvery,
      sampleEvery: c.sampleEvery,
      label: run.progress === false ? false : run.progress || `online ${c.lossType} β=${c.beta}`,
      iterate: async (it) => {
        const t0 = performance.now();
        const ro = await collectGroupRollout({
          policy,
          ref: run.ref,
          prompts: drawPrompts(run.prompts, c.promptsPerIteration, rng),
          groupSize: 2,
          maxNewTokens: c.maxNewTokens,
          temperature: c.temperature,
          klEstimator: "k1",
          reward: run.reward,
          rng,
        });
        for (const s of ro.scores) checkFinite(scoreName, s, it);
        const { batch } = ro;
        const T = batch.length;
        const pairs: RowPair[] = [];
        let higher = 0;
        for (let a = 0; a < batch.batch; a += 2) {
          const ra = ro.scores[a]!, rb = ro.scores[a + 1]!;
          const label = annotator.comparePair(ra, rb, labelRng);
          if (label.tie) continue;
          const pair = label.aWins
            ? { chosen: a, rejected: a + 1 }
            : { chosen: a + 1, rejected: a };
          const d = ro.scores[pair.chosen]! - ro.scores[pair.rejected]!;
          higher += d > 0 ? 1 : d === 0 ? 0.5 : 0;
          pairs.push(pair);
        }
        const refSeq = maskedRowSums(ro.refLogProbs, batch.mask, T); // Σ_t log π_ref, [B]
        const stats = pairs.length === 0 ? {} : await minibatchEpochs({
          rows: pairs.length,
          epochs: c.epochs,
          minibatchSize: c.minibatchSize,
          rng,
          it,
          step: async (idx) => {
            const chosen = idx.map((i) => pairs[i]!.chosen);
            const rejected = idx.map((i) => pairs[i]!.rejected);
            // Chosen then rejected in one batch: one forward pass for both (the DPO code's).
            const mb = selectRows(batch, [...chosen, ...rejected]);
            const b = idx.length;
            const tokens = tf.tensor2d(mb.tokens, [2 * b, T + 1], "int32");
            const mask = tf.tensor2d(mb.mask, [2 * b, T]);
            const refChosen = tf.tensor1d(chosen.map((r) => refSeq[r]!));
            const refRejected = tf.tensor1d(rejected.map((r) => refSeq[r]!));
            const lengths = Float32Array.from(mb.responseLengths);
            const chosenLengths = tf.tensor1d(lengths.subarray(0, b));
            const rejectedLengths = tf.tensor1d(lengths.subarray(b));
            let diag: Tensor[] = [];
            const { loss, gradNorm } = optimiserStep(opt, () => {
              const inputs = tokens.slice([0, 0], [2 * b, T]) as Tensor2D;
              const logits = temperedLogits(policy, inputs, c.temperature); // [2b, T, V]
              const seq = gatherLogProbs(logits, tokens.slice([0, 1], [2 * b, T]))
                .mul(mask).sum(1) as Tensor1D; // [2b]
              const [policyChosen, policyRejected] = tf.split(seq, 2) as [Tensor1D, Tensor1D];
              const out = dpoLoss({
                policyChosen,
                policyRejected,
                refChosen,
                refRejected,
                beta: c.beta,
                lossType: c.lossType,
                labelSmoothing: c.labelSmoothing,
                lengthNormalise: c.lengthNormalise,
                chosenLengths,
                rejectedLengths,
                simpoGamma: c.simpoGamma,
              });
              diag = [
                out.chosenRewards.mean(),
                out.rejectedRewards.mean(),
                out.rewardAccuracy,
                out.rewardMargin,
                policyChosen.mean(),
                policyRejected.mean(),
              ].map((x) => tf.keep(x));
              return out.loss as Scalar;
            }, c.lr);
            tf.dispose([tokens, mask, refChosen, refRejected, chosenLengths, rejectedLengths]);
            return await readScalars({
              "loss/dpo": loss,
              "rewards/chosen": diag[0]!,
              "rewards/rejected": diag[1]!,
              "rewards/accuracy": diag[2]!,
              "rewards/margin": diag[3]!,
              "logps/chosen": diag[4]!,
              "logps/rejected": diag[5]!,
              "train/grad_norm": gradNorm,
            });
          },
        });
        const metrics: Record<string, number> = {
          ...rolloutMetrics(ro, scoreName, c.beta, (performance.now() - t0) / 1000),
          ...stats,
          "online_dpo/tie_frac": 1 - pairs.length / (batch.batch / 2),
          // Of the untied labels, the share that prefer the higher reward (equal: half).
          ...(pairs.length ? { "online_dpo/label_agreement": higher / pairs.length } : {}),
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
