/**
 * The loop every gradient trainer runs, read top to bottom as nanoGPT's: set the learning
 * rate → evaluate when due → one step → log. Trainers supply the step and the evaluation;
 * the loop owns the schedule, the averaging of metrics over a log window, the NaN/Inf
 * check, tokens/s and the progress bar.
 *
 * @module
 */
import type { LoopConfig } from "./loop_config.ts";
import { warmupCosine } from "./schedule.ts";
import { checkFinite, type MetricRow, type RowSink } from "./metrics.ts";
import { Progress } from "../util/progress.ts";

/** What one step reports: named scalars (already read from the device) and tokens seen. */
export interface StepReport {
  /** Named scalars of the step, e.g. `loss/sft`. */
  metrics: Record<string, number>;
  /** Tokens the step trained on (for `perf/tokens_per_s`). */
  tokens?: number;
}

/** A trainer's part of the loop. */
export interface LoopSpec {
  /** Steps, schedule and logging intervals. */
  config: LoopConfig;
  /** Progress-bar label; `false` silences it. */
  label: string | false;
  /** Receives each row as it is logged. */
  onRow?: RowSink;
  /** One optimiser step at `step` (0-based) with learning rate `lr`. */
  step: (step: number, lr: number) => Promise<StepReport>;
  /** Evaluation at `step`; its numbers become one row. */
  evaluate?: (step: number) => Promise<Record<string, number> | undefined>;
  /** Metric shown on the progress bar. */
  show?: string;
  /**
   * Called after every step whose metrics were all finite, with the number of steps done
   * (1-based), e.g. to save a checkpoint that is known to be good.
   */
  afterStep?: (stepsDone: number) => Promise<void> | void;
}

/** Run the loop; returns every row it logged. */
export async function runLoop(spec: LoopSpec): Promise<MetricRow[]> {
  const c = spec.config;
  const rows: MetricRow[] = [];
  const bar = new Progress({
    label: spec.label || "train",
    total: c.steps,
    quiet: spec.label === false,
    every: c.logEvery * 5,
  });
  const emit = (row: MetricRow) => {
    rows.push(row);
    spec.onRow?.(row);
  };
  const evaluate = async (step: number) => {
    const m = await spec.evaluate?.(step);
    if (!m) return;
    for (const [k, v] of Object.entries(m)) checkFinite(k, v, step);
    emit({ step, ...m });
  };
  let sums: Record<string, number> = {};
  let count = 0, tokens = 0, windowStart = performance.now();
  for (let step = 0; step < c.steps; step++) {
    const lr = warmupCosine(step, {
      lr: c.lr,
      minLr: c.minLr,
      warmupSteps: c.warmupSteps,
      totalSteps: c.steps,
    });
    if (c.evalEvery > 0 && step > 0 && step % c.evalEvery === 0) await evaluate(step);
    const report = await spec.step(step, lr);
    for (const [k, v] of Object.entries(report.metrics)) {
      sums[k] = (sums[k] ?? 0) + checkFinite(k, v, step);
    }
    count++;
    tokens += report.tokens ?? 0;
    await spec.afterStep?.(step + 1);
    if ((step + 1) % c.logEvery === 0 || step === c.steps - 1) {
      const secs = (performance.now() - windowStart) / 1000;
      const row: MetricRow = { step: step + 1 };
      for (const [k, v] of Object.entries(sums)) row[k] = v / count;
      row["train/lr"] = lr;
      if (tokens > 0) row["perf/tokens_per_s"] = tokens / secs;
      emit(row);
      const shown = spec.show && row[spec.show] !== undefined
        ? `${shownName(spec.show)} ${row[spec.show]!.toFixed(3)}`
        : "";
      bar.update(step + 1, shown);
      sums = {};
      count = tokens = 0;
      windowStart = performance.now();
    }
  }
  await evaluate(c.steps);
  bar.finish();
  return rows;
}

/**
 * A metric's name on the bar, which already names the stage: `loss/sft` → `loss`,
 * `rm/accuracy` → `accuracy`.
 */
function shownName(metric: string): string {
  return metric.startsWith("loss/") ? "loss" : metric.slice(metric.indexOf("/") + 1);
}
