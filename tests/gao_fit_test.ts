import { fitGao, gaoDistance, gaoReward } from "../lib/eval/gao_fit.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import { assertAlmostEquals, assertEquals, assertLess, assertThrows } from "./assert.ts";

Deno.test("gaoReward() evaluates both forms by hand", () => {
  assertEquals(gaoReward("bon", 2, 0.5, 2), 2); // 2·(2 − 0.5·2)
  assertEquals(gaoReward("rl", 2, 0.5, 1), 2); // 1·(2 − 0.5·log 1)
  assertAlmostEquals(gaoReward("rl", 1, 1, Math.E), 0, 1e-15); // e·(1 − log e)
  assertEquals(gaoReward("rl", 3, 2, 0), 0);
  assertEquals(gaoDistance(4), 2);
  assertEquals(gaoDistance(-1e-3), 0, "a slightly negative KL estimate is 0");
  assertThrows(() => gaoDistance(NaN), ConfigError, "KL must be a finite number");
});

Deno.test("fitGao() recovers α and β exactly from noiseless points, with R² = 1", () => {
  const d = [0, 0.25, 0.5, 1, 1.5, 2, 3];
  for (const [form, alpha, beta] of [["bon", 2, 0.4], ["rl", 0.8, 0.3]] as const) {
    const reward = d.map((x) => gaoReward(form, alpha, beta, x));
    const fit = fitGao(form, d, reward, { gridPoints: 4 });
    assertAlmostEquals(fit.alpha, alpha, 1e-12, `${form} α`);
    assertAlmostEquals(fit.beta, beta, 1e-12, `${form} β`);
    assertAlmostEquals(fit.r2, 1, 1e-12, `${form} R²`);
    assertEquals(fit.n, 7);
    assertEquals(fit.curve.d, [0, 1, 2, 3]);
    fit.curve.reward.forEach((r, i) =>
      assertAlmostEquals(r, gaoReward(form, alpha, beta, i), 1e-12, `${form} curve ${i}`)
    );
  }
});

Deno.test("fitGao() solves two points by hand and estimates α, β near the truth under noise", () => {
  // bon through (1, 1) and (2, 0): α − β = 1, 2α − 4β = 0 → α = 2, β = 1.
  const two = fitGao("bon", [1, 2], [1, 0]);
  assertAlmostEquals(two.alpha, 2, 1e-12);
  assertAlmostEquals(two.beta, 1, 1e-12);
  // rl through (1, 0.5) and (e, 0): α = 0.5, e·(α − β) = 0 → β = 0.5.
  const rl = fitGao("rl", [1, Math.E], [0.5, 0]);
  assertAlmostEquals(rl.alpha, 0.5, 1e-12);
  assertAlmostEquals(rl.beta, 0.5, 1e-12);
  // 400 noisy points: least squares is unbiased; 0.05 noise moves α, β by ~0.01.
  const rng = new Rng(3);
  const d = Array.from({ length: 400 }, () => 0.1 + 3 * rng.next());
  const y = d.map((x) => gaoReward("bon", 1.5, 0.3, x) + 0.05 * rng.normal());
  const fit = fitGao("bon", d, y);
  assertLess(Math.abs(fit.alpha - 1.5), 0.05);
  assertLess(Math.abs(fit.beta - 0.3), 0.05);
  assertLess(fit.r2, 1);
  assertLess(0.9, fit.r2);
});

Deno.test("fitGao() names degenerate inputs: fewer than 2 points, all d = 0, one distinct d, bad values", () => {
  assertThrows(() => fitGao("bon", [], []), ConfigError, "at least 2 points, got 0");
  assertThrows(() => fitGao("rl", [1], [0.2]), ConfigError, "at least 2 points, got 1");
  assertThrows(
    () => fitGao("bon", [0, 0, 0], [0, 0.1, 0]),
    ConfigError,
    "at least 2 distinct d > 0 to determine α and β, got 0",
  );
  assertThrows(() => fitGao("rl", [0, 1, 1], [0, 1, 1.1]), ConfigError, "got 1 (d = [0,1,1])");
  assertThrows(
    () => fitGao("bon", [1, -2], [0, 0]),
    ConfigError,
    "d[1] must be a finite number >= 0, got -2",
  );
  assertThrows(() => fitGao("bon", [1, 2], [0, NaN]), ConfigError, "reward[1] must be finite");
  assertThrows(() => fitGao("bon", [1, 2], [0]), ConfigError, "2 distances but 1 rewards");
  assertThrows(
    () => fitGao("quad" as "bon", [1, 2], [0, 1]),
    ConfigError,
    `form must be one of "bon", "rl"`,
  );
  assertThrows(() => fitGao("bon", [1, 2], [0, 1], { gridPoints: 1 }), ConfigError, "gridPoints");
  assertEquals(Number.isNaN(fitGao("bon", [1, 2], [0, 0]).r2), true, "equal rewards: R² undefined");
});
