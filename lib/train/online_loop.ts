/**
 * The loop the critic-free on-policy trainers share (GRPO, RLOO, online DPO), read top to
 * bottom as PPO's: one iteration (rollout → update) → one metric row → samples when due →
 * checkpoint evaluation when due → `afterStep`. Each trainer supplies its iteration; this
 * module owns the cadence, the progress bar, and the averaging of minibatch metrics.
 *
 * @module
 */
import type { CausalLM } from "../models/causal_lm.ts";
import type { RewardSource } from "./rollout.ts";
import { checkFinite, type MetricRow, type RowSink } from "./metrics.ts";
import { Progress } from "../util/progress.ts";
import type { Rng } from "../util/rng.ts";

/** A few completions of an iteration, for logs and samples.jsonl. */
export interface OnlineSample {
  /** The iteration (1-based) the completion was sampled at. */
  step: number;
  /** Prompt token ids (with BOS). */
  prompt: number[];
  /** Response token ids. */
  response: number[];
  /** The training reward of the completion. */
  score: number;
}

/** What every critic-free on-policy trainer takes besides its config. */
export interface OnlineRun {
  /** The policy to train, in place (starts as a copy of the reference). */
  policy: CausalLM;
  /** The frozen reference (SFT) model. */
  ref: CausalLM;
  /** The reward completions are scored (or, for online DPO, labelled) by. */
  reward: RewardSource;
  /** Metric name of the reward's mean (default `reward/score`). */
  rewardMetric?: string;
  /** Rewards measured on the rollouts but not trained on, by metric name (`reward/gold`). */
  monitors?: Readonly<Record<string, RewardSource>>;
  /** Prompt pool (token ids with BOS). */
  prompts: readonly number[][];
  /** Receives each metric row as it is logged. */
  onRow?: RowSink;
  /** Receives a few completions of an iteration every `sampleEvery` iterations. */
  onSamples?: (samples: OnlineSample[]) => void;
  /** Label of the progress bar; `false` silences it. */
  progress?: string | false;
  /**
   * Called after every iteration whose losses and rewards were finite, with the number of
   * iterations done (1-based), e.g. to save a checkpoint known to be good.
   */
  afterStep?: (iterationsDone: number) => Promise<void> | void;
  /**
   * Checkpoint evaluation after iterations evalEvery, 2·evalEvery, … and the last, as in
   * `trainPpo`: its numbers become a row `{ step, ...metrics }`. It draws its own
   * randomness, so training is the same with it or without it.
   */
  evaluate?: (iterationsDone: number) => Promise<Record<string, number>>;
}

/** One iteration's outcome. */
export interface OnlineIteration {
  /** Its metrics (without `step`), every value checked finite by the trainer. */
  metrics: Record<string, number>;
  /** Completions to report when samples are due (the first few rows). */
  samples: OnlineSample[];
  /** A short text for the progress bar. */
  show: string;
}

/** The cadence of {@link runOnlineLoop}. */
export interface OnlineLoopSpec {
  /** Iterations. */
  iterations: number;
  /** Evaluate after every this many iterations and the last (0: never). */
  evalEvery: number;
  /** Report samples every this many iterations and at the last (0: never). */
  sampleEvery: number;
  /** Progress label (`false`: silent). */
  label: string | false;
  /** One iteration at 0-based `it`. */
  iterate: (it: number) => Promise<OnlineIteration>;
}

/** Run the iterations; returns every row logged (training rows and evaluation rows). */
export async function runOnlineLoop(
  run: Pick<OnlineRun, "onRow" | "onSamples" | "afterStep" | "evaluate">,
  spec: OnlineLoopSpec,
): Promise<MetricRow[]> {
  const rows: MetricRow[] = [];
  const bar = new Progress({
    label: spec.label || "train",
    total: spec.iterations,
    quiet: spec.label === false,
    every: 5,
  });
  const emit = (row: MetricRow) => {
    rows.push(row);
    run.onRow?.(row);
  };
  for (let it = 0; it < spec.iterations; it++) {
    const done = it + 1;
    const out = await spec.iterate(it);
    emit({ step: done, ...out.metrics });
    if (spec.sampleEvery > 0 && (it % spec.sampleEvery === 0 || done === spec.iterations)) {
      run.onSamples?.(out.samples);
    }
    bar.update(done, out.show);
    const due = spec.evalEvery > 0 && (done % spec.evalEvery === 0 || done === spec.iterations);
    if (run.evaluate && due) {
      const evalRow: MetricRow = { step: done };
      for (const [k, v] of Object.entries(await run.evaluate(done))) {
        evalRow[k] = checkFinite(k, v, it);
      }
      emit(evalRow);
    }
    await run.afterStep?.(done);
  }
  bar.finish();
  return rows;
}

/** What {@link minibatchEpochs} needs. */
export interface MinibatchSpec {
  /** Rows (or pairs) in the iteration's batch. */
  rows: number;
  /** Passes over them. */
  epochs: number;
  /** Rows per optimiser step. */
  minibatchSize: number;
  /** Shuffles the rows before each pass. */
  rng: Rng;
  /** The 0-based iteration (named in a NaN's error). */
  it: number;
  /** One optimiser step on the rows `idx`; returns its metrics, read from the device. */
  step: (idx: number[]) => Promise<Record<string, number>>;
}

/**
 * `epochs` passes of shuffled minibatches over an iteration's rows, one optimiser step
 * each; every metric is checked finite and averaged over the steps.
 * @returns the mean of each metric, and `train/updates`, the steps taken.
 */
export async function minibatchEpochs(s: MinibatchSpec): Promise<Record<string, number>> {
  const order = Array.from({ length: s.rows }, (_, i) => i);
  const sums: Record<string, number> = {};
  let count = 0;
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    s.rng.shuffle(order);
    for (let i = 0; i < order.length; i += s.minibatchSize) {
      const m = await s.step(order.slice(i, i + s.minibatchSize));
      for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + checkFinite(k, v, s.it);
      count++;
    }
  }
  const out: Record<string, number> = { "train/updates": count };
  for (const [k, v] of Object.entries(sums)) out[k] = v / count;
  return out;
}

/** The first `n` rows of a rollout as samples of iteration `step` (1-based). */
export function firstSamples(
  step: number,
  prompts: readonly number[][],
  responses: readonly number[][],
  scores: ArrayLike<number>,
  n = 4,
): OnlineSample[] {
  return prompts.slice(0, n).map((p, i) => ({
    step,
    prompt: p,
    response: responses[i]!,
    score: scores[i]!,
  }));
}
