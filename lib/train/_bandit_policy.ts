/**
 * Shared parts of the bandit trainers (bandit_dpo.ts, bandit_ppo.ts), for the exact bandit
 * task (lib/data/bandit.ts): the tabular policy π_θ(y|x) = softmax(θ[x]) with θ a Variable
 * [P, R] that starts at π_ref's logits, and what both return, the final policy with its
 * exact expected reward and KL(π‖π_ref), so tests can compare them with the closed-form
 * optima of lib/eval/oracle.ts.
 *
 * Log-probs of chosen responses are picked with one-hot matrices and a matMul, never
 * tf.gather, whose gradient the wasm backend lacks (docs/architecture.md, "Backends"). The
 * learning rate decays linearly from `lr` to 0 over `steps` (TRL's default schedule), so
 * Adam settles on the optimum instead of hovering within ~lr of it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D, Variable } from "../util/tensor_types.ts";
import { type BanditTask, tabularStats } from "../data/bandit.ts";
import type { MetricRow, RowSink } from "./metrics.ts";

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

/** The tabular policy θ [P, R], a trainable variable initialised to π_ref's logits. */
export function policyLogits(task: BanditTask): Variable {
  // tidy releases the initial tensor; the variable keeps its own reference to the data.
  return tf.tidy(() =>
    tf.variable(tf.tensor2d(Float32Array.from(task.refLogits), [task.P, task.R]), true)
  );
}

/** One-hot rows: out[m, idx[m]] = 1, [M, width]; the caller disposes it. */
export function oneHot(idx: readonly number[], width: number): Tensor2D {
  const data = new Float32Array(idx.length * width);
  idx.forEach((i, m) => (data[m * width + i] = 1));
  return tf.tensor2d(data, [idx.length, width]);
}

/** log-softmax of θ [P, R] as a Float64Array [P·R] (via Float32 data). */
export function logSoftmaxOf(theta: Variable): Float64Array {
  const t = tf.tidy(() => tf.logSoftmax(theta));
  const out = Float64Array.from(t.dataSync());
  t.dispose();
  return out;
}

/** Keep `row` in `history` and pass it to `onRow`. */
export function emit(history: MetricRow[], onRow: RowSink | undefined, row: MetricRow): void {
  history.push(row);
  onRow?.(row);
}

/** The final policy of θ and its exact reward and KL, with the metric rows. */
export function finish(task: BanditTask, theta: Variable, history: MetricRow[]): BanditResult {
  const logProbs = logSoftmaxOf(theta);
  const { reward, kl } = tabularStats(task, logProbs);
  return { logProbs, probs: logProbs.map(Math.exp), reward, kl, history };
}

/**
 * Set an Adam optimizer's learning rate for the next step. tfjs reads `learningRate` at
 * every `applyGradients` but declares it protected, hence the cast.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}
