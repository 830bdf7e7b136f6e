/**
 * Shared parts of the token-level trainers (lib/train/token_*.ts): the tabular policy, the
 * sampler, and the [B, T] token batches the losses read, laid out exactly as a language
 * model's rollout (row b = one completion, column t = its t-th token, mask 1 at real tokens
 * including EOS, 0 at padding).
 *
 * The policy is θ [P·D, A], one row of logits per (context, prefix), initialised to π_ref's
 * logits. Per-token log-probs go through the LM path: the rows of θ the tokens sit at are
 * looked up with `embed` (a gather whose gradient is a scatter-add, so it trains on wasm,
 * where tf.gather has no gradient), then `gatherLogProbs` picks the taken action's
 * log-softmax, the same op the causal LM's trainers use.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { tokenPolicyStats, type TokenTask } from "../data/token_task.ts";
import { gatherLogProbs } from "../models/causal_lm.ts";
import { embed } from "../models/layers.ts";
import type { Rng } from "../util/rng.ts";
import type { MetricRow, RowSink } from "./metrics.ts";

/** What every token-level trainer returns. */
export interface TokenTrainResult {
  /** Final log π(a | x, prefix), [P, D, A]. */
  logPolicy: Float64Array;
  /** Exact E_x E_{y~π}[r(x, y)]. */
  reward: number;
  /** Exact E_x KL(π(·|x) ‖ π_ref(·|x)) over whole sequences. */
  kl: number;
  /** Exact expected tokens per sequence. */
  length: number;
  /** Metric rows every `logEvery` steps and at the end. */
  history: MetricRow[];
}

/** A batch of completions as [B, T] token arrays (row-major), plus per-row facts. */
export interface TokenBatch {
  /** Rows B. */
  B: number;
  /** Columns T (the task's most tokens). */
  T: number;
  /** Context x of each row, [B]. */
  context: Int32Array;
  /** Sequence (node) index n of each row, [B]. */
  sequence: Int32Array;
  /** Tokens per row (EOS included), [B]. */
  length: Int32Array;
  /** Row of θ each token is drawn at, x·D + prefix, [B·T] (0 at padding). */
  states: Int32Array;
  /** The token taken, 0..V (V = EOS), [B·T] (0 at padding). */
  actions: Int32Array;
  /** 1 at real tokens, [B·T]. */
  mask: Float32Array;
  /** log π_old of each token at the time of the batch, [B·T] (0 at padding). */
  oldLogProbs: Float32Array;
  /** log π_ref of each token, [B·T] (0 at padding). */
  refLogProbs: Float32Array;
  /** r(x, y) per row, [B]. */
  score: Float32Array;
}

/** π(a | x, prefix) = exp(logPolicy), [P, D, A]: what {@link sampleSequence} draws from. */
export function policyProbs(logPolicy: Float64Array): Float64Array {
  return logPolicy.map(Math.exp);
}

/**
 * Draw one sequence for context x by walking the tree from the root.
 * @param probs π(a | x, prefix), [P, D, A] ({@link policyProbs}).
 * @returns its sequence (node) index.
 */
export function sampleSequence(task: TokenTask, probs: Float64Array, x: number, rng: Rng): number {
  const { V, D, A } = task;
  let node = 0;
  for (;;) {
    const a = rng.categorical(probs, (x * D + node) * A, A);
    if (a === V) return node; // EOS: the sequence is the prefix
    node = node * V + 1 + a;
    if (node >= D) return node; // T tokens: ends without EOS
  }
}

/**
 * The token arrays of given (context, sequence) rows under `logPolicy` (π_old).
 * @param contexts x per row, [B]. @param sequences node index per row, [B].
 */
export function tokenBatch(
  task: TokenTask,
  logPolicy: Float64Array,
  contexts: ArrayLike<number>,
  sequences: ArrayLike<number>,
): TokenBatch {
  const { T, D, A, N, seqSteps, seqLength, logRef, rewards } = task;
  const B = contexts.length;
  const out: TokenBatch = {
    B,
    T,
    context: Int32Array.from(contexts),
    sequence: Int32Array.from(sequences),
    length: new Int32Array(B),
    states: new Int32Array(B * T),
    actions: new Int32Array(B * T),
    mask: new Float32Array(B * T),
    oldLogProbs: new Float32Array(B * T),
    refLogProbs: new Float32Array(B * T),
    score: new Float32Array(B),
  };
  for (let b = 0; b < B; b++) {
    const x = contexts[b]!, n = sequences[b]!;
    out.length[b] = seqLength[n]!;
    out.score[b] = rewards[x * N + n]!;
    for (let t = 0; t < T; t++) {
      const step = seqSteps[n * T + t]!;
      if (step < 0) break;
      const i = b * T + t, flat = x * D * A + step;
      out.states[i] = x * D + Math.floor(step / A);
      out.actions[i] = step % A;
      out.mask[i] = 1;
      out.oldLogProbs[i] = logPolicy[flat]!;
      out.refLogProbs[i] = logRef[flat]!;
    }
  }
  return out;
}

/** `perContext` samples of every context from π_old, rows grouped by context (x-major). */
export function sampleTokenBatch(
  task: TokenTask,
  logPolicy: Float64Array,
  perContext: number,
  rng: Rng,
): TokenBatch {
  const probs = policyProbs(logPolicy);
  const contexts: number[] = [], sequences: number[] = [];
  for (let x = 0; x < task.P; x++) {
    for (let k = 0; k < perContext; k++) {
      contexts.push(x);
      sequences.push(sampleSequence(task, probs, x, rng));
    }
  }
  return tokenBatch(task, logPolicy, contexts, sequences);
}

/**
 * The distinct (context, sequence) rows of a list, for losses that need only whole-sequence
 * log-probs (DPO, KTO): each distinct completion goes through the policy once and the
 * rows that repeat it read its value ({@link pickRows}).
 * @returns the distinct contexts and sequences, [U] each, and `index` [rows] into them.
 */
export function distinctRows(
  task: TokenTask,
  contexts: ArrayLike<number>,
  sequences: ArrayLike<number>,
): { contexts: number[]; sequences: number[]; index: Int32Array } {
  const seen = new Map<number, number>();
  const out = {
    contexts: [] as number[],
    sequences: [] as number[],
    index: new Int32Array(contexts.length),
  };
  for (let i = 0; i < contexts.length; i++) {
    const key = contexts[i]! * task.N + sequences[i]!;
    let u = seen.get(key);
    if (u === undefined) {
      u = out.contexts.length;
      seen.set(key, u);
      out.contexts.push(contexts[i]!);
      out.sequences.push(sequences[i]!);
    }
    out.index[i] = u;
  }
  return out;
}

/**
 * values[index[m]] for every m, [M], with a gradient on every backend (a gather whose
 * gradient is a scatter-add; tf.gather has none on wasm).
 * @param values [U]. @param index [M] int32.
 * @returns [M]; the caller disposes it.
 */
export function pickRows(values: tf.Tensor1D, index: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.reshape(embed(index, tf.reshape(values, [-1, 1]) as tf.Tensor2D), [-1]));
}

/** The tensors of a batch the losses read; `dispose()` frees them. */
export interface BatchTensors {
  /** θ-row of each token, [B·T] int32. */
  states: tf.Tensor1D;
  /** Taken tokens, [B, T] int32. */
  actions: tf.Tensor2D;
  /** [B, T]. */
  mask: tf.Tensor2D;
  /** [B, T]. */
  oldLogProbs: tf.Tensor2D;
  /** [B, T]. */
  refLogProbs: tf.Tensor2D;
  /** Free every tensor above. */
  dispose(): void;
}

/** Upload a batch's token arrays. The caller disposes the result. */
export function batchTensors(batch: TokenBatch): BatchTensors {
  const { B, T } = batch;
  const t = {
    states: tf.tensor1d(batch.states, "int32"),
    actions: tf.tensor2d(batch.actions, [B, T], "int32"),
    mask: tf.tensor2d(batch.mask, [B, T]),
    oldLogProbs: tf.tensor2d(batch.oldLogProbs, [B, T]),
    refLogProbs: tf.tensor2d(batch.refLogProbs, [B, T]),
  };
  return { ...t, dispose: () => tf.dispose(Object.values(t)) };
}

/** The tabular token policy θ [P·D, A]; owns its variable (call `dispose`). */
export class TabularTokenPolicy {
  /** Logits, one row per (context, prefix); trainable. */
  readonly theta: tf.Variable;

  /** The task the policy acts in. */
  readonly task: TokenTask;

  /** A policy equal to π_ref. @param task the task whose π_ref logits θ starts from. */
  constructor(task: TokenTask) {
    this.task = task;
    const { P, D, A, refLogits } = task;
    this.theta = tf.tidy(() =>
      tf.variable(tf.tensor2d(Float32Array.from(refLogits), [P * D, A]), true)
    );
  }

  /** log π_θ of the batch's tokens, [B, T] (0·garbage at padding: mask it); differentiable. */
  tokenLogProbs(t: BatchTensors): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, T] = t.actions.shape;
      const logits = tf.reshape(embed(t.states, this.theta as tf.Tensor2D), [B, T, this.task.A]); // [B, T, A]
      return gatherLogProbs(logits as tf.Tensor3D, t.actions); // [B, T]
    });
  }

  /** Summed log π_θ(y|x) per row, [B]; differentiable. */
  sequenceLogProbs(t: BatchTensors): tf.Tensor1D {
    return tf.tidy(() => tf.sum(tf.mul(this.tokenLogProbs(t), t.mask), 1));
  }

  /** log π_θ(a | x, prefix) as a Float64Array [P, D, A] (one device read). */
  logPolicy(): Float64Array {
    const t = tf.tidy(() => tf.logSoftmax(this.theta));
    const out = Float64Array.from(t.dataSync());
    t.dispose();
    return out;
  }

  /** Free θ. */
  dispose(): void {
    this.theta.dispose();
  }
}

/**
 * Set an Adam optimizer's learning rate for the next step. tfjs reads `learningRate` at
 * every `applyGradients` but declares it protected, hence the cast.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** Push a row to the history and the sink. */
export function emit(history: MetricRow[], onRow: RowSink | undefined, row: MetricRow): void {
  history.push(row);
  onRow?.(row);
}

/** The trainer's result: the final policy and its exact statistics. */
export function finish(policy: TabularTokenPolicy, history: MetricRow[]): TokenTrainResult {
  const logPolicy = policy.logPolicy();
  const { reward, kl, length } = tokenPolicyStats(policy.task, logPolicy);
  return { logPolicy, reward, kl, length, history };
}

/** Exact `reward/gold`, `kl/ref` and `policy/length` of the current policy, for a metric row. */
export function exactMetrics(policy: TabularTokenPolicy): Record<string, number> {
  const { reward, kl, length } = tokenPolicyStats(policy.task, policy.logPolicy());
  return { "reward/gold": reward, "kl/ref": kl, "policy/length": length };
}
