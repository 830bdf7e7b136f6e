/**
 * Trainers for the exact bandit task (lib/data/bandit.ts): a tabular policy
 * π_θ(y|x) = softmax(θ[x]) with θ a Variable [P, R] that starts at π_ref's logits, trained
 * by DPO-family losses from Bradley–Terry preferences or by PPO with a KL-shaped reward.
 * Both return the final policy with its exact expected reward and KL(π‖π_ref), so tests can
 * compare them with the closed-form optima of lib/eval/oracle.ts.
 *
 * Log-probs of chosen responses are picked with one-hot matrices and a matMul, never
 * tf.gather, whose gradient the wasm backend lacks (docs/architecture.md, "Backends"). The learning rate
 * decays linearly from `lr` to 0 over `steps` (TRL's default schedule), so Adam settles on
 * the optimum instead of hovering within ~lr of it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor1D, Tensor2D, Variable } from "../util/tensor_types.ts";
import {
  type BanditTask,
  drawBanditPreferences,
  PAIR_SAMPLING,
  type PairSampling,
  tabularStats,
} from "../data/bandit.ts";
import { DPO_LOSS_NAMES, dpoLoss, type DpoLossName } from "../losses/dpo.ts";
import { klPerTokenArray } from "../losses/kl.ts";
import { gae, ppoPolicyLoss, shapeRewards } from "../losses/ppo.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { checkFinite, type MetricRow, type RowSink } from "./metrics.ts";

/** What both trainers return. */
export interface BanditResult {
  /** Final log π(y|x), [P, R] row-major. */
  logProbs: Float64Array;
  /** Final π(y|x), [P, R] row-major. */
  probs: Float64Array;
  /** Exact E_x E_{y~π}[r(x, y)]. */
  reward: number;
  /** Exact E_x KL(π(·|x) ‖ π_ref(·|x)). */
  kl: number;
  /** Metric rows (`loss/…`, `ppo/…`, `reward/gold`, `kl/ref`) every `logEvery` steps and at the end. */
  history: MetricRow[];
}

// ---------------------------------------------------------------------------------------
// DPO family.

/** Settings of {@link trainBanditDpo}. */
export interface BanditDpoConfig {
  /** β of the loss. */
  beta: number;
  /** Which DPO-family loss. */
  lossType: DpoLossName;
  /** cDPO label smoothing ε. */
  labelSmoothing: number;
  /** SimPO's γ (only for lossType "simpo"). */
  simpoGamma: number;
  /** Number of labelled pairs drawn (with replacement) before training. */
  pairs: number;
  /**
   * Pair-sampling distribution μ for both responses: "uniform" or "ref" (π_ref). Both have
   * full support, so DPO's population optimum is π*_β either way (lib/eval/oracle.ts);
   * with finite pairs "uniform" is the better design: π_ref rarely compares the responses
   * it dislikes, yet at small β π*_β may put most of its mass there. On the default task
   * (seed 0), β = 0.1 and 200k pairs, "ref" misses KL(π*‖π_ref) by 9.5% where
   * "uniform" misses by 0.7%; 2M "ref" pairs close the gap (0.2%).
   */
  sampling: PairSampling;
  /** Full-batch Adam steps over the whole preference set. */
  steps: number;
  /** Peak Adam learning rate (linear decay to 0). */
  lr: number;
  /** Seed of the pair draws and labels. */
  seed: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
}

/** Defaults of {@link BanditDpoConfig}. */
export const BANDIT_DPO_DEFAULTS: BanditDpoConfig = {
  beta: 0.1,
  lossType: "dpo",
  labelSmoothing: 0,
  simpoGamma: 0.5,
  pairs: 200_000,
  sampling: "uniform",
  steps: 600,
  lr: 0.1,
  seed: 0,
  logEvery: 100,
};

const DPO_SCHEMA: Schema<BanditDpoConfig> = {
  beta: { type: "number", gt: 0, doc: "β of the loss" },
  lossType: { type: "enum", values: DPO_LOSS_NAMES, doc: "DPO-family loss" },
  labelSmoothing: { type: "number", min: 0, lt: 0.5, doc: "label smoothing ε" },
  simpoGamma: { type: "number", min: 0, doc: "SimPO γ" },
  pairs: { type: "number", int: true, min: 1, doc: "labelled pairs drawn" },
  sampling: { type: "enum", values: PAIR_SAMPLING, doc: "pair-sampling distribution μ" },
  steps: { type: "number", int: true, min: 1, doc: "Adam steps" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  seed: { type: "number", int: true, doc: "seed" },
  logEvery: { type: "number", int: true, min: 1, doc: "steps between metric rows" },
};

/**
 * Train the tabular policy with a DPO-family loss on Bradley–Terry preferences drawn from
 * the true reward (see {@link drawBanditPreferences}), full-batch Adam over the whole set.
 *
 * With lossType "dpo", ε = 0 and enough pairs this lands on π*_β ∝ π_ref·exp(r/β) for any
 * full-support μ; "ipo" lands on π_IPO ∝ π_ref·exp(p(y ≻ μ)/β) (lib/eval/oracle.ts).
 * @param args the task, an optional `onRow` sink for metric rows, and any {@link BanditDpoConfig} fields (defaults: {@link BANDIT_DPO_DEFAULTS}).
 * @throws ConfigError naming the field for a bad setting.
 */
export function trainBanditDpo(
  args: { task: BanditTask; onRow?: RowSink } & Partial<BanditDpoConfig>,
): BanditResult {
  const { task, onRow, ...overrides } = args;
  const cfg = resolveConfig("banditDpo", DPO_SCHEMA, BANDIT_DPO_DEFAULTS, overrides);
  const { P, R, refLogProbs } = task;
  const data = drawBanditPreferences(task, cfg); // pairs, sampling, seed
  const M = data.counts.length;

  const theta = policyLogits(task); // [P, R]
  const pickChosen = oneHot(data.chosen, P * R); // [M, P·R]
  const pickRejected = oneHot(data.rejected, P * R); // [M, P·R]
  const refChosen = tf.tensor1d(data.chosen.map((i) => refLogProbs[i]!)); // [M]
  const refRejected = tf.tensor1d(data.rejected.map((i) => refLogProbs[i]!)); // [M]
  const weights = tf.tensor1d(data.counts); // [M]
  const lengths = tf.ones([M]) as Tensor1D; // each response is one "token"
  const optimizer = tf.train.adam(cfg.lr);
  const history: MetricRow[] = [];
  try {
    const lossOf = (): Scalar => {
      const logProbs = tf.reshape(tf.logSoftmax(theta), [P * R, 1]); // [P·R, 1]
      const out = dpoLoss({
        policyChosen: tf.reshape(tf.matMul(pickChosen, logProbs), [M]), // [M]
        policyRejected: tf.reshape(tf.matMul(pickRejected, logProbs), [M]), // [M]
        refChosen,
        refRejected,
        beta: cfg.beta,
        lossType: cfg.lossType,
        labelSmoothing: cfg.labelSmoothing,
        simpoGamma: cfg.simpoGamma,
        chosenLengths: lengths,
        rejectedLengths: lengths,
        weights,
      });
      return out.loss; // the other outputs are released by minimize's tidy
    };
    for (let step = 1; step <= cfg.steps; step++) {
      setLearningRate(optimizer, cfg.lr * (1 - (step - 1) / cfg.steps));
      const loss = optimizer.minimize(lossOf, true, [theta])!;
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        const stats = tabularStats(task, logSoftmaxOf(theta));
        emit(history, onRow, {
          step,
          "loss/dpo": checkFinite("loss/dpo", loss.dataSync()[0]!, step),
          "reward/gold": stats.reward,
          "kl/ref": stats.kl,
        });
      }
      loss.dispose();
    }
    return finish(task, theta, history);
  } finally {
    tf.dispose([theta, pickChosen, pickRejected, refChosen, refRejected, weights, lengths]);
    optimizer.dispose();
  }
}

// ---------------------------------------------------------------------------------------
// PPO.

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

// ---------------------------------------------------------------------------------------
// Helpers.

/** The tabular policy θ [P, R], a trainable variable initialised to π_ref's logits. */
function policyLogits(task: BanditTask): Variable {
  // tidy releases the initial tensor; the variable keeps its own reference to the data.
  return tf.tidy(() =>
    tf.variable(tf.tensor2d(Float32Array.from(task.refLogits), [task.P, task.R]), true)
  );
}

/** One-hot rows: out[m, idx[m]] = 1, [M, width]; the caller disposes it. */
function oneHot(idx: readonly number[], width: number): Tensor2D {
  const data = new Float32Array(idx.length * width);
  idx.forEach((i, m) => (data[m * width + i] = 1));
  return tf.tensor2d(data, [idx.length, width]);
}

/** log-softmax of θ [P, R] as a Float64Array [P·R] (via Float32 data). */
function logSoftmaxOf(theta: Variable): Float64Array {
  const t = tf.tidy(() => tf.logSoftmax(theta));
  const out = Float64Array.from(t.dataSync());
  t.dispose();
  return out;
}

function emit(history: MetricRow[], onRow: RowSink | undefined, row: MetricRow): void {
  history.push(row);
  onRow?.(row);
}

function finish(task: BanditTask, theta: Variable, history: MetricRow[]): BanditResult {
  const logProbs = logSoftmaxOf(theta);
  const { reward, kl } = tabularStats(task, logProbs);
  return { logProbs, probs: logProbs.map(Math.exp), reward, kl, history };
}

/**
 * Set an Adam optimizer's learning rate for the next step. tfjs reads `learningRate` at
 * every `applyGradients` but declares it protected, hence the cast.
 */
function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}
