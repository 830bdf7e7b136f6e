/**
 * Convergence gates: pure checks over a run's metric rows that say whether it was trained
 * long enough for its numbers to be read as converged. Each returns a {@link GateResult}
 * (passed, the measured value, the threshold it was held to, and one sentence why), so an
 * experiment can record and report the gate next to the result.
 *
 * @module
 */
import type { MetricRow } from "../train/metrics.ts";
import { ConfigError, show } from "../util/errors.ts";

/** The outcome of a gate. */
export interface GateResult {
  /** Whether the run meets the gate. */
  passed: boolean;
  /** The measured quantity (NaN when it could not be measured). */
  value: number;
  /** The bound it is compared with (see each gate for the direction). */
  threshold: number;
  /** One sentence: what was measured, against what, and the verdict. */
  explanation: string;
}

/** Options of {@link dpoConvergenceGate}. */
export interface DpoGateOptions {
  /** How far below the reward model's accuracy the DPO accuracy may stay; default 0.03. */
  tolerance?: number;
  /** The held-out accuracy metric of the rows; default `val/accuracy`. */
  metric?: string;
}

/**
 * DPO-family gate: the held-out implicit-reward accuracy at the end of training (the
 * `metric` of the row with the largest step that has it) has reached the reward model's
 * held-out accuracy on the same pairs, within `tolerance`:
 *
 *     passed ⇔ acc_DPO ≥ acc_RM − tolerance      (value = acc_DPO, threshold = acc_RM − tol)
 *
 * Both accuracies must be measured alike (untied held-out pairs, equal scores counting
 * half; see lib/data/annotator_p_correct.ts): the reward model is what the same preferences teach a
 * per-completion scorer, so an implicit reward that stays well below it is undertrained.
 * Exceeding it passes.
 * @throws ConfigError when rmAccuracy or tolerance is outside [0, 1].
 */
export function dpoConvergenceGate(
  rows: readonly MetricRow[],
  rmAccuracy: number,
  opts: DpoGateOptions = {},
): GateResult {
  const tolerance = opts.tolerance ?? 0.03;
  const metric = opts.metric ?? "val/accuracy";
  unit("rmAccuracy", rmAccuracy);
  unit("tolerance", tolerance);
  const threshold = rmAccuracy - tolerance;
  const points = series(rows, metric);
  if (points.length === 0) {
    return {
      passed: false,
      value: NaN,
      threshold,
      explanation: `no row has ${metric}: give the DPO trainer held-out pairs to measure it`,
    };
  }
  const value = points[points.length - 1]!.y;
  const passed = value >= threshold;
  return {
    passed,
    value,
    threshold,
    explanation: `${metric} ${fmt(value)} at step ${points[points.length - 1]!.x} ` +
      `${passed ? "≥" : "<"} reward model ${fmt(rmAccuracy)} − ${fmt(tolerance)}`,
  };
}

/** Options of {@link ppoConvergenceGate}. */
export interface PpoGateOptions {
  /** The reward metric; default `reward/gold`. */
  metric?: string;
  /** The trailing share of iterations examined, in (0, 1]; default 0.2. */
  tailFraction?: number;
  /** z, the multiple of the drift's standard error allowed; default 2 (≈ 95%). */
  z?: number;
}

/**
 * PPO gate: the reward is flat over the last `tailFraction` of iterations, within its
 * noise. Precisely, with S the largest step carrying `metric`, take the m rows whose step
 * exceeds S·(1 − tailFraction) (m ≥ 3), fit y = a + b·step by least squares, and let
 *
 *     drift      = b · span,  span = last step − first step of the window
 *     SE(drift)  = span · √( Σ residual² / (m − 2) / Σ (step − mean step)² )
 *     passed ⇔ |drift| ≤ z · SE(drift)     (value = |drift|, threshold = z·SE(drift))
 *
 * i.e. the change the fitted line makes across the window is within z standard errors of
 * zero: no trend is detectable over the tail. Why not hold the drift to the standard
 * error of the window's mean instead: on a series that is flat but noisy (each row is a
 * rollout mean) the fitted drift alone has standard deviation √(12(m − 1)/(m + 1)) times
 * that of the mean (≈ 3.3 at m = 20), so that rule fails most converged runs; measured
 * against its own standard error, a flat series passes with probability
 * P(|t_{m−2}| ≤ z) (≈ 0.94 at m = 20, z = 2). The price is power: a slow trend buried in
 * noise passes, so report the window's mean and its standard error beside the gate.
 * @throws ConfigError for tailFraction outside (0, 1] or z ≤ 0.
 */
export function ppoConvergenceGate(
  rows: readonly MetricRow[],
  opts: PpoGateOptions = {},
): GateResult {
  const metric = opts.metric ?? "reward/gold";
  const tailFraction = opts.tailFraction ?? 0.2;
  const z = opts.z ?? 2;
  if (!(tailFraction > 0 && tailFraction <= 1)) {
    throw new ConfigError(`tailFraction must be a number > 0 and <= 1, got ${show(tailFraction)}`);
  }
  if (!(z > 0 && Number.isFinite(z))) {
    throw new ConfigError(`z must be a finite number > 0, got ${show(z)}`);
  }
  const points = series(rows, metric);
  const last = points.length ? points[points.length - 1]!.x : NaN;
  const window = points.filter((p) => p.x > last * (1 - tailFraction));
  const m = window.length;
  if (m < 3) {
    return {
      passed: false,
      value: NaN,
      threshold: NaN,
      explanation: `${m} row${m === 1 ? "" : "s"} with ${metric} in the last ` +
        `${fmt(100 * tailFraction)}% of steps; the flatness test needs at least 3`,
    };
  }
  const xMean = window.reduce((s, p) => s + p.x, 0) / m;
  const yMean = window.reduce((s, p) => s + p.y, 0) / m;
  let sxx = 0, sxy = 0;
  for (const p of window) {
    sxx += (p.x - xMean) ** 2;
    sxy += (p.x - xMean) * (p.y - yMean);
  }
  const b = sxy / sxx;
  let ssRes = 0;
  for (const p of window) ssRes += (p.y - yMean - b * (p.x - xMean)) ** 2;
  const span = window[m - 1]!.x - window[0]!.x;
  const drift = b * span;
  const seDrift = span * Math.sqrt(ssRes / (m - 2) / sxx);
  const value = Math.abs(drift), threshold = z * seDrift;
  const passed = value <= threshold;
  return {
    passed,
    value,
    threshold,
    explanation: `${metric} drifts ${fmt(drift)} over steps ${window[0]!.x}–${window[m - 1]!.x} ` +
      `(${m} rows, mean ${fmt(yMean)}): ${passed ? "within" : "beyond"} ${z}·SE = ${
        fmt(threshold)
      }`,
  };
}

/** (step, value) of the rows with a finite `metric`, by step. */
function series(rows: readonly MetricRow[], metric: string): { x: number; y: number }[] {
  return rows
    .filter((r) => Number.isFinite(r[metric]) && Number.isFinite(r.step))
    .map((r) => ({ x: r.step, y: r[metric]! }))
    .sort((a, b) => a.x - b.x);
}

function unit(name: string, v: number): void {
  if (!(v >= 0 && v <= 1)) throw new ConfigError(`${name} must be in [0, 1], got ${show(v)}`);
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(3);
}
