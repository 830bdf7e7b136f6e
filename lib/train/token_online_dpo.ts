/**
 * Online DPO on the token-level exact task (Guo et al. 2024, "Direct Language Model
 * Alignment from Online AI Feedback", arXiv:2402.04792): each step samples two completions
 * per prompt from the *current* policy, asks an annotator which is better, and takes a
 * DPO-family step (lib/losses/dpo.ts) against the frozen reference. Here the annotator is
 * a Bradley–Terry draw on the true reward, p(y1 ≻ y2) = σ(r(x,y1) − r(x,y2)), as the
 * bandit's simulated humans (lib/data/bandit.ts).
 *
 * Why it lands on π*_β: the population DPO loss with pairs from any full-support μ is
 * minimised pointwise by β·(g(y) − g(y')) = r(y) − r(y'), g = log π/π_ref, i.e. by π*_β
 * (lib/eval/oracle.ts). Sampling pairs from the moving π_θ changes μ every step but not
 * that minimiser, so π*_β is a fixed point of the online loop. IPO (`lossType: "ipo"`)
 * runs through the same registry; its fixed point is π_ref·exp(p(y ≻ π)/β), which
 * depends on π itself, not π*_β.
 *
 * A pair of identical completions has h ≡ 0, so it adds a constant to the loss and nothing
 * to the gradient; such pairs are kept, as an LM trainer would keep them. Each step merges
 * identical labelled pairs into counts (dpoLoss's `weights`) and sends each distinct
 * completion through the policy once: the same loss as one row per draw, at the cost of
 * the ≤ P·N distinct sequences, so many labels per step stay cheap. Labels are noisy
 * (σ(Δr) is far from 0 or 1), so unlike PPO's advantages the DPO gradient does not vanish
 * at the optimum: the decaying learning rate and the label count set how close it lands.
 * The learning rate decays linearly to 0 over `steps`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenTask } from "../data/token_task.ts";
import { DPO_LOSS_NAMES, dpoLoss, type DpoLossName } from "../losses/dpo.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { checkFinite, type MetricRow, type RowSink } from "./metrics.ts";
import {
  batchTensors,
  distinctRows,
  emit,
  exactMetrics,
  finish,
  pickRows,
  policyProbs,
  sampleSequence,
  setLearningRate,
  TabularTokenPolicy,
  tokenBatch,
  type TokenTrainResult,
} from "./_token_policy.ts";

/** Settings of {@link trainTokenOnlineDpo}. */
export interface TokenOnlineDpoConfig {
  /** β of the loss. */
  beta: number;
  /** Which DPO-family loss. */
  lossType: DpoLossName;
  /** Pairs sampled (and labelled) per context per step; identical pairs are merged with counts. */
  pairs: number;
  /** Iterations (sample, label, update). */
  steps: number;
  /** Peak Adam learning rate (linear decay to 0). */
  lr: number;
  /** Seed of the samples and labels. */
  seed: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
}

/** Defaults of {@link TokenOnlineDpoConfig}. */
export const TOKEN_ONLINE_DPO_DEFAULTS: TokenOnlineDpoConfig = {
  beta: 0.1,
  lossType: "dpo",
  pairs: 1024,
  steps: 600,
  lr: 0.1,
  seed: 0,
  logEvery: 50,
};

const SCHEMA: Schema<TokenOnlineDpoConfig> = {
  beta: { type: "number", gt: 0, doc: "β of the loss" },
  lossType: { type: "enum", values: DPO_LOSS_NAMES, doc: "DPO-family loss" },
  pairs: { type: "number", int: true, min: 1, doc: "pairs per context per step" },
  steps: { type: "number", int: true, min: 1, doc: "iterations" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  seed: { type: "number", int: true, doc: "seed" },
  logEvery: { type: "number", int: true, min: 1, doc: "steps between metric rows" },
};

/** Labelled pairs merged by identity: what {@link sampleLabelledPairs} returns. */
export interface LabelledPairs {
  /** Context of each distinct labelled pair, [M]. */
  contexts: number[];
  /** Sequence index of the chosen completion, [M]. */
  chosen: number[];
  /** Sequence index of the rejected completion, [M]. */
  rejected: number[];
  /** How many draws gave this (x, chosen, rejected), [M]; sums to P·pairs. */
  counts: number[];
}

/**
 * Sample `pairs` pairs per context from a tabular policy and label each by a
 * Bradley–Terry draw on the true reward. Identical labelled pairs are merged into counts,
 * so a loss weighted by counts equals the mean loss over all draws.
 * @param probs π(a | x, prefix), [P, D, A].
 */
export function sampleLabelledPairs(
  task: TokenTask,
  probs: Float64Array,
  pairs: number,
  rng: Rng,
): LabelledPairs {
  const { N } = task;
  const tally = new Map<number, number>(); // (x·N + chosen)·N + rejected
  for (let x = 0; x < task.P; x++) {
    for (let k = 0; k < pairs; k++) {
      const y1 = sampleSequence(task, probs, x, rng);
      const y2 = sampleSequence(task, probs, x, rng);
      const d = task.rewards[x * N + y1]! - task.rewards[x * N + y2]!;
      const firstWins = rng.bernoulli(1 / (1 + Math.exp(-d)));
      const key = (x * N + (firstWins ? y1 : y2)) * N + (firstWins ? y2 : y1);
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
  }
  const out: LabelledPairs = { contexts: [], chosen: [], rejected: [], counts: [] };
  for (const [key, count] of [...tally.entries()].sort((u, v) => u[0] - v[0])) {
    out.contexts.push(Math.floor(key / (N * N)));
    out.chosen.push(Math.floor(key / N) % N);
    out.rejected.push(key % N);
    out.counts.push(count);
  }
  return out;
}

/**
 * Train a tabular token policy with online DPO (see the module doc).
 * @param args the task, an optional `onRow` sink, and any {@link TokenOnlineDpoConfig} fields.
 * @throws ConfigError naming the field for a bad setting.
 */
export function trainTokenOnlineDpo(
  args: { task: TokenTask; onRow?: RowSink } & Partial<TokenOnlineDpoConfig>,
): TokenTrainResult {
  const { task, onRow, ...overrides } = args;
  const cfg = resolveConfig("tokenOnlineDpo", SCHEMA, TOKEN_ONLINE_DPO_DEFAULTS, overrides);
  const rng = new Rng(cfg.seed);
  const policy = new TabularTokenPolicy(task);
  const optimizer = tf.train.adam(cfg.lr);
  const history: MetricRow[] = [];
  try {
    for (let step = 1; step <= cfg.steps; step++) {
      setLearningRate(optimizer, cfg.lr * (1 - (step - 1) / cfg.steps));
      const logPolicy = policy.logPolicy();
      const pairs = sampleLabelledPairs(task, policyProbs(logPolicy), cfg.pairs, rng);
      const M = pairs.counts.length;
      // Each distinct completion goes through the policy once; pairs read their rows.
      const rows = distinctRows(
        task,
        [...pairs.contexts, ...pairs.contexts],
        [...pairs.chosen, ...pairs.rejected],
      );
      const batch = tokenBatch(task, logPolicy, rows.contexts, rows.sequences);
      const t = batchTensors(batch);
      const chosenIdx = tf.tensor1d(rows.index.subarray(0, M), "int32"); // [M]
      const rejectedIdx = tf.tensor1d(rows.index.subarray(M), "int32"); // [M]
      const fixed: Record<string, tf.Tensor1D> = tf.tidy(() => {
        const refSeq: tf.Tensor1D = tf.sum(tf.mul(t.refLogProbs, t.mask), 1); // [U]
        const lengths = tf.tensor1d(batch.length); // [U]
        return {
          refChosen: tf.gather<tf.Tensor1D>(refSeq, chosenIdx),
          refRejected: tf.gather<tf.Tensor1D>(refSeq, rejectedIdx),
          chosenLengths: tf.gather<tf.Tensor1D>(lengths, chosenIdx),
          rejectedLengths: tf.gather<tf.Tensor1D>(lengths, rejectedIdx),
          weights: tf.tensor1d(pairs.counts),
        };
      });
      let metrics: Record<string, tf.Scalar> = {};
      const loss = optimizer.minimize(
        () => {
          const seq = policy.sequenceLogProbs(t); // [U]
          const out = dpoLoss({
            policyChosen: pickRows(seq, chosenIdx),
            policyRejected: pickRows(seq, rejectedIdx),
            refChosen: fixed.refChosen,
            refRejected: fixed.refRejected,
            chosenLengths: fixed.chosenLengths,
            rejectedLengths: fixed.rejectedLengths,
            weights: fixed.weights,
            beta: cfg.beta,
            lossType: cfg.lossType,
          });
          metrics = {
            "rewards/accuracies": tf.keep(out.rewardAccuracy),
            "rewards/margins": tf.keep(out.rewardMargin),
          };
          return out.loss;
        },
        true,
        [policy.theta],
      )!;
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        const row: MetricRow = {
          step,
          "loss/dpo": checkFinite("loss/dpo", loss.dataSync()[0]!, step),
          ...exactMetrics(policy),
        };
        for (const [k, v] of Object.entries(metrics)) row[k] = v.dataSync()[0]!;
        emit(history, onRow, row);
      }
      tf.dispose([
        loss,
        chosenIdx,
        rejectedIdx,
        ...Object.values(fixed),
        ...Object.values(metrics),
      ]);
      t.dispose();
    }
    return finish(policy, history);
  } finally {
    policy.dispose();
    optimizer.dispose();
  }
}
