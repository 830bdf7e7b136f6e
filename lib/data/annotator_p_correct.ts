/**
 * p_correct: the probability that a pair's label agrees with the true reward order, given
 * that the label is a preference (not a tie). A reward model that scores completions one at
 * a time can do no better on a pair than to predict the true order, so the mean p_correct
 * over a data set's untied pairs is the Bayes-optimal accuracy on its labels
 * ({@link bayesCeiling}).
 *
 * Accuracy, everywhere in the kit: over the pairs labelled with a preference (tie labels
 * carry no order to agree with and are excluded, as they are from training), a pair whose
 * two predicted scores are equal counts half. Equal rewards (r_a = r_b) have no true order:
 * p_correct = 0.5, which is what that half-counting gives. For pairs taken from a ranking:
 * - "all": the pair is always taken, so p_correct = σ(|r_a − r_b|/τ) exactly;
 * - "adjacent" / "best_worst": *which* pair is taken depends on the draw, and conditioning
 *   on it changes the odds (adjacent pairs are noisier than σ(|Δ|/τ), best-vs-worst pairs
 *   cleaner). p_correct is then computed exactly by dynamic programming over subsets
 *   (O(2^k·k) per pair), which limits those modes to k ≤ {@link MAX_K_EXACT}.
 *
 * @module
 */
import { ConfigError } from "../util/errors.ts";
import type { PairLabel, PairMode } from "./annotator_pairs.ts";
import { sigmoid } from "./luce_model.ts";

/**
 * The largest k for which "adjacent"/"best_worst" p_correct is computed (2^k states):
 * measured 0.6 ms per prompt at k = 8 and 17 ms at k = 12 on the development machine.
 */
export const MAX_K_EXACT = 12;

/**
 * Exact p_correct of a pair {a, b} taken from a Plackett–Luce ranking by `mode`:
 * P(higher-reward item first | the pair was taken). For "all" this is σ(|r_a − r_b|/τ);
 * for "adjacent" it weighs P(a immediately before b) against P(b immediately before a),
 * for "best_worst" P(a first, b last) against P(b first, a last), each summed over the
 * subsets of items ranked before them (dynamic programming over 2^k subsets).
 * @param choice a {@link luceChoiceTable} of these rewards, to share work across pairs.
 */
export function luceConditionalPCorrect(
  rewards: readonly number[],
  tau: number,
  a: number,
  b: number,
  mode: PairMode,
  choice: LuceChoice = luceChoiceTable(rewards, tau),
): number {
  const ra = rewards[a]!, rb = rewards[b]!;
  if (ra === rb) return 0.5;
  if (mode === "all" || rewards.length === 2) return sigmoid(Math.abs(ra - rb) / tau);
  const [hi, lo] = ra > rb ? [a, b] : [b, a];
  const right = pairTakenProbability(rewards.length, choice, hi, lo, mode);
  const wrong = pairTakenProbability(rewards.length, choice, lo, hi, mode);
  return right / (right + wrong);
}

/** choice(S, m): P(m is picked next | the items in bitmask S are already ranked). */
export type LuceChoice = (S: number, m: number) => number;

/**
 * Tabulate Plackett–Luce next-pick probabilities for every subset of ≤ 30 items. Each
 * subset's weights are shifted by its remaining maximum, so nothing underflows to 0/0.
 */
export function luceChoiceTable(rewards: readonly number[], tau: number): LuceChoice {
  const k = rewards.length;
  const full = (1 << k) - 1;
  const remMax = new Float64Array(1 << k);
  const remDen = new Float64Array(1 << k);
  for (let S = 0; S < full; S++) {
    let max = -Infinity;
    for (let m = 0; m < k; m++) if (!(S & (1 << m))) max = Math.max(max, rewards[m]!);
    let den = 0;
    for (let m = 0; m < k; m++) if (!(S & (1 << m))) den += Math.exp((rewards[m]! - max) / tau);
    remMax[S] = max;
    remDen[S] = den;
  }
  return (S, m) => Math.exp((rewards[m]! - remMax[S]!) / tau) / remDen[S]!;
}

/** P(`first` ranked immediately before / first and `second` immediately after / last). */
function pairTakenProbability(
  k: number,
  choice: LuceChoice,
  first: number,
  second: number,
  mode: "adjacent" | "best_worst",
): number {
  const full = (1 << k) - 1;
  // f[S]: probability that the first |S| picks are exactly the items of S (and, for
  // best_worst, that the very first pick is `first`).
  const f = new Float64Array(1 << k);
  const start = mode === "adjacent" ? 0 : 1 << first;
  f[start] = mode === "adjacent" ? 1 : choice(0, first);
  const bothBits = (1 << first) | (1 << second);
  let total = 0;
  for (let S = start; S < full; S++) {
    const fS = f[S]!;
    if (fS === 0) continue;
    if (mode === "adjacent" && !(S & bothBits)) {
      total += fS * choice(S, first) * choice(S | (1 << first), second);
    }
    for (let m = 0; m < k; m++) {
      if (!(S & (1 << m))) f[S | (1 << m)]! += fS * choice(S, m);
    }
  }
  return mode === "adjacent" ? total : f[full & ~(1 << second)]!;
}

/**
 * Bayes-optimal accuracy of any per-completion reward model on a labelled data set:
 * the mean p_correct over its untied pairs (see the module doc for what accuracy means
 * with ties). {@link PairLabel}s that are ties are skipped; plain numbers are taken as
 * the p_correct of untied pairs (for a preference table use `preferenceCeiling` in
 * preference_pairs.ts, which reads its `tie` column).
 * @param pairs p_correct values of untied pairs, or {@link PairLabel}s.
 * @throws ConfigError when there is no untied pair or a value is not in [0, 1] (a NaN is
 *   what a tie row stores).
 */
export function bayesCeiling(pairs: ArrayLike<number> | readonly PairLabel[]): number {
  let sum = 0, count = 0;
  for (let i = 0; i < pairs.length; i++) {
    const item = pairs[i]!;
    if (typeof item !== "number" && item.tie) continue;
    const p = typeof item === "number" ? item : item.pCorrect;
    if (!(p >= 0 && p <= 1)) {
      throw new ConfigError(
        `bayesCeiling: p_correct of pair ${i} must be in [0, 1], got ${p}` +
          (Number.isNaN(p) ? " (tie rows store NaN: leave them out)" : ""),
      );
    }
    sum += p;
    count++;
  }
  if (count === 0) {
    throw new ConfigError("bayesCeiling needs at least one pair that is not a tie, got 0");
  }
  return sum / count;
}
