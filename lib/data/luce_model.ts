/**
 * Luce's choice model (Luce 1959), the noise of the simulated annotators: with weights
 * w_i = exp(r_i/τ), a pair is won with the Bradley–Terry probability (Bradley & Terry 1952)
 * P(a ≻ b) = w_a/(w_a + w_b) = σ((r_a − r_b)/τ) ({@link sigmoid}), and k completions are
 * ranked by Plackett–Luce (Plackett 1975): pick the best with probability w_i/Σw, remove
 * it, repeat ({@link plackettLuceRanking}). Both are computed so that nothing overflows or
 * underflows for tiny τ.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";

/** Numerically stable logistic σ(x) = 1/(1 + e^−x). */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * Draw a Plackett–Luce ranking (indices best → worst): repeatedly pick among the remaining
 * items with probability ∝ exp(r_i/τ). Each step shifts by the remaining maximum, so the
 * weights never all underflow even for tiny τ.
 */
export function plackettLuceRanking(rewards: readonly number[], tau: number, rng: Rng): number[] {
  const remaining = rewards.map((_, i) => i);
  const ranking: number[] = [];
  const w = new Float64Array(rewards.length);
  while (remaining.length > 1) {
    let max = -Infinity;
    for (const i of remaining) max = Math.max(max, rewards[i]!);
    for (let s = 0; s < remaining.length; s++) {
      w[s] = Math.exp((rewards[remaining[s]!]! - max) / tau);
    }
    const pick = rng.categorical(w, 0, remaining.length);
    ranking.push(remaining[pick]!);
    remaining.splice(pick, 1);
  }
  ranking.push(remaining[0]!);
  return ranking;
}
