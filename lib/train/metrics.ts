/**
 * Metric rows: what every trainer emits, one row per logged step, with CleanRL-style
 * prefixed names (`loss/sft`, `train/lr`, `val/ppl`, `reward/gold`, `kl/ref`).
 *
 * Every loss, gradient norm and reward passes through {@link checkFinite}, so a NaN or Inf
 * stops training with a {@link NumericalError} naming the quantity and the step. Tests of
 * that path arm a NaN at a chosen step with the private `_fault.ts` (the canonical
 * experiment arms it from the `RLHF_FAULT` environment variable).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../util/tensor_types.ts";
import { NumericalError } from "../util/errors.ts";
import { takeNanFault } from "./_fault.ts";

/**
 * Read named scalar tensors with one device sync (stacked, then one `data()`) instead of
 * one sync each, and dispose them: the inputs are owned by this call.
 * @returns the values by name, in the order given.
 */
export async function readScalars(
  named: Record<string, Tensor>,
): Promise<Record<string, number>> {
  const names = Object.keys(named);
  const tensors = Object.values(named);
  const stacked = tf.tidy(() => tf.stack(tensors.map((t) => t.reshape([]))));
  const values = await stacked.data();
  tf.dispose([stacked, ...tensors]);
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

/** One logged step: `step` plus any named numbers. */
export interface MetricRow {
  /** Steps done when the row was logged (PPO: iterations). */
  step: number;
  /** Metric name (prefixed like `loss/dpo`) → value. */
  [metric: string]: number;
}

/** Receives rows as they are produced (live plots, CSV writers, progress). */
export type RowSink = (row: MetricRow) => void;

/**
 * Throw a {@link NumericalError} naming `quantity` and `step` when `value` is NaN or ±Inf.
 * @param step the trainer's 0-based step (PPO: iteration) the value belongs to.
 */
export function checkFinite(quantity: string, value: number, step: number): number {
  if (takeNanFault(quantity, step)) value = NaN;
  if (!Number.isFinite(value)) throw new NumericalError(quantity, step, value);
  return value;
}
