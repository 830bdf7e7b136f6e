import { dpoConvergenceGate, ppoConvergenceGate } from "../lib/eval/convergence.ts";
import type { MetricRow } from "../lib/train/metrics.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import {
  assertAlmostEquals,
  assertEquals,
  assertLess,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";

const rowsOf = (ys: number[], metric = "reward/gold", first = 1): MetricRow[] =>
  ys.map((y, i) => ({ step: first + i, [metric]: y }));

Deno.test("ppoConvergenceGate() measures the drift of the last 20% against its standard error, by hand", () => {
  // 20 iterations: the window is steps > 16, i.e. 17–20, with y = 0.50, 0.53, 0.49, 0.54.
  // x̄ = 18.5, ȳ = 0.515, Sxx = 5, Sxy = 0.04 → b = 0.008, drift = 3b = 0.024;
  // residuals −0.003, 0.019, −0.029, 0.013 → SSres = 0.00138, SE(drift) = 3·√(0.00138/2/5).
  const head = Array(16).fill(0.1); // earlier iterations do not count
  const gate = ppoConvergenceGate(rowsOf([...head, 0.5, 0.53, 0.49, 0.54]));
  assertAlmostEquals(gate.value, 0.024, 1e-12);
  assertAlmostEquals(gate.threshold, 2 * 3 * Math.sqrt(0.00138 / 2 / 5), 1e-12);
  assertEquals(gate.passed, true);
  assertStringIncludes(gate.explanation, "over steps 17–20 (4 rows, mean 0.515)");
});

Deno.test("ppoConvergenceGate() passes an exactly flat tail and fails an exactly rising one", () => {
  const flat = ppoConvergenceGate(rowsOf(Array.from({ length: 20 }, (_, i) => (i < 10 ? i : 0.5))));
  assertEquals([flat.passed, flat.value, flat.threshold], [true, 0, 0]);
  const rising = ppoConvergenceGate(rowsOf(Array.from({ length: 20 }, (_, i) => 0.01 * (i + 1))));
  assertEquals(rising.passed, false);
  assertAlmostEquals(rising.value, 0.03, 1e-12); // slope 0.01 over steps 17–20
  assertAlmostEquals(rising.threshold, 0, 1e-12);
  assertStringIncludes(rising.explanation, "beyond");
  // Rows in any order, other rows (no metric, evaluation rows of another name) ignored.
  const mixed = [...rowsOf([0.5, 0.5, 0.5, 0.5, 0.5]).reverse(), { step: 5, "loss/policy": 3 }];
  assertEquals(ppoConvergenceGate(mixed, { tailFraction: 1 }).passed, true);
});

Deno.test("ppoConvergenceGate() passes flat noisy tails at about P(|t| ≤ 2) and fails a trend the noise does not hide", () => {
  const rng = new Rng(1);
  let passed = 0;
  const trials = 400;
  for (let k = 0; k < trials; k++) {
    const gate = ppoConvergenceGate(
      rowsOf(Array.from({ length: 100 }, () => 0.3 + 0.05 * rng.normal())),
    );
    if (gate.passed) passed++;
  }
  // m = 20: P(|t₁₈| ≤ 2) ≈ 0.94 (SE over 400 trials ≈ 0.012); the drift-vs-SE(mean) rule
  // would pass only about a quarter of these converged runs.
  assertLess(0.88, passed / trials);
  assertLess(passed / trials, 0.99);
  const trend = rowsOf(Array.from({ length: 100 }, (_, i) => 0.002 * i + 0.01 * rng.normal()));
  assertEquals(ppoConvergenceGate(trend).passed, false); // drift ≈ 0.04 vs 2·SE ≈ 0.012
});

Deno.test("ppoConvergenceGate() fails with a reason when the tail has fewer than 3 rows, and validates options", () => {
  const sparse = [{ step: 8, "reward/gold": 0.1 }, { step: 16, "reward/gold": 0.2 }, {
    step: 24,
    "reward/gold": 0.3,
  }];
  const gate = ppoConvergenceGate(sparse);
  assertEquals(gate.passed, false);
  assertEquals(Number.isNaN(gate.value), true);
  assertEquals(
    gate.explanation,
    "1 row with reward/gold in the last 20% of steps; the flatness test needs at least 3",
  );
  assertEquals(ppoConvergenceGate([]).passed, false);
  assertThrows(
    () => ppoConvergenceGate([], { tailFraction: 0 }),
    ConfigError,
    "tailFraction must be a number > 0 and <= 1, got 0",
  );
  assertThrows(
    () => ppoConvergenceGate([], { z: -1 }),
    ConfigError,
    "z must be a finite number > 0",
  );
});

Deno.test("dpoConvergenceGate() holds the last held-out accuracy to the reward model's minus 0.03", () => {
  const rows: MetricRow[] = [
    { step: 10, "loss/dpo": 0.6 },
    { step: 100, "val/accuracy": 0.83 },
    { step: 50, "val/accuracy": 0.7 },
  ];
  const gate = dpoConvergenceGate(rows, 0.85);
  assertEquals(gate.passed, true);
  assertEquals(gate.value, 0.83); // the last by step, not by position
  assertAlmostEquals(gate.threshold, 0.82, 1e-12);
  assertEquals(gate.explanation, "val/accuracy 0.830 at step 100 ≥ reward model 0.850 − 0.0300");
  const short = dpoConvergenceGate(rows, 0.87);
  assertEquals(short.passed, false);
  assertStringIncludes(short.explanation, "<");
  assertEquals(dpoConvergenceGate(rows, 0.9, { tolerance: 0.1 }).passed, true);
  assertEquals(dpoConvergenceGate(rows, 0.7).passed, true, "beating the reward model passes");
  const none = dpoConvergenceGate([{ step: 5, "loss/dpo": 0.5 }], 0.8);
  assertEquals([none.passed, Number.isNaN(none.value)], [false, true]);
  assertStringIncludes(none.explanation, "no row has val/accuracy");
  assertThrows(
    () => dpoConvergenceGate(rows, 1.2),
    ConfigError,
    "rmAccuracy must be in [0, 1], got 1.2",
  );
  assertThrows(() => dpoConvergenceGate(rows, 0.8, { tolerance: -0.1 }), ConfigError, "tolerance");
});
