import { AdaptiveKlController, FixedKlController } from "../lib/train/kl_controller.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLess,
  assertThrows,
} from "./assert.ts";

Deno.test({
  name: "FixedKlController keeps β whatever the KL",
  fn() {
    const c = new FixedKlController(0.05);
    c.update(100, 512);
    c.update(0, 512);
    assertEquals(c.value, 0.05);
    assertThrows(
      () => new FixedKlController(-1),
      ConfigError,
      "kl.beta must be a number >= 0, got -1",
    );
  },
});

Deno.test({
  name: "AdaptiveKlController moves β in the right direction by the exact amount",
  fn() {
    const c = new AdaptiveKlController({ initBeta: 0.1, target: 6, horizon: 10_000 });
    // KL above target: e = 6.6/6 − 1 = 0.1, β ← 0.1·(1 + 0.1·256/10000)
    c.update(6.6, 256);
    const b1 = 0.1 * (1 + 0.1 * 256 / 10_000);
    assertAlmostEquals(c.value, b1, 1e-15);
    assertGreater(c.value, 0.1);
    // Far above: e clipped to +0.2
    c.update(60, 1000);
    const b2 = b1 * (1 + 0.2 * 1000 / 10_000);
    assertAlmostEquals(c.value, b2, 1e-15);
    // Below target: e = 4.5/6 − 1 = −0.25, clipped to −0.2: β shrinks
    c.update(4.5, 500);
    const b3 = b2 * (1 - 0.2 * 500 / 10_000);
    assertAlmostEquals(c.value, b3, 1e-15);
    assertLess(c.value, b2);
    // Slightly below: e = 5.7/6 − 1 = −0.05, not clipped
    c.update(5.7, 100);
    const b4 = b3 * (1 + (5.7 / 6 - 1) * 100 / 10_000);
    assertAlmostEquals(c.value, b4, 1e-15);
    // On target: unchanged
    c.update(6, 1000);
    assertAlmostEquals(c.value, b4, 1e-15);
  },
});

Deno.test({
  name: "AdaptiveKlController rejects bad settings naming the field",
  fn() {
    assertThrows(
      () => new AdaptiveKlController({ initBeta: 0.1, target: 6, horizon: 0 }),
      ConfigError,
      "kl.horizon must be a number > 0, got 0",
    );
    assertThrows(
      () => new AdaptiveKlController({ initBeta: 0, target: 6, horizon: 10 }),
      ConfigError,
      "kl.initBeta",
    );
    const c = new AdaptiveKlController({ initBeta: 0.1, target: 6, horizon: 10 });
    assertThrows(() => c.update(NaN, 1), ConfigError, "kl.currentKl");
    assertThrows(() => c.update(1, -1), ConfigError, "kl.nSteps");
  },
});
