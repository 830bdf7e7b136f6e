/**
 * PPO against a KL-penalised reward (Ziegler et al. 2019; Stiennon et al. 2020; Ouyang et
 * al. 2022): maximise E[r(x, y)] − β·KL(π‖π_ref) with completions sampled from the policy
 * itself. One iteration reads as:
 *
 *   rollout → score → shape rewards (−β·KL_t, + score at the last token) → GAE →
 *   several epochs of minibatch updates of policy (clipped surrogate) and value (clipped
 *   value loss), early stop on approx KL → KL controller update → one metric row.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor2D } from "../util/tensor_types.ts";
import { type CausalLM, gatherLogProbs } from "../models/causal_lm.ts";
import type { ScalarModel } from "../models/scalar_head.ts";
import { selectRows, selectRowsOf } from "../data/response_batch.ts";
import { KL_ESTIMATORS, type KlEstimator } from "../losses/kl.ts";
import {
  entropyFromLogits,
  explainedVariance,
  gae,
  ppoPolicyLoss,
  ppoValueLoss,
  shapeRewards,
  whiten,
} from "../losses/ppo.ts";
import { AdamW, optimiserStep } from "./adamw.ts";
import { temperedLogits } from "./response_log_probs.ts";
import { AdaptiveKlController, FixedKlController, type KlController } from "./kl_controller.ts";
import { checkFinite, type MetricRow, readScalars, type RowSink } from "./metrics.ts";
import { collectRollout, type RewardSource, type Rollout, sequenceKl } from "./rollout.ts";
import { Progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { ConfigError } from "../util/errors.ts";

/** PPO hyper-parameters (names follow TRL's PPOConfig where they coincide). */
export interface PpoConfig {
  /** PPO iterations (rollout + update). */
  iterations: number;
  /** Prompts per rollout. */
  rolloutBatch: number;
  /** Maximum new tokens per completion. */
  maxNewTokens: number;
  /**
   * Sampling temperature τ of rollouts. The trained policy is the tempered π_τ =
   * softmax(logits/τ): log π_old, log π_θ in the clipped ratio, log π_ref in the KL and
   * the entropy are all read at τ (as TRL does).
   */
  temperature: number;
  /** Passes over each rollout. */
  epochs: number;
  /** Rows per minibatch. */
  minibatchSize: number;
  /** Policy learning rate (constant). */
  lr: number;
  /** Value-model learning rate (constant). */
  valueLr: number;
  /** Global gradient-norm clip. */
  gradClip: number;
  /** ε of the clipped surrogate. */
  clipRange: number;
  /** ε_v of the clipped value loss. */
  clipRangeValue: number;
  /** Entropy bonus coefficient (0: off). */
  entCoef: number;
  /** Discount γ. */
  gamma: number;
  /** GAE λ. */
  lambda: number;
  /** KL coefficient β (initial β when adaptive). */
  beta: number;
  /** Per-token KL estimator in the shaped reward. */
  klEstimator: KlEstimator;
  /**
   * Target KL(π‖π_ref) (nats per sequence) of the adaptive β controller (Ziegler et al.
   * 2019); null: β stays fixed. Not to be confused with {@link PpoConfig.earlyStopKl}.
   */
  adaptiveKlTarget: number | null;
  /** Horizon of the adaptive controller, in samples. */
  klHorizon: number;
  /** Whiten the sequence scores over each rollout batch. */
  whitenRewards: boolean;
  /** Clip scores to ±this (null: off). */
  rewardClip: number | null;
  /** Subtract this from the score of completions that hit the length limit without EOS. */
  noEosPenalty: number | null;
  /**
   * Stop an iteration's remaining epochs when the minibatch approx KL(π_old‖π) exceeds this
   * (TRL's and CleanRL's `target_kl`); null: never.
   */
  earlyStopKl: number | null;
  /** Emit sample texts every this many iterations (0: never). */
  sampleEvery: number;
  /**
   * Call the run's `evaluate` after every this many iterations and after the last one
   * (0: never), e.g. to measure checkpoints on held-out prompts through training.
   */
  evalEvery: number;
  /** Seed of prompt order and sampling. */
  seed: number;
}

/** Field specs for {@link PpoConfig}. */
export const PPO_CONFIG_SCHEMA: Schema<PpoConfig> = {
  iterations: { type: "number", int: true, min: 1, doc: "PPO iterations" },
  rolloutBatch: { type: "number", int: true, min: 2, doc: "prompts per rollout" },
  maxNewTokens: { type: "number", int: true, min: 1, doc: "max new tokens per completion" },
  temperature: { type: "number", gt: 0, doc: "rollout sampling temperature" },
  epochs: { type: "number", int: true, min: 1, doc: "passes over each rollout" },
  minibatchSize: { type: "number", int: true, min: 1, doc: "rows per minibatch" },
  lr: { type: "number", gt: 0, doc: "policy learning rate" },
  valueLr: { type: "number", gt: 0, doc: "value learning rate" },
  gradClip: { type: "number", min: 0, doc: "global gradient-norm clip, 0 = off" },
  clipRange: { type: "number", gt: 0, doc: "PPO ratio clip ε" },
  clipRangeValue: { type: "number", gt: 0, doc: "value clip ε_v" },
  entCoef: { type: "number", min: 0, doc: "entropy bonus coefficient" },
  gamma: { type: "number", min: 0, max: 1, doc: "discount γ" },
  lambda: { type: "number", min: 0, max: 1, doc: "GAE λ" },
  beta: { type: "number", min: 0, doc: "KL coefficient β" },
  klEstimator: { type: "enum", values: KL_ESTIMATORS, doc: "per-token KL estimator" },
  adaptiveKlTarget: {
    type: "number",
    gt: 0,
    nullable: true,
    doc: "KL(π‖π_ref) the adaptive β controller steers to, null = fixed β",
  },
  klHorizon: { type: "number", gt: 0, doc: "adaptive KL horizon in samples" },
  whitenRewards: { type: "boolean", doc: "whiten sequence scores per rollout" },
  rewardClip: { type: "number", gt: 0, nullable: true, doc: "clip scores to ±c, null = off" },
  noEosPenalty: { type: "number", min: 0, nullable: true, doc: "penalty for no EOS, null = off" },
  earlyStopKl: {
    type: "number",
    gt: 0,
    nullable: true,
    doc: "approx KL(π_old‖π) that stops an iteration's epochs, null = off",
  },
  sampleEvery: { type: "number", int: true, min: 0, doc: "emit samples every N iterations" },
  evalEvery: { type: "number", int: true, min: 0, doc: "evaluate every N iterations, 0 = never" },
  seed: { type: "number", int: true, doc: "seed of prompts and sampling" },
};

/** Defaults for the canonical task on 2 cores. */
export const PPO_DEFAULTS: PpoConfig = {
  iterations: 30,
  rolloutBatch: 64,
  maxNewTokens: 12,
  temperature: 1,
  epochs: 4,
  minibatchSize: 16,
  lr: 3e-4,
  valueLr: 1e-3,
  gradClip: 1,
  clipRange: 0.2,
  clipRangeValue: 0.2,
  entCoef: 0,
  gamma: 1,
  lambda: 0.95,
  beta: 0.1,
  klEstimator: "k1",
  adaptiveKlTarget: null,
  klHorizon: 10000,
  whitenRewards: false,
  rewardClip: null,
  noEosPenalty: null,
  earlyStopKl: 0.1,
  sampleEvery: 10,
  evalEvery: 0,
  seed: 0,
};

/** Validate a PPO config over {@link PPO_DEFAULTS}, field by field and across fields. */
export function ppoConfig(overrides: Partial<PpoConfig> = {}, section = "ppo"): PpoConfig {
  const c = resolveConfig(section, PPO_CONFIG_SCHEMA, PPO_DEFAULTS, overrides);
  checkPpoRules(c, section);
  return c;
}

/**
 * The rules that tie PPO fields together, checked before any work so the message names
 * the fields as the user typed them (`section` is their prefix, e.g. `ppo`).
 * @throws ConfigError when adaptive KL control has β = 0 (the controller scales β
 *   multiplicatively, so it could never leave 0).
 */
export function checkPpoRules(
  c: Pick<PpoConfig, "beta" | "adaptiveKlTarget">,
  section = "ppo",
): void {
  if (c.adaptiveKlTarget !== null && !(c.beta > 0)) {
    throw new ConfigError(
      `${section}.beta must be > 0 when ${section}.adaptiveKlTarget is set ` +
        `(${c.adaptiveKlTarget}): the adaptive controller scales β multiplicatively, so ` +
        `from ${c.beta} it could never move; give ${section}.beta > 0 or ` +
        `${section}.adaptiveKlTarget null`,
    );
  }
}

/** A few completions of an iteration, for logs and samples.jsonl. */
export interface PpoSample {
  /** The iteration (1-based) the completion was sampled at. */
  step: number;
  /** Prompt token ids (with BOS). */
  prompt: number[];
  /** Response token ids. */
  response: number[];
  /** The training reward of the completion. */
  score: number;
}

/** Inputs of {@link trainPpo}. */
export interface PpoRun {
  /** The policy to train, in place. */
  policy: CausalLM;
  /** The frozen reference (SFT) model. */
  ref: CausalLM;
  /** The value model (initialised from the reward model or the SFT model by the caller). */
  value: ScalarModel;
  /** Training reward: a reward model, or the gold reward ("PPO-GT"). */
  reward: RewardSource;
  /** Metric name of the training reward's mean (default `reward/score`). */
  rewardMetric?: string;
  /**
   * Rewards measured but not trained on, by metric name: e.g. `{ "reward/gold": gold }`
   * when training on the reward model, `{ "reward/proxy": rm }` for PPO-GT.
   */
  monitors?: Readonly<Record<string, RewardSource>>;
  /** Prompt pool (token ids with BOS). */
  prompts: readonly number[][];
  /** Hyper-parameters (see {@link ppoConfig}). */
  config: PpoConfig;
  /** Receives each metric row as it is logged. */
  onRow?: RowSink;
  /** Receives a few completions of an iteration every `sampleEvery` iterations. */
  onSamples?: (samples: PpoSample[]) => void;
  /** Label of the progress bar; `false` silences it. */
  progress?: string | false;
  /**
   * Called after every iteration whose losses, rewards and KL were all finite, with the
   * number of iterations done (1-based), e.g. to save a checkpoint known to be good.
   */
  afterStep?: (iterationsDone: number) => Promise<void> | void;
  /**
   * Checkpoint evaluation, after iterations evalEvery, 2·evalEvery, … and the last (see
   * {@link PpoConfig.evalEvery}), with the number of iterations done; its numbers become a
   * row `{ step: iterationsDone, ...metrics }` among the metric rows (as the shared loop's
   * `evaluate` does), before `afterStep` of that iteration. It must draw its own
   * randomness: the training stream is not passed to it, so training is the same with it
   * or without it.
   */
  evaluate?: (iterationsDone: number) => Promise<Record<string, number>>;
}

/** Train `policy` and `value` in place; returns one row per iteration. */
export async function trainPpo(run: PpoRun): Promise<MetricRow[]> {
  const { policy, value, config: c } = run;
  checkPpoRules(c);
  const scoreName = run.rewardMetric ?? "reward/score";
  if (run.prompts.length === 0) throw new RangeError("PPO needs at least one prompt");
  const rng = new Rng(c.seed);
  const policyOpt = new AdamW(policy.params, { gradClip: c.gradClip });
  const valueOpt = new AdamW(value.params, { gradClip: c.gradClip });
  const controller: KlController = c.adaptiveKlTarget === null
    ? new FixedKlController(c.beta)
    : new AdaptiveKlController({
      initBeta: c.beta,
      target: c.adaptiveKlTarget,
      horizon: c.klHorizon,
    });
  const bar = new Progress({
    label: run.progress || `ppo β=${c.beta}`,
    total: c.iterations,
    quiet: run.progress === false,
    every: 5,
  });
  const rows: MetricRow[] = [];
  try {
    for (let it = 0; it < c.iterations; it++) {
      const t0 = performance.now();
      const prompts = Array.from(
        { length: c.rolloutBatch },
        () => run.prompts[rng.int(run.prompts.length)]!,
      );
      const ro = await collectRollout({
        policy,
        ref: run.ref,
        value,
        prompts,
        maxNewTokens: c.maxNewTokens,
        temperature: c.temperature,
        klEstimator: c.klEstimator,
        reward: run.reward,
        rng,
      });
      const beta = controller.value;
      const { batch } = ro;
      const adv = rolloutAdvantages(ro, c, beta);
      for (let i = 0; i < adv.scores.length; i++) checkFinite(scoreName, adv.scores[i]!, it);
      const stats = await ppoEpochs(run, ro, adv.advantages, adv.returns, rng, it);

      const seqKl = sequenceKl(ro.logProbs, ro.refLogProbs, batch);
      const kl = mean(seqKl);
      controller.update(kl, c.rolloutBatch);
      const secs = (performance.now() - t0) / 1000;
      const tokens = batch.responseLengths.reduce((a, n) => a + n, 0);
      const row: MetricRow = {
        step: it + 1,
        [scoreName]: mean(ro.scores),
        "kl/ref": checkFinite("kl/ref", kl, it),
        "kl/beta": beta,
        "objective/rlhf": mean(ro.scores) - beta * kl,
        ...stats,
        "ppo/explained_variance": explainedVariance(ro.values, adv.returns, batch.mask),
        "gen/length": tokens / batch.batch,
        "gen/eos_rate": ro.finished.filter((f) => f).length / batch.batch,
        "perf/tokens_per_s": tokens / secs,
        "perf/sample_fraction": ro.sampleSeconds / secs,
      };
      for (const [name, source] of Object.entries(run.monitors ?? {})) {
        row[name] = mean(await source(ro.prompts, ro.responses, batch));
      }
      rows.push(row);
      run.onRow?.(row);
      if (c.sampleEvery > 0 && (it % c.sampleEvery === 0 || it === c.iterations - 1)) {
        run.onSamples?.(
          ro.prompts.slice(0, 4).map((p, i) => ({
            step: it + 1,
            prompt: p,
            response: ro.responses[i]!,
            score: ro.scores[i]!,
          })),
        );
      }
      bar.update(it + 1, `score ${row[scoreName]!.toFixed(3)} kl ${kl.toFixed(2)}`);
      const done = it + 1;
      if (run.evaluate && c.evalEvery > 0 && (done % c.evalEvery === 0 || done === c.iterations)) {
        const evalRow: MetricRow = { step: done };
        for (const [k, v] of Object.entries(await run.evaluate(done))) {
          evalRow[k] = checkFinite(k, v, it);
        }
        rows.push(evalRow);
        run.onRow?.(evalRow);
      }
      await run.afterStep?.(done);
    }
    bar.finish();
    return rows;
  } finally {
    policyOpt.dispose();
    valueOpt.dispose();
  }

  /** Several epochs of shuffled minibatches over one rollout; returns mean diagnostics. */
  async function ppoEpochs(
    run: PpoRun,
    ro: Rollout,
    advantages: Float32Array,
    returns: Float32Array,
    rng: Rng,
    it: number,
  ): Promise<Record<string, number>> {
    const t = ro.batch.length;
    const sums: Record<string, number> = {};
    let count = 0, earlyStop = 0;
    const rows = ro.prompts.map((_, i) => i);
    epochs: for (let epoch = 0; epoch < c.epochs; epoch++) {
      rng.shuffle(rows);
      for (let i = 0; i < rows.length; i += c.minibatchSize) {
        const idx = rows.slice(i, i + c.minibatchSize);
        const mb = selectRows(ro.batch, idx);
        const rowsOf = (x: Float32Array) => tf.tensor2d(selectRowsOf(x, t, idx), [idx.length, t]);
        const tokens = tf.tensor2d(mb.tokens, [mb.batch, t + 1], "int32");
        const mask = tf.tensor2d(mb.mask, [mb.batch, t]);
        const oldLogProbs = rowsOf(ro.logProbs), adv = rowsOf(advantages), ret = rowsOf(returns);
        const oldValues = rowsOf(ro.values);
        let diag: Tensor[] = [];
        const policyStep = optimiserStep(policyOpt, () => {
          const inputs = tokens.slice([0, 0], [mb.batch, t]) as Tensor2D;
          const logits = temperedLogits(run.policy, inputs, c.temperature); // [b, T, V]
          const logProbs = gatherLogProbs(logits, tokens.slice([0, 1], [mb.batch, t])); // [b, T]
          const out = ppoPolicyLoss({
            logProbs,
            oldLogProbs,
            advantages: adv,
            mask,
            clipRange: c.clipRange,
          });
          const entropy = entropyFromLogits(logits, mask);
          diag = [out.clipFrac, out.approxKl, entropy].map((x) => tf.keep(x));
          return c.entCoef > 0 ? out.pgLoss.sub(entropy.mul(c.entCoef)) as Scalar : out.pgLoss;
        }, c.lr);
        let vClipFrac: Tensor | undefined;
        const valueStep = optimiserStep(valueOpt, () => {
          const values = run.value.scores(tokens.slice([0, 0], [mb.batch, t]) as Tensor2D);
          const out = ppoValueLoss({
            values,
            oldValues,
            returns: ret,
            mask,
            clipRangeValue: c.clipRangeValue,
          });
          vClipFrac = tf.keep(out.vClipFrac);
          return out.vLoss;
        }, c.valueLr);
        tf.dispose([
          tokens,
          mask,
          oldLogProbs,
          adv,
          ret,
          oldValues,
          policyStep.gradNorm,
          valueStep.gradNorm,
        ]);
        const m = await readScalars({
          "loss/policy": policyStep.loss,
          "loss/value": valueStep.loss,
          "ppo/clipfrac": diag[0]!,
          "ppo/approx_kl": diag[1]!,
          "policy/entropy": diag[2]!,
          "ppo/value_clipfrac": vClipFrac!,
        });
        for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + checkFinite(k, v, it);
        count++;
        if (c.earlyStopKl !== null && m["ppo/approx_kl"]! > c.earlyStopKl) {
          earlyStop = 1;
          break epochs;
        }
      }
    }
    const out: Record<string, number> = { "ppo/early_stop": earlyStop, "ppo/updates": count };
    for (const [k, v] of Object.entries(sums)) out[k] = v / count;
    return out;
  }
}

/** Every per-token quantity of one PPO update, [B, T] row-major (scores: [B]). */
export interface RolloutAdvantages {
  /** The training score of each completion after penalty, clipping and whitening, [B]. */
  scores: Float32Array;
  /** Shaped rewards R_t = −β·KL_t, plus the score at the last real token. */
  rewards: Float32Array;
  /** GAE advantages Â_t before whitening. */
  rawAdvantages: Float32Array;
  /** Whitened advantages: what the clipped surrogate uses. */
  advantages: Float32Array;
  /** Returns Â_t + V(s_t): the value model's targets. */
  returns: Float32Array;
}

/**
 * The chain from a rollout to the advantages PPO trains on (Ziegler et al. 2019; Schulman
 * et al. 2016): adjust scores ({@link adjustScores}) → shape rewards with the per-token KL
 * penalty at coefficient β → GAE(γ, λ) over the value estimates → whiten over the batch's
 * response tokens. Pure: the same function {@link trainPpo} runs each iteration, exposed so
 * a notebook can show each step's numbers.
 */
export function rolloutAdvantages(
  ro: Rollout,
  c: Pick<PpoConfig, "noEosPenalty" | "rewardClip" | "whitenRewards" | "gamma" | "lambda">,
  beta: number,
): RolloutAdvantages {
  const { batch } = ro;
  const scores = adjustScores(ro, c);
  const rewards = shapeRewards({
    klPerToken: ro.klPerToken,
    score: scores,
    lastIndex: batch.lastIndex,
    beta,
    mask: batch.mask,
  });
  const { advantages: rawAdvantages, returns } = gae({
    rewards,
    values: ro.values,
    mask: batch.mask,
    T: batch.length,
    gamma: c.gamma,
    lambda: c.lambda,
  });
  return { scores, rewards, rawAdvantages, advantages: whiten(rawAdvantages, batch.mask), returns };
}

/** The training score after the optional no-EOS penalty, clipping and whitening. */
export function adjustScores(
  ro: Pick<Rollout, "scores" | "finished">,
  c: Pick<PpoConfig, "noEosPenalty" | "rewardClip" | "whitenRewards">,
): Float32Array {
  const s = Float32Array.from(ro.scores);
  for (let i = 0; i < s.length; i++) {
    if (c.noEosPenalty !== null && !ro.finished[i]) s[i] = s[i]! - c.noEosPenalty;
    if (c.rewardClip !== null) s[i] = Math.max(-c.rewardClip, Math.min(c.rewardClip, s[i]!));
  }
  if (c.whitenRewards) return whiten(s, new Float32Array(s.length).fill(1));
  return s;
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return x.length ? s / x.length : NaN;
}
