import { averageRanks, kendallTau, pearson, spearman } from "../lib/eval/rank.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

Deno.test({
  name: "averageRanks() gives tied values their mean rank",
  fn() {
    assertEquals(Array.from(averageRanks([10, 20, 20, 5])), [2, 3.5, 3.5, 1]);
    assertEquals(Array.from(averageRanks([7, 7, 7])), [2, 2, 2]);
    assertEquals(Array.from(averageRanks([])), []);
  },
});

Deno.test({
  name: "spearman() matches hand computations with ties",
  fn() {
    // b's ranks are [1, 2, 3.5, 5, 3.5]; deviations from 3: a −2 −1 0 1 2, b −2 −1 .5 2 .5,
    // so ρ = (4 + 1 + 0 + 2 + 1) / √(10 · 9.5) = 8/√95 (scipy.stats.spearmanr agrees).
    assertAlmostEquals(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 8 / Math.sqrt(95), 1e-12);
    assertAlmostEquals(spearman([1, 2, 3, 4], [1, 8, 27, 64]), 1, 1e-12); // monotone, not linear
    assertAlmostEquals(spearman([1, 2, 3], [3, 2, 1]), -1, 1e-12);
    // ties in both: ranks a [1.5, 1.5, 3], b [1, 2.5, 2.5]; deviations a −.5 −.5 1, b −1 .5 .5
    // ρ = (.5 − .25 + .5) / √(1.5 · 1.5) = 0.5
    assertAlmostEquals(spearman([0, 0, 1], [0, 1, 1]), 0.5, 1e-12);
    assert(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  },
});

Deno.test({
  name: "pearson() matches a hand computation",
  fn() {
    // ā = 2, b̄ = 13/3: Σdadb = 5, Σda² = 2, Σdb² = 38/3
    assertAlmostEquals(pearson([1, 2, 3], [2, 4, 7]), 5 / Math.sqrt(2 * 38 / 3), 1e-12);
    assertAlmostEquals(pearson([1, 2, 3], [-2, -4, -6]), -1, 1e-12);
    assert(Number.isNaN(pearson([1], [2])));
  },
});

Deno.test({
  name: "kendallTau() is τ_b with ties, as in scipy.stats.kendalltau",
  fn() {
    assertAlmostEquals(kendallTau([1, 2, 3, 4], [1, 3, 2, 4]), 4 / 6, 1e-12); // C = 5, D = 1
    // C = 4, D = 0, one pair tied only in a, one only in b: 4/√(5·5)
    assertAlmostEquals(kendallTau([1, 2, 2, 3], [1, 2, 3, 3]), 0.8, 1e-12);
  },
});

Deno.test({
  name: "correlations reject lists of different lengths and non-finite values",
  fn() {
    assertThrows(() => spearman([1, 2], [1]), ConfigError, "got 2 and 1");
    assertThrows(() => pearson([1, NaN], [1, 2]), ConfigError, "a[1] must be a finite number");
  },
});
