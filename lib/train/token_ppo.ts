/**
 * PPO on the token-level exact task (lib/data/token_task.ts), with the LM recipe: a
 * per-token reward −β·k1_t plus the score at the last token (Ziegler et al. 2019), GAE
 * over tokens with a value function, the clipped surrogate and the clipped value loss
 * (lib/losses/ppo.ts). The policy is tabular (one logit row per prefix,
 * lib/train/_token_policy.ts) and so is the value function: V_φ(x, prefix), one number
 * per prefix.
 *
 * Why it lands on π*_β: the shaped return from token t is r − β·log(π(y_{≥t})/π_ref(y_{≥t})),
 * whose expected gradient is exactly ∇[E_π r − β·KL(π‖π_ref)] (the k1-in-reward form; Liu et
 * al. 2025, arXiv:2510.01555). At π*_β that return equals the soft value V*(prefix)
 * (lib/eval/token_oracle.ts) for every continuation, so once V_φ = V* every advantage is
 * exactly 0: the optimum is a fixed point and the noise vanishes there.
 *
 * One step: sample `batch` completions per context from π_old → shape rewards → GAE →
 * (whiten advantages) → `epochs` full-batch Adam steps on policy + vfCoef·value loss. The
 * learning rate decays linearly to 0 over `steps`, so Adam settles on the optimum.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenTask } from "../data/token_task.ts";
import { klPerTokenArray } from "../losses/kl.ts";
import { gae, ppoPolicyLoss, ppoValueLoss, shapeRewards, whiten } from "../losses/ppo.ts";
import { embed } from "../models/layers.ts";
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

/** Settings of {@link trainTokenPpo}. */
export interface TokenPpoConfig {
  /** KL coefficient β of the per-token reward −β·k1. */
  beta: number;
  /** Rollout/update iterations. */
  steps: number;
  /** Completions sampled per context per step. */
  batch: number;
  /** Peak Adam learning rate (linear decay to 0). */
  lr: number;
  /** Full-batch updates per rollout. */
  epochs: number;
  /** PPO ε of the policy ratio. */
  clipRange: number;
  /** ε_v of the value clip. */
  clipRangeValue: number;
  /** Weight of the value loss in the joint loss. */
  vfCoef: number;
  /** Discount γ. */
  gamma: number;
  /** GAE λ. */
  lambda: number;
  /** Whiten advantages over the batch (TRL, CleanRL). */
  whitenAdvantages: boolean;
  /** Seed of the samples. */
  seed: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
}

/** Defaults of {@link TokenPpoConfig}. */
export const TOKEN_PPO_DEFAULTS: TokenPpoConfig = {
  beta: 0.1,
  steps: 200,
  batch: 192,
  lr: 0.1,
  epochs: 2,
  clipRange: 0.2,
  clipRangeValue: 0.2,
  vfCoef: 0.5,
  gamma: 1,
  lambda: 0.95,
  whitenAdvantages: false,
  seed: 0,
  logEvery: 50,
};

const SCHEMA: Schema<TokenPpoConfig> = {
  beta: { type: "number", gt: 0, doc: "KL coefficient β" },
  steps: { type: "number", int: true, min: 1, doc: "rollout/update iterations" },
  batch: { type: "number", int: true, min: 1, doc: "completions per context per step" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  epochs: { type: "number", int: true, min: 1, doc: "updates per rollout" },
  clipRange: { type: "number", gt: 0, doc: "PPO ε" },
  clipRangeValue: { type: "number", gt: 0, doc: "value clip ε_v" },
  vfCoef: { type: "number", min: 0, doc: "value loss weight" },
  gamma: { type: "number", min: 0, max: 1, doc: "discount γ" },
  lambda: { type: "number", min: 0, max: 1, doc: "GAE λ" },
  whitenAdvantages: { type: "boolean", doc: "whiten advantages" },
  seed: { type: "number", int: true, doc: "seed" },
  logEvery: { type: "number", int: true, min: 1, doc: "steps between metric rows" },
};

/**
 * Train a tabular token policy with PPO (see the module doc).
 * @param args the task, an optional `onRow` sink, and any {@link TokenPpoConfig} fields.
 * @throws ConfigError naming the field for a bad setting.
 */
export function trainTokenPpo(
  args: { task: TokenTask; onRow?: RowSink } & Partial<TokenPpoConfig>,
): TokenTrainResult {
  const { task, onRow, ...overrides } = args;
  const cfg = resolveConfig("tokenPpo", SCHEMA, TOKEN_PPO_DEFAULTS, overrides);
  const rng = new Rng(cfg.seed);
  const policy = new TabularTokenPolicy(task);
  const phi = tf.tidy(() => tf.variable(tf.zeros([task.P * task.D, 1]), true)); // V_φ per (context, prefix)
  const optimizer = tf.train.adam(cfg.lr);
  const history: MetricRow[] = [];
  try {
    for (let step = 1; step <= cfg.steps; step++) {
      setLearningRate(optimizer, cfg.lr * (1 - (step - 1) / cfg.steps));

      // Rollout, rewards and advantages on plain arrays, as the LM trainer does.
      const batch = sampleTokenBatch(task, policy.logPolicy(), cfg.batch, rng);
      const { B, T, mask } = batch;
      const phiNow = phi.dataSync();
      const values = new Float32Array(B * T);
      for (let i = 0; i < B * T; i++) values[i] = mask[i]! ? phiNow[batch.states[i]!]! : 0;
      const shaped = shapeRewards({
        klPerToken: klPerTokenArray(batch.oldLogProbs, batch.refLogProbs, "k1"),
        score: batch.score,
        lastIndex: batch.length.map((len) => len - 1),
        beta: cfg.beta,
        mask,
      }); // [B, T]
      const { advantages, returns } = gae({
        rewards: shaped,
        values,
        mask,
        T,
        gamma: cfg.gamma,
        lambda: cfg.lambda,
      });

      const t = batchTensors(batch);
      const adv = tf.tensor2d(cfg.whitenAdvantages ? whiten(advantages, mask) : advantages, [B, T]);
      const ret = tf.tensor2d(returns, [B, T]);
      const oldValues = tf.tensor2d(values, [B, T]);
      let metrics: Record<string, tf.Scalar> = {};
      for (let epoch = 0; epoch < cfg.epochs; epoch++) {
        tf.dispose(Object.values(metrics));
        const loss = optimizer.minimize(
          () => {
            const pg = ppoPolicyLoss({
              logProbs: policy.tokenLogProbs(t),
              oldLogProbs: t.oldLogProbs,
              advantages: adv,
              mask: t.mask,
              clipRange: cfg.clipRange,
            });
            const v = ppoValueLoss({
              values: tf.reshape(embed(t.states, phi as tf.Tensor2D), [B, T]), // [B, T]
              oldValues,
              returns: ret,
              mask: t.mask,
              clipRangeValue: cfg.clipRangeValue,
            });
            metrics = {
              "loss/policy": tf.keep(pg.pgLoss),
              "loss/value": tf.keep(v.vLoss),
              "ppo/clipfrac": tf.keep(pg.clipFrac),
              "ppo/approxkl": tf.keep(pg.approxKl),
            };
            return tf.add(pg.pgLoss, tf.mul(cfg.vfCoef, v.vLoss)) as tf.Scalar;
          },
          true,
          [policy.theta, phi],
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
      tf.dispose([adv, ret, oldValues, ...Object.values(metrics)]);
      t.dispose();
    }
    return finish(policy, history);
  } finally {
    policy.dispose();
    phi.dispose();
    optimizer.dispose();
  }
}
