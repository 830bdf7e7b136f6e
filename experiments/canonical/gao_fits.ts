/**
 * Gao et al.'s over-optimisation fits for a sweep (Gao, Schulman & Hilton 2023, "Scaling
 * laws for reward model overoptimization"): the gold reward a method gains over the SFT
 * policy, R = gold − gold_SFT, as a function of d = √KL(π ‖ π_SFT), fitted per method
 * (lib/eval/gao_fit.ts):
 *
 * - best-of-n, from its n grid (one point per run): R(d) = d·(α − β·d), with the analytic
 *   KL = log n − (n − 1)/n;
 * - every method that logs checkpoint evaluations, from its checkpoints at every β:
 *   the RL form R(d) = d·(α − β·log d), with the sampled KL. (Gao et al. fitted it to RL;
 *   for the offline DPO family it is a description of the curve, not a law.)
 *
 * gold_SFT is the mean gold reward of the best-of-n runs with n = 1 (one SFT sample per
 * prompt); without such a run there is no baseline and nothing is fitted.
 *
 * @module
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { fitGao, gaoDistance, type GaoForm } from "../../lib/eval/gao_fit.ts";
import type { FittedCurve } from "../../lib/plot/overlays.ts";
import type { CheckpointRow } from "./envelope.ts";

/** One row of `gao_fits.csv`. */
export interface GaoFitRow {
  /** Method key. */
  method: string;
  /** `bon` or `rl`. */
  form: GaoForm;
  /** α (null when not fitted). */
  alpha: number | null;
  /** β of the form, the bend (null when not fitted). */
  beta: number | null;
  /** R² of the fit on its points (null when not fitted or undefined). */
  r2: number | null;
  /** Points available to the fit. */
  points: number;
  /** gold_SFT, the baseline the gains are measured from. */
  baseline_gold: number | null;
  /** Why there is no fit ("" when there is one). */
  note: string;
}

/** What {@link gaoFits} returns. */
export interface GaoFits {
  /** One row per method ({@link GaoFitRow}), in the summary's method order. */
  table: ColumnTable;
  /** The fitted curves as gold reward (baseline + R) against KL, for the figure. */
  curves: FittedCurve[];
  /** gold_SFT, when the sweep has best-of-n runs with n = 1. */
  baseline?: number;
}

const num = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;

/**
 * The SFT policy's gold reward: the mean `reward_gold` of the best-of-n runs with n = 1.
 * @param summary one row per run.
 */
export function sftBaseline(summary: ColumnTable): number | undefined {
  const golds = (summary.objects() as Record<string, unknown>[])
    .filter((r) => r.method === "bon" && r.n === 1)
    .map((r) => num(r.reward_gold))
    .filter((g): g is number => g !== undefined);
  return golds.length ? golds.reduce((a, b) => a + b, 0) / golds.length : undefined;
}

/**
 * Fit Gao et al.'s forms per method (see the module doc).
 * @param summary one row per run (`method`, `n`, `kl`, `reward_gold`).
 * @param checkpoints the runs' checkpoint evaluations (envelope.ts `checkpointPoints`).
 */
export function gaoFits(summary: ColumnTable, checkpoints: readonly CheckpointRow[]): GaoFits {
  const baseline = sftBaseline(summary);
  const runs = summary.objects() as Record<string, unknown>[];
  const methods = [...new Set(runs.map((r) => String(r.method)))];
  const rows: GaoFitRow[] = [];
  const curves: FittedCurve[] = [];
  for (const method of methods) {
    const form: GaoForm = method === "bon" ? "bon" : "rl";
    const points = form === "bon"
      ? runs.filter((r) => r.method === "bon").map((r) => ({
        kl: num(r.kl),
        gold: num(r.reward_gold),
      }))
      : checkpoints.filter((p) => p.method === method).map((p) => ({
        kl: p.kl,
        gold: p.reward_gold,
      }));
    const usable = points.filter((p): p is { kl: number; gold: number } =>
      p.kl !== undefined && p.gold !== undefined
    );
    const row: GaoFitRow = {
      method,
      form,
      alpha: null,
      beta: null,
      r2: null,
      points: usable.length,
      baseline_gold: baseline ?? null,
      note: "",
    };
    rows.push(row);
    const d = usable.map((p) => gaoDistance(p.kl));
    const distinct = new Set(d.filter((x) => x > 0)).size;
    if (baseline === undefined) {
      row.note = "no best-of-n run with n = 1 to give the SFT policy's gold reward";
    } else if (!usable.length) {
      row.note = "no checkpoint evaluations (its evalEvery is 0)";
    } else if (distinct < 2) {
      row.note = `${distinct} distinct KL > 0 among ${usable.length} points; a fit needs 2`;
    } else {
      const fit = fitGao(form, d, usable.map((p) => p.gold - baseline));
      row.alpha = fit.alpha;
      row.beta = fit.beta;
      row.r2 = Number.isFinite(fit.r2) ? fit.r2 : null;
      curves.push({
        method,
        form,
        kl: fit.curve.d.map((x) => x * x),
        reward: fit.curve.reward.map((r) => baseline + r),
        text: `α=${fit.alpha.toPrecision(3)} β=${fit.beta.toPrecision(3)}` +
          (row.r2 === null ? "" : ` R²=${row.r2.toFixed(2)}`),
      });
    }
  }
  const table = aq.from(rows, [
    "method",
    "form",
    "alpha",
    "beta",
    "r2",
    "points",
    "baseline_gold",
    "note",
  ]);
  return { table, curves, ...(baseline !== undefined ? { baseline } : {}) };
}
