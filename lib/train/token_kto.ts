/**
 * KTO on the token-level exact task, through lib/losses/kto.ts (Ethayarajh et al. 2024).
 *
 * Each step draws `pairs` pairs of completions per context from the sampling distribution
 * μ (the current policy: online KTO; or π_ref: KTO from a fixed data distribution), labels
 * each pair by a Bradley–Terry draw on the true reward and keeps the winner as a
 * desirable example and the loser as an undesirable one, as the KTO paper turns
 * preference data into binary feedback (so n_D = n_U and λ_D = λ_U = 1 meets its advice
 * λ_D·n_D/(λ_U·n_U) ∈ [1, 4/3]). The reference point z0 comes from mismatched pairs: each
 * completion y drawn for context x is scored under context (x + 1) mod P, as TRL pairs a
 * prompt with another example's completion (with one context, under x itself).
 *
 * KTO does not optimise r − β·KL, so this trainer is not expected to land on π*_β: the
 * exact task measures where it lands (tests/token_task_test.ts). Each distinct completion
 * goes through the policy once per step; the learning rate decays linearly to 0.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TokenTask } from "../data/token_task.ts";
import { ktoLoss } from "../losses/kto.ts";
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

/** Where KTO's completions come from. */
export const KTO_SAMPLING = ["policy", "ref"] as const;
/** "policy" (online) or "ref" (a fixed data distribution, π_ref). */
export type KtoSampling = (typeof KTO_SAMPLING)[number];

/** Settings of {@link trainTokenKto}. */
export interface TokenKtoConfig {
  /** β of the loss. */
  beta: number;
  /** Sampling distribution μ of the completions. */
  sampling: KtoSampling;
  /** Pairs per context per step (each gives one desirable and one undesirable example). */
  pairs: number;
  /** λ_D. */
  desirableWeight: number;
  /** λ_U. */
  undesirableWeight: number;
  /** Iterations. */
  steps: number;
  /** Peak Adam learning rate (linear decay to 0). */
  lr: number;
  /** Seed of the samples and labels. */
  seed: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
}

/** Defaults of {@link TokenKtoConfig}. */
export const TOKEN_KTO_DEFAULTS: TokenKtoConfig = {
  beta: 0.1,
  sampling: "policy",
  pairs: 1024,
  desirableWeight: 1,
  undesirableWeight: 1,
  steps: 600,
  lr: 0.1,
  seed: 0,
  logEvery: 50,
};

const SCHEMA: Schema<TokenKtoConfig> = {
  beta: { type: "number", gt: 0, doc: "β of the loss" },
  sampling: { type: "enum", values: KTO_SAMPLING, doc: "sampling distribution μ" },
  pairs: { type: "number", int: true, min: 1, doc: "pairs per context per step" },
  desirableWeight: { type: "number", min: 0, doc: "λ_D" },
  undesirableWeight: { type: "number", min: 0, doc: "λ_U" },
  steps: { type: "number", int: true, min: 1, doc: "iterations" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  seed: { type: "number", int: true, doc: "seed" },
  logEvery: { type: "number", int: true, min: 1, doc: "steps between metric rows" },
};

/**
 * Train a tabular token policy with KTO (see the module doc).
 * @param args the task, an optional `onRow` sink, and any {@link TokenKtoConfig} fields.
 * @throws ConfigError naming the field for a bad setting.
 */
export function trainTokenKto(
  args: { task: TokenTask; onRow?: RowSink } & Partial<TokenKtoConfig>,
): TokenTrainResult {
  const { task, onRow, ...overrides } = args;
  const cfg = resolveConfig("tokenKto", SCHEMA, TOKEN_KTO_DEFAULTS, overrides);
  const { P, N } = task;
  const rng = new Rng(cfg.seed);
  const policy = new TabularTokenPolicy(task);
  const optimizer = tf.train.adam(cfg.lr);
  const refProbs = policyProbs(task.logRef);
  const history: MetricRow[] = [];
  try {
    for (let step = 1; step <= cfg.steps; step++) {
      setLearningRate(optimizer, cfg.lr * (1 - (step - 1) / cfg.steps));
      const logPolicy = policy.logPolicy();
      const mu = cfg.sampling === "policy" ? policyProbs(logPolicy) : refProbs;
      // Rows: the examples (x, y, desirable), then the mismatched pairs (x + 1, y).
      const contexts: number[] = [], sequences: number[] = [], desirable: number[] = [];
      for (let x = 0; x < P; x++) {
        for (let k = 0; k < cfg.pairs; k++) {
          const y1 = sampleSequence(task, mu, x, rng), y2 = sampleSequence(task, mu, x, rng);
          const d = task.rewards[x * N + y1]! - task.rewards[x * N + y2]!;
          const firstWins = rng.bernoulli(1 / (1 + Math.exp(-d)));
          contexts.push(x, x);
          sequences.push(y1, y2);
          desirable.push(firstWins ? 1 : 0, firstWins ? 0 : 1);
        }
      }
      const B = contexts.length;
      const rows = distinctRows(task, [...contexts, ...contexts.map((x) => (x + 1) % P)], [
        ...sequences,
        ...sequences,
      ]);
      const t = batchTensors(tokenBatch(task, logPolicy, rows.contexts, rows.sequences));
      const idx = tf.tensor1d(rows.index.subarray(0, B), "int32"); // [B]
      const klIdx = tf.tensor1d(rows.index.subarray(B), "int32"); // [B]
      const fixed = tf.tidy(() => {
        const refSeq: tf.Tensor1D = tf.sum(tf.mul(t.refLogProbs, t.mask), 1); // [U]
        return {
          ref: tf.gather<tf.Tensor1D>(refSeq, idx),
          klRef: tf.gather<tf.Tensor1D>(refSeq, klIdx),
          desirable: tf.tensor1d(desirable),
        };
      });
      let z0: tf.Scalar | undefined;
      const loss = optimizer.minimize(
        () => {
          const seq = policy.sequenceLogProbs(t); // [U]
          const out = ktoLoss({
            policyLogProbs: pickRows(seq, idx),
            refLogProbs: fixed.ref as tf.Tensor1D,
            desirable: fixed.desirable,
            klPolicyLogProbs: pickRows(seq, klIdx),
            klRefLogProbs: fixed.klRef as tf.Tensor1D,
            beta: cfg.beta,
            desirableWeight: cfg.desirableWeight,
            undesirableWeight: cfg.undesirableWeight,
          });
          z0 = tf.keep(out.z0);
          return out.loss;
        },
        true,
        [policy.theta],
      )!;
      if (step % cfg.logEvery === 0 || step === cfg.steps) {
        emit(history, onRow, {
          step,
          "loss/kto": checkFinite("loss/kto", loss.dataSync()[0]!, step),
          "kto/z0": z0!.dataSync()[0]!,
          ...exactMetrics(policy),
        });
      }
      tf.dispose([loss, idx, klIdx, ...Object.values(fixed)]);
      z0?.dispose();
      t.dispose();
    }
    return finish(policy, history);
  } finally {
    policy.dispose();
    optimizer.dispose();
  }
}
