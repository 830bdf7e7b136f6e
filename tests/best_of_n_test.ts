import {
  bestOfNDistribution,
  bestOfNExactKl,
  bestOfNKl,
  categoricalKl,
  sampleBestOfN,
} from "../lib/eval/best_of_n.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import {
  assertAllClose,
  assertAlmostEquals,
  assertGreater,
  assertLess,
  assertThrows,
} from "./assert.ts";

/** A fine-grained policy: K outcomes of small, unequal mass and distinct rewards. */
function finePolicy(K: number, seed: number): { probs: Float64Array; rewards: Float64Array } {
  const rng = new Rng(seed);
  const w = Array.from({ length: K }, () => 0.5 + rng.next());
  const s = w.reduce((a, b) => a + b);
  const probs = Float64Array.from(w, (v) => v / s);
  const rewards = Float64Array.from(rng.shuffle(Array.from({ length: K }, (_, i) => i)));
  return { probs, rewards };
}

/** Sample mean and standard error (from the sample variance). */
function meanAndSe(xs: number[]): { mean: number; se: number } {
  const mean = xs.reduce((a, b) => a + b) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, se: Math.sqrt(v / xs.length) };
}

Deno.test({
  name: "bestOfNKl() is log n − (n − 1)/n",
  fn() {
    assertAlmostEquals(bestOfNKl(1), 0, 0);
    assertAlmostEquals(bestOfNKl(2), Math.log(2) - 0.5, 1e-15);
    assertAlmostEquals(bestOfNKl(16), Math.log(16) - 15 / 16, 1e-15);
    assertThrows(() => bestOfNKl(0), ConfigError, "bestOfN.n must be an integer >= 1, got 0");
  },
});

Deno.test({
  name: "bestOfNDistribution() matches a hand computation, with and without ties",
  fn() {
    // Two outcomes, n = 2: the better one wins unless both draws are the worse one.
    const p = bestOfNDistribution([0.5, 0.5], [0, 1], 2);
    assertAllClose(p, [0.25, 0.75], 1e-15);
    const exact = 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5);
    assertAlmostEquals(bestOfNExactKl([0.5, 0.5], [0, 1], 2), exact, 1e-15);
    // On this coarse space the analytic formula is a strict upper bound.
    assertGreater(bestOfNKl(2), exact + 0.05);
    // Ties: outcomes 0 and 1 share the top reward; their group gets 1 − 0.5² = 0.75, split 2:3.
    const t = bestOfNDistribution([0.2, 0.3, 0.5], [1, 1, 0], 2);
    assertAllClose(t, [0.3, 0.45, 0.25], 1e-15);
    // n = 1 is π itself.
    assertAllClose(bestOfNDistribution([0.2, 0.3, 0.5], [3, 1, 2], 1), [0.2, 0.3, 0.5], 1e-15);
  },
});

Deno.test({
  name: "sampleBestOfN() draws from bestOfNDistribution() (ties included)",
  fn() {
    const probs = [0.2, 0.3, 0.5], rewards = [1, 1, 0], n = 3, M = 40_000;
    const exact = bestOfNDistribution(probs, rewards, n);
    const draws = sampleBestOfN(probs, rewards, n, M, new Rng(4));
    for (let y = 0; y < probs.length; y++) {
      const freq = draws.filter((d) => d === y).length / M;
      const se = Math.sqrt(exact[y]! * (1 - exact[y]!) / M);
      assertLess(Math.abs(freq - exact[y]!), 4 * se, `outcome ${y}: ${freq} vs ${exact[y]}`);
    }
  },
});

Deno.test({
  name: "best-of-n KL: analytic vs Monte Carlo vs exact on a fine-grained policy",
  fn() {
    const { probs, rewards } = finePolicy(2000, 9);
    const M = 20_000;
    const rng = new Rng(10);
    for (const n of [2, 4, 16, 64]) {
      const bon = bestOfNDistribution(probs, rewards, n);
      assertAlmostEquals(bon.reduce((a, b) => a + b), 1, 1e-12);
      const exact = categoricalKl(bon, probs);
      const analytic = bestOfNKl(n);
      // Upper bound, and close when every outcome is light (max mass here ≈ 7.5e-4).
      assertLess(exact, analytic);
      assertLess(analytic - exact, 1e-3, `n=${n}: analytic ${analytic} vs exact ${exact}`);
      // Monte Carlo: simulate best-of-n and average log(P_bon(y)/π(y)) over the draws.
      const draws = sampleBestOfN(probs, rewards, n, M, rng);
      const { mean, se } = meanAndSe(Array.from(draws, (y) => Math.log(bon[y]! / probs[y]!)));
      assertLess(Math.abs(mean - exact), 4 * se, `n=${n}: MC ${mean} ± ${se} vs exact ${exact}`);
      // The simulated mean reward matches the exact best-of-n distribution too.
      const r = meanAndSe(Array.from(draws, (y) => rewards[y]!));
      const er = bon.reduce((s, p, y) => s + p * rewards[y]!, 0);
      assertLess(Math.abs(r.mean - er), 4 * r.se, `n=${n}: mean reward ${r.mean} vs ${er}`);
    }
  },
});
