/**
 * Ties (Davidson 1970, "On extending the Bradley–Terry model to accommodate ties in paired
 * comparison experiments"). With ν ≥ 0 (0 = never) and Δ = r_a − r_b:
 *
 *     P(a ≻ b) = e^{Δ/2τ} / Z,   P(tie) = ν / Z,   P(b ≻ a) = e^{−Δ/2τ} / Z,
 *     Z = e^{Δ/2τ} + e^{−Δ/2τ} + ν
 *
 * (Davidson's P(tie) ∝ ν·√(w_a·w_b), divided through by √(w_a·w_b)). At equal rewards
 * P(tie) = ν/(2 + ν), so ν = 2 declares half of the equal pairs ties; ties fade as the gap
 * grows. Given that the label is not a tie, P(a ≻ b | no tie) = σ(Δ/τ): the Bradley–Terry
 * label is unchanged. How the annotators draw ties: lib/data/annotators.ts.
 *
 * @module
 */

/**
 * Davidson's (1970) three outcome probabilities of a pair with reward gap Δ = r_a − r_b
 * (module doc), computed with the larger exponential factored out so that nothing
 * overflows for tiny τ.
 */
export function davidson(
  delta: number,
  tau: number,
  nu: number,
): { aWins: number; tie: number; bWins: number } {
  const x = Math.abs(delta) / (2 * tau);
  const small = Math.exp(-2 * x), mid = nu * Math.exp(-x); // e^{−|Δ|/τ}, ν·e^{−|Δ|/2τ}
  const z = 1 + small + mid;
  const hi = 1 / z, lo = small / z, tie = mid / z;
  return delta >= 0 ? { aWins: hi, tie, bWins: lo } : { aWins: lo, tie, bWins: hi };
}
