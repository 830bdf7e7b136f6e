/**
 * Metric rows: what every trainer emits, one row per logged step, with CleanRL-style
 * prefixed names (`loss/sft`, `train/lr`, `val/ppl`, `reward/gold`, `kl/ref`).
 *
 * Every loss, gradient norm and reward passes through {@link checkFinite}, so a NaN or Inf
 * stops training with a {@link NumericalError} naming the quantity and the step. For tests
 * of that path, {@link armNanFault} makes the check see a NaN at a chosen step (the
 * canonical experiment arms it from the `RLHF_FAULT` environment variable).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, NumericalError, show } from "../util/errors.ts";

/**
 * Read named scalar tensors with one device sync (stacked, then one `data()`) instead of
 * one sync each, and dispose them: the inputs are owned by this call.
 * @returns the values by name, in the order given.
 */
export async function readScalars(
  named: Record<string, tf.Tensor>,
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
  step: number;
  [metric: string]: number;
}

/** Receives rows as they are produced (live plots, CSV writers, progress). */
export type RowSink = (row: MetricRow) => void;

/** The armed fault: the step at which the next `loss/*` check reads NaN. */
let nanFaultStep: number | undefined;

/**
 * Throw a {@link NumericalError} naming `quantity` and `step` when `value` is NaN or ±Inf.
 * @param step the trainer's 0-based step (PPO: iteration) the value belongs to.
 */
export function checkFinite(quantity: string, value: number, step: number): number {
  if (nanFaultStep === step && quantity.startsWith("loss/")) {
    nanFaultStep = undefined; // one shot
    value = NaN;
  }
  if (!Number.isFinite(value)) throw new NumericalError(quantity, step, value);
  return value;
}

/**
 * Fault injection for tests: the first `loss/*` quantity checked at 0-based `step` (by
 * the shared loop or PPO) reads as NaN, once, exactly as if training had diverged there.
 * Process-wide; arm it around one training run only.
 * @returns a function that disarms it (call it in a `finally`).
 */
export function armNanFault(step: number): () => void {
  nanFaultStep = step;
  return () => {
    nanFaultStep = undefined;
  };
}

/** A parsed fault spec: make training of `target` (a method or a run id) NaN at `step`. */
export interface FaultSpec {
  kind: "nan";
  /** A method name (`dpo`, every run of it) or one run id (`canonical__dpo__0.1__1`). */
  target: string;
  /** 0-based training step (PPO: iteration). */
  step: number;
}

/**
 * Parse a fault spec `nan:<method or run id>:<step>` (the format of `RLHF_FAULT`).
 * @param source named in the error message, e.g. `RLHF_FAULT`.
 * @throws ConfigError naming `source`, the bad value and the format.
 * @example
 * ```ts
 * import { parseFault } from "./metrics.ts";
 * const f = parseFault("nan:dpo:3");
 * if (f.target !== "dpo" || f.step !== 3) throw new Error();
 * ```
 */
export function parseFault(spec: string, source = "fault"): FaultSpec {
  const m = /^nan:([A-Za-z0-9_.\-]+):(\d+)$/.exec(spec.trim());
  if (!m) {
    throw new ConfigError(
      `${source} must be nan:<method or run id>:<step> (e.g. nan:dpo:3), got ${show(spec)}`,
    );
  }
  return { kind: "nan", target: m[1]!, step: Number(m[2]) };
}
