/**
 * What an annotator's labels are made of: the pair modes that turn a ranking of k
 * completions into preference pairs ({@link rankingToPairs}), and one labelled pair
 * ({@link PairLabel}). The default "all" takes every one of the k(k−1)/2 pairs, as
 * InstructGPT did with its K-way rankings (Ouyang et al. 2022, §3.5).
 *
 * @module
 */

/** How a ranking of k completions becomes preference pairs. */
export const PAIR_MODES = ["all", "adjacent", "best_worst"] as const;
/**
 * `all`: every pair (k(k−1)/2); `adjacent`: ranks 1–2, 2–3, … (k−1 pairs);
 * `best_worst`: the top against the bottom (1 pair).
 */
export type PairMode = (typeof PAIR_MODES)[number];

/** One labelled pair, as indices into the rewards given to {@link Annotator.label}. */
export interface PairLabel {
  /** Index of the preferred completion. */
  chosen: number;
  /** Index of the other completion. */
  rejected: number;
  /**
   * Probability that this label agrees with the true reward order given it is a preference
   * (0.5 at equal rewards); NaN for a tie label, which has no order.
   */
  pCorrect: number;
  /** The annotator declared no preference: `chosen`/`rejected` are then only an order of listing. */
  tie: boolean;
}

/**
 * Turn a ranking (indices best → worst) into `[chosen, rejected]` pairs.
 * @example
 * ```ts
 * import { rankingToPairs } from "./annotator_pairs.ts";
 * const p = rankingToPairs([2, 0, 1], "adjacent"); // [[2, 0], [0, 1]]
 * if (p.length !== 2) throw new Error();
 * ```
 */
export function rankingToPairs(ranking: readonly number[], mode: PairMode): [number, number][] {
  const k = ranking.length;
  const out: [number, number][] = [];
  if (k < 2) return out;
  switch (mode) {
    case "all":
      for (let a = 0; a < k; a++) {
        for (let b = a + 1; b < k; b++) out.push([ranking[a]!, ranking[b]!]);
      }
      break;
    case "adjacent":
      for (let a = 0; a + 1 < k; a++) out.push([ranking[a]!, ranking[a + 1]!]);
      break;
    case "best_worst":
      out.push([ranking[0]!, ranking[k - 1]!]);
      break;
  }
  return out;
}
