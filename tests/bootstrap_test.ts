import { bootstrapMean, quantile } from "../lib/eval/bootstrap.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import {
  assertAlmostEquals,
  assertEquals,
  assertLess,
  assertNotEquals,
  assertThrows,
} from "./assert.ts";

Deno.test("quantile() interpolates linearly between order statistics (type 7) by hand", () => {
  const x = [1, 2, 3, 4];
  assertEquals(quantile(x, 0), 1);
  assertEquals(quantile(x, 0.25), 1.75); // h = 0.75: 1 + 0.75·(2 − 1)
  assertEquals(quantile(x, 0.5), 2.5);
  assertEquals(quantile(x, 1), 4);
  assertEquals(quantile([7], 0.3), 7);
});

Deno.test("bootstrapMean() standard error matches the analytic SE of a mean on 4000 normal values", () => {
  const rng = new Rng(11);
  const n = 4000;
  const values = Array.from({ length: n }, () => 1 + 2 * rng.normal());
  const mean = values.reduce((a, b) => a + b, 0) / n;
  // The ideal bootstrap SE of a mean is the plug-in √(Σ(x − x̄)²/n)/√n.
  const plugIn = Math.sqrt(values.reduce((a, x) => a + (x - mean) ** 2, 0) / n) / Math.sqrt(n);
  const B = 2000;
  const r = bootstrapMean(values, { resamples: B, seed: 3 });
  assertEquals(r.mean, mean);
  assertEquals([r.n, r.resamples, r.level], [n, B, 0.95]);
  // Monte Carlo error of an SD from B normal draws: relative SE ≈ 1/√(2(B − 1)); allow 4.
  const relTol = 4 / Math.sqrt(2 * (B - 1));
  assertLess(Math.abs(r.se / plugIn - 1), relTol, `se ${r.se} vs analytic ${plugIn}`);
  // The means are nearly normal: the 2.5% and 97.5% quantiles sit at x̄ ∓ 1.96·SE. A
  // sample quantile from B draws has SE √(p(1−p)/B)/φ(1.96)·SE ≈ 0.06·SE; allow 4 of them.
  const qTol = 4 * Math.sqrt(0.025 * 0.975 / B) / 0.05845 * plugIn;
  assertLess(Math.abs(r.lo - (mean - 1.959964 * plugIn)), qTol, `lo ${r.lo}`);
  assertLess(Math.abs(r.hi - (mean + 1.959964 * plugIn)), qTol, `hi ${r.hi}`);
});

Deno.test("bootstrapMean() is deterministic in the seed, narrows with the level, and is exact on constants", () => {
  const values = [0.3, -0.2, 0.9, 0.1, 0.4, 0];
  const a = bootstrapMean(values, { seed: 5 });
  assertEquals(bootstrapMean(values, { seed: 5 }), a);
  assertNotEquals(bootstrapMean(values, { seed: 6 }).se, a.se);
  const narrow = bootstrapMean(values, { seed: 5, level: 0.5 });
  assertLess(narrow.hi - narrow.lo, a.hi - a.lo);
  assertEquals(narrow.se, a.se, "the level does not change the resamples");
  const c = bootstrapMean([2.5, 2.5, 2.5], { resamples: 10 });
  assertEquals([c.mean, c.se, c.lo, c.hi], [2.5, 0, 2.5, 2.5]);
  // Two values {0, 1}: a resampled mean of n = 2 is 0, ½ or 1 with probabilities ¼, ½, ¼,
  // so its SD is σ = √(1/8). Its SD estimate from B draws has SE ≈ √((μ₄ − σ⁴)/B)/(2σ) with
  // μ₄ = 2·¼·(½)⁴ = 1/32, σ⁴ = 1/64; allow 4 of them.
  const two = bootstrapMean([0, 1], { resamples: 20_000, seed: 2 });
  const sigma = Math.sqrt(1 / 8);
  assertAlmostEquals(two.se, sigma, 4 * Math.sqrt((1 / 32 - 1 / 64) / 20_000) / (2 * sigma));
});

Deno.test("bootstrapMean() rejects empty or non-finite values, bad resamples and levels", () => {
  assertThrows(() => bootstrapMean([]), ConfigError, "at least one value");
  assertThrows(() => bootstrapMean([1, NaN]), ConfigError, "values[1] must be finite, got NaN");
  assertThrows(
    () => bootstrapMean([1], { resamples: 1 }),
    ConfigError,
    "resamples must be an integer >= 2, got 1",
  );
  assertThrows(
    () => bootstrapMean([1], { level: 1 }),
    ConfigError,
    "level must be a number > 0 and < 1, got 1",
  );
  assertThrows(() => bootstrapMean([1], { seed: 0.5 }), ConfigError, "seed must be an integer");
  assertThrows(() => quantile([1], 1.5), ConfigError, "p must be in [0, 1], got 1.5");
});
