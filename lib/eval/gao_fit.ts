/**
 * Over-optimisation curves: Gao, Schulman & Hilton (2023), "Scaling laws for reward model
 * overoptimization" (ICML), model the gold reward gained over the initial policy as a
 * function of the distance d = √KL(π‖π_init):
 *
 *     best-of-n:  R(d) = d·(α − β·d)
 *     RL:         R(d) = d·(α − β·log d)
 *
 * with R(0) = 0 (pass rewards relative to the initial policy's). Both are linear in
 * (α, β) given d, R(d) = α·f₁(d) − β·f₂(d) with f₁ = d and f₂ = d² or d·log d (0 at
 * d = 0, its limit), so the least-squares fit is closed form: the 2×2 normal equations
 * solved exactly. R² is the usual 1 − SS_res/SS_tot with SS_tot about the mean reward; the
 * curves have no intercept, so a poor fit can give R² < 0.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";

/** The two functional forms: best-of-n and RL. */
export const GAO_FORMS = ["bon", "rl"] as const;
/** A functional form of {@link GAO_FORMS}. */
export type GaoForm = (typeof GAO_FORMS)[number];

/** A least-squares fit of one form. */
export interface GaoFit {
  /** Which form. */
  form: GaoForm;
  /** α: the initial slope dR/dd at d = 0 (bon) or the linear coefficient (rl). */
  alpha: number;
  /** β: how fast the gain bends over (over-optimisation). */
  beta: number;
  /** Coefficient of determination of the fit on its points (NaN when all rewards are equal). */
  r2: number;
  /** Points fitted. */
  n: number;
  /** The fitted curve on an even grid of d from 0 to the largest d (or `gridMax`). */
  curve: { d: number[]; reward: number[] };
}

/** Options of {@link fitGao}. */
export interface GaoFitOptions {
  /** Points of the fitted curve's grid (≥ 2); default 50. */
  gridPoints?: number;
  /** The grid's last d; default the largest fitted d. */
  gridMax?: number;
}

/**
 * R(d) of a form with given α, β.
 * @example
 * ```ts
 * import { gaoReward } from "./gao_fit.ts";
 * if (gaoReward("bon", 2, 0.5, 2) !== 2) throw new Error(); // 2·(2 − 0.5·2)
 * ```
 */
export function gaoReward(form: GaoForm, alpha: number, beta: number, d: number): number {
  return alpha * d - beta * bend(form, d);
}

/**
 * d = √KL for a KL estimate. A KL estimated from samples can come out slightly negative
 * near 0 (its true value is ≥ 0); such values are taken as 0.
 * @throws ConfigError for a non-finite KL.
 */
export function gaoDistance(kl: number): number {
  if (!Number.isFinite(kl)) throw new ConfigError(`KL must be a finite number, got ${show(kl)}`);
  return Math.sqrt(Math.max(kl, 0));
}

/**
 * Least-squares fit of a Gao et al. form to (d, reward) points (see the module doc).
 * @param d distances √KL ≥ 0, one per point.
 * @param reward gold reward minus the initial policy's, one per point.
 * @throws ConfigError for an unknown form, mismatched lengths, fewer than 2 points,
 *   a negative or non-finite value, or fewer than 2 distinct d > 0 (then α and β are not
 *   determined: points at d = 0 carry no information about them).
 * @example
 * ```ts
 * import { fitGao } from "./gao_fit.ts";
 * // Two points fix α and β exactly: α − β = 1 and 2α − 4β = 0 → α = 2, β = 1.
 * const fit = fitGao("bon", [1, 2], [1, 0]);
 * if (Math.abs(fit.alpha - 2) > 1e-12 || Math.abs(fit.beta - 1) > 1e-12) throw new Error();
 * ```
 */
export function fitGao(
  form: GaoForm,
  d: ArrayLike<number>,
  reward: ArrayLike<number>,
  opts: GaoFitOptions = {},
): GaoFit {
  if (!(GAO_FORMS as readonly string[]).includes(form)) {
    throw new ConfigError(`form must be one of "bon", "rl", got ${show(form)}`);
  }
  const n = d.length;
  if (reward.length !== n) {
    throw new ConfigError(`fitGao: ${n} distances but ${reward.length} rewards`);
  }
  if (n < 2) throw new ConfigError(`fitGao needs at least 2 points, got ${n}`);
  const positive = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(d[i]) || d[i]! < 0) {
      throw new ConfigError(`fitGao: d[${i}] must be a finite number >= 0, got ${show(d[i])}`);
    }
    if (!Number.isFinite(reward[i])) {
      throw new ConfigError(`fitGao: reward[${i}] must be finite, got ${show(reward[i])}`);
    }
    if (d[i]! > 0) positive.add(d[i]!);
  }
  if (positive.size < 2) {
    throw new ConfigError(
      `fitGao needs at least 2 distinct d > 0 to determine α and β, got ${positive.size} ` +
        `(d = ${show(Array.from(d))})`,
    );
  }
  // Normal equations of y ≈ α·f₁ + b·g with g = −f₂, so b = β.
  let s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0, sy = 0;
  for (let i = 0; i < n; i++) {
    const f1 = d[i]!, g = -bend(form, d[i]!), y = reward[i]!;
    s11 += f1 * f1;
    s12 += f1 * g;
    s22 += g * g;
    s1y += f1 * y;
    s2y += g * y;
    sy += y;
  }
  const det = s11 * s22 - s12 * s12;
  const alpha = (s1y * s22 - s2y * s12) / det;
  const beta = (s11 * s2y - s12 * s1y) / det;
  const yMean = sy / n;
  let ssRes = 0, ssTot = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (reward[i]! - gaoReward(form, alpha, beta, d[i]!)) ** 2;
    ssTot += (reward[i]! - yMean) ** 2;
  }
  const points = opts.gridPoints ?? 50;
  if (!Number.isInteger(points) || points < 2) {
    throw new ConfigError(`gridPoints must be an integer >= 2, got ${show(points)}`);
  }
  const max = opts.gridMax ?? Math.max(...positive);
  if (!(Number.isFinite(max) && max > 0)) {
    throw new ConfigError(`gridMax must be a finite number > 0, got ${show(max)}`);
  }
  const grid = Array.from({ length: points }, (_, i) => (max * i) / (points - 1));
  return {
    form,
    alpha,
    beta,
    r2: ssTot > 0 ? 1 - ssRes / ssTot : NaN,
    n,
    curve: { d: grid, reward: grid.map((x) => gaoReward(form, alpha, beta, x)) },
  };
}

/** f₂(d): d² (best-of-n) or d·log d (RL, 0 at d = 0). */
function bend(form: GaoForm, d: number): number {
  if (form === "bon") return d * d;
  return d === 0 ? 0 : d * Math.log(d);
}
