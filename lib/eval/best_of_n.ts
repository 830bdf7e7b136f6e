/**
 * Best-of-n sampling: draw n responses from π, keep the one with the highest reward.
 *
 * Analytic KL (Stiennon et al. 2020, appendix; Hilton & Gao's "Measuring Goodhart's law"
 * note): KL(π_bon ‖ π) = log n − (n − 1)/n. For a continuous reward distribution the
 * best-of-n density is n·F(y)^{n−1}·π(y), so the log-ratio is log n + (n−1)·log F with
 * F ~ U(0, 1), whose mean is log n − (n−1)/n: exact. On a discrete space (atoms, ties) it
 * is an upper bound (Beirami et al. 2024, "Theoretical guarantees on the best-of-n
 * alignment policy"), close when every outcome has small mass.
 *
 * Exact distribution on an enumerable policy: order outcomes by reward, let F(y) be the
 * mass of outcomes with reward ≤ r(y) and F(y⁻) the mass with reward < r(y); then
 * P_bon(y) = F(y)^n − F(y⁻)^n for distinct rewards. Ties (outcomes sharing a reward) are
 * broken uniformly among the tied samples, which splits the tied group's mass
 * F^n − F⁻^n in proportion to π.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import { checkField } from "../util/schema.ts";

const N_SPEC = { type: "number", int: true, min: 1, doc: "best-of-n n" } as const;

/**
 * Analytic KL of best-of-n: log n − (n − 1)/n (exact for continuous rewards, an upper
 * bound for discrete ones).
 * @example
 * ```ts
 * import { bestOfNKl } from "./best_of_n.ts";
 * if (bestOfNKl(1) !== 0) throw new Error();
 * ```
 */
export function bestOfNKl(n: number): number {
  checkField("bestOfN.n", n, N_SPEC);
  return Math.log(n) - (n - 1) / n;
}

function checkPolicy(probs: ArrayLike<number>, rewards: ArrayLike<number>): void {
  if (probs.length !== rewards.length || probs.length === 0) {
    throw new RangeError(
      `probs and rewards must be non-empty and of equal length, got ${probs.length} and ${rewards.length}`,
    );
  }
}

/**
 * The exact best-of-n distribution over an enumerable policy.
 * @param probs π(y), non-negative, summing to 1, [K].
 * @param rewards r(y), [K] (ties are allowed, see the module doc).
 * @param n samples drawn, ≥ 1.
 * @returns P_bon(y), a new Float64Array [K].
 */
export function bestOfNDistribution(
  probs: ArrayLike<number>,
  rewards: ArrayLike<number>,
  n: number,
): Float64Array {
  checkField("bestOfN.n", n, N_SPEC);
  checkPolicy(probs, rewards);
  const order = Array.from({ length: probs.length }, (_, i) => i).sort((a, b) =>
    rewards[a]! - rewards[b]!
  );
  const out = new Float64Array(probs.length);
  let below = 0; // F(y⁻): mass with a strictly smaller reward
  for (let start = 0; start < order.length;) {
    let end = start; // the group [start, end) shares one reward
    let groupMass = 0;
    while (end < order.length && rewards[order[end]!]! === rewards[order[start]!]!) {
      groupMass += probs[order[end]!]!;
      end++;
    }
    const upTo = below + groupMass; // F(y)
    const groupBon = upTo ** n - below ** n;
    for (let k = start; k < end; k++) {
      const i = order[k]!;
      out[i] = groupMass > 0 ? groupBon * probs[i]! / groupMass : 0;
    }
    below = upTo;
    start = end;
  }
  return out;
}

/**
 * KL(p ‖ q) = Σ p·log(p/q) for two distributions over the same K outcomes (0·log 0 = 0).
 * @returns nats; Infinity where p > 0 = q.
 */
export function categoricalKl(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    if (pi > 0) kl += pi * Math.log(pi / q[i]!);
  }
  return kl;
}

/** Exact KL(π_bon ‖ π) of best-of-n on an enumerable policy (≤ {@link bestOfNKl}(n)). */
export function bestOfNExactKl(
  probs: ArrayLike<number>,
  rewards: ArrayLike<number>,
  n: number,
): number {
  return categoricalKl(bestOfNDistribution(probs, rewards, n), probs);
}

/**
 * Draw `count` best-of-n outcomes by simulation: n draws from π each, keep the highest
 * reward (ties: the first drawn, which is uniform among the tied samples because draws are
 * exchangeable). Uses the CDF and a binary search, O(count·n·log K).
 * @returns the kept outcome indices, Int32Array [count].
 */
export function sampleBestOfN(
  probs: ArrayLike<number>,
  rewards: ArrayLike<number>,
  n: number,
  count: number,
  rng: Rng,
): Int32Array {
  checkField("bestOfN.n", n, N_SPEC);
  checkField("bestOfN.count", count, { type: "number", int: true, min: 0, doc: "draws" });
  checkPolicy(probs, rewards);
  const K = probs.length;
  const cdf = new Float64Array(K);
  let acc = 0;
  for (let i = 0; i < K; i++) cdf[i] = acc += probs[i]!;
  const draw = (): number => {
    const u = rng.next() * acc;
    let lo = 0, hi = K - 1; // first i with cdf[i] > u
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const out = new Int32Array(count);
  for (let c = 0; c < count; c++) {
    let best = draw();
    for (let k = 1; k < n; k++) {
      const y = draw();
      if (rewards[y]! > rewards[best]!) best = y;
    }
    out[c] = best;
  }
  return out;
}
