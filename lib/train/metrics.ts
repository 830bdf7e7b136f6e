/**
 * Metric rows: what every trainer emits, one row per logged step, with CleanRL-style
 * prefixed names (`loss/sft`, `train/lr`, `val/ppl`, `reward/gold`, `kl/ref`).
 *
 * @module
 */
import { NumericalError } from "../util/errors.ts";

/** One logged step: `step` plus any named numbers. */
export interface MetricRow {
  step: number;
  [metric: string]: number;
}

/** Receives rows as they are produced (live plots, CSV writers, progress). */
export type RowSink = (row: MetricRow) => void;

/** Throw a {@link NumericalError} naming `quantity` and `step` when `value` is NaN or ±Inf. */
export function checkFinite(quantity: string, value: number, step: number): number {
  if (!Number.isFinite(value)) throw new NumericalError(quantity, step, value);
  return value;
}
