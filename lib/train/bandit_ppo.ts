/**
 * PPO on the exact bandit task (lib/data/bandit.ts): the tabular policy of
 * _bandit_policy.ts trained on single-step episodes with a KL-shaped reward, so it can be
 * compared with π*_β of lib/eval/oracle.ts.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar } from "../util/tensor_types.ts";
import { type BanditTask, tabularStats } from "../data/bandit.ts";
import { klPerTokenArray } from "../losses/kl.ts";
import { gae, ppoPolicyLoss, shapeRewards } from "../losses/ppo.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { checkFinite, type MetricRow, type RowSink } from "./metrics.ts";
import {
  type BanditResult,
  emit,
  finish,
  logSoftmaxOf,
  oneHot,
  policyLogits,
  setLearningRate,
} from "./_bandit_policy.ts";

/** Settings of {@link trainBanditPpo}. */
export interface BanditPpoConfig {
  /** KL coefficient β of the shaped reward r − β·(log π − log π_ref). */
  beta: number;
  /** Rollout/update iterations. */
  steps: number;
  /** Responses sampled per prompt per step. */
  batch: number;
  /** Peak Adam learning rate (linear decay to 0). */
  lr: number;
  /** PPO epochs (full-batch updates) per rollout. */
  epochs: number;
  /** PPO ε. */
  clipRange: number;
  /** Seed of the response draws. */
  seed: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
}

/** Defaults of {@link BanditPpoConfig}. */
export const BANDIT_PPO_DEFAULTS: BanditPpoConfig = {
  beta: 0.1,
  steps: 200,
  batch: 64,
  lr: 0.05,
  epochs: 4,
  clipRange: 0.2,
  seed: 0,
  logEvery: 50,
};

const PPO_SCHEMA: Schema<BanditPpoConfig> = {
  beta: { type: "number", gt: 0, doc: "KL coefficient β" },
  steps: { type: "number", int: true, min: 1, doc: "rollout/update iterations" },
  batch: { type: "number", int: true, min: 2, doc: "responses per prompt per step" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  epochs: { type: "number", int: true, min: 1, doc: "PPO epochs per rollout" },
  clipRange: { type: "number", gt: 0, doc: "PPO ε" },
  seed: { type: "number", int: true, doc: "seed" },
  logEvery: { type: "number", int: true, min: 1, doc: "steps between metric rows" },
};

/**
 * Train the tabular policy with PPO on single-step episodes.
 *
 * Each step: sample `batch` responses per prompt from the current π; per-token (here
 * per-response) reward R = r(x, y) − β·k1 with k1 = log π_old(y) − log π_ref(y)
 * (lib/losses/ppo.ts shapeRewards, Ziegler et al. 2019); advantage A = R − b(x) with b(x)
 * the prompt's batch mean of R (the sample's own term in b only scales the expected
 * gradient by (n−1)/n; GAE with T = 1, γ = λ = 1 and V = b); then `epochs`
 * full-batch Adam steps on the clipped surrogate (ppoPolicyLoss).
 *
 * E_{y~π}[∇log π(y)·(r − β(log π − log π_ref))] is the exact gradient of
 * E_π[r] − β·KL(π‖π_ref), so the fixed point is π*_β. At π*_β the shaped reward equals
 * β·log Z(x) for every y, so advantages (and the gradient noise) vanish there.
 * @param args the task, an optional `onRow` sink for metric rows, and any {@link BanditPpoConfig} fields (defaults: {@link BANDIT_PPO_DEFAULTS}).
 */
export function trainBanditPpo(
  args: { task: BanditTask; onRow?: RowSink } & Partial<BanditPpoConfig>,
): BanditResult {
  const { task, onRow, ...overrides } = args;
  const cfg = resolveConfig("banditPpo", PPO_SCHEMA, BANDIT_PPO_DEFAULTS, overrides);
  const { P, R, refLogProbs, rewards } = task;
  const N = P * cfg.batch; // samples per step
  const rng = new Rng(cfg.seed);
  const theta = policyLogits(task); // [P, R]
  const optimizer = tf.train.adam(cfg.lr);
  const mask = tf.ones([N, 1]); // [B, T] with B = N, T = 1
  const history: MetricRow[] = [];
  try {
    for (let step = 1; step <= cfg.steps; step++) {
      setLearningRate(optimizer, cfg.lr * (1 - (step - 1) / cfg.steps));

      // Rollout: y ~ π_old(·|x) for every prompt.
      const oldTableLogProbs = logSoftmaxOf(theta); // [P·R]
      const taken: number[] = []; // flat x·R + y, [N]
      for (let x = 0; x < P; x++) {
        const probs = Array.from({ length: R }, (_, y) => Math.exp(oldTableLogProbs[x * R + y]!));
        for (let k = 0; k < cfg.batch; k++) taken.push(x * R + rng.categorical(probs));
      }
      const oldLogProbsTaken = taken.map((i) => oldTableLogProbs[i]!); // [N]
      const refLogProbsTaken = taken.map((i) => refLogProbs[i]!); // [N]
      const kl = klPerTokenArray(oldLogProbsTaken, refLogProbsTaken, "k1"); // [N, 1]
      const shaped = shapeRewards({
        klPerToken: kl,
        score: taken.map((i) => rewards[i]!),
        lastIndex: new Array(N).fill(0),
        beta: cfg.beta,
        mask: new Float32Array(N).fill(1),
      }); // [N, 1]
      const baseline = new Float32Array(N); // per-prompt batch mean of the shaped reward
      for (let x = 0; x < P; x++) {
        let s = 0;
        for (let k = 0; k < cfg.batch; k++) s += shaped[x * cfg.batch + k]!;
        baseline.fill(s / cfg.batch, x * cfg.batch, (x + 1) * cfg.batch);
      }
      const { advantages } = gae({
        rewards: shaped,
        values: baseline,
        mask: new Float32Array(N).fill(1),
        T: 1,
        gamma: 1,
        lambda: 1,
      }); // [N, 1]: A = R − b(x)

      // Update: `epochs` full-batch steps on the clipped surrogate.
      const pick = oneHot(taken, P * R); // [N, P·R]
      const oldLogProbs = tf.tensor2d(oldLogProbsTaken, [N, 1]); // [N, 1]
      const adv = tf.tensor2d(advantages, [N, 1]); // [N, 1]
      let metrics: Record<string, Scalar> = {};
      for (let epoch = 0; epoch < cfg.epochs; epoch++) {
        tf.dispose(Object.values(metrics));
        metrics = {};
        const loss = optimizer.minimize(
          () => {
            const logProbs = tf.reshape(tf.logSoftmax(theta), [P * R, 1]); // [P·R, 1]
            const out = ppoPolicyLoss({
              logProbs: tf.matMul(pick, logProbs), // [N, 1]
              oldLogProbs,
              advantages: adv,
              mask,
              clipRange: cfg.clipRange,
            });
            metrics = {
              "ppo/clipfrac": tf.keep(out.clipFrac),
              "ppo/approxkl": tf.keep(out.approxKl),
            };
            return out.pgLoss;
          },
          true,
          [theta],
        )!;
        metrics["loss/policy"] = loss;
      }
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        const stats = tabularStats(task, logSoftmaxOf(theta));
        const row: MetricRow = { step, "reward/gold": stats.reward, "kl/ref": stats.kl };
        for (const [k, v] of Object.entries(metrics)) {
          row[k] = checkFinite(k, v.dataSync()[0]!, step);
        }
        emit(history, onRow, row);
      }
      tf.dispose([pick, oldLogProbs, adv, ...Object.values(metrics)]);
    }
    return finish(task, theta, history);
  } finally {
    tf.dispose([theta, mask]);
    optimizer.dispose();
  }
}
