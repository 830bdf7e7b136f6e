import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import {
  entropyFromLogits,
  explainedVariance,
  gae,
  maskedMean,
  ppoPolicyLoss,
  ppoValueLoss,
  shapeRewards,
  whiten,
} from "../lib/losses/ppo.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import {
  assert,
  assertAllClose,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./assert.ts";

await initBackend("cpu");

/** Brute-force GAE: A_t = Σ_{l≥0} (γλ)^l δ_{t+l} up to the row's last real token. */
function bruteForceGae(
  r: number[],
  v: number[],
  lengths: number[],
  T: number,
  gamma: number,
  lambda: number,
): number[] {
  const out = new Array(r.length).fill(0);
  lengths.forEach((len, b) => {
    const delta = (t: number) => {
      const next = t + 1 < len ? v[b * T + t + 1]! : 0;
      return r[b * T + t]! + gamma * next - v[b * T + t]!;
    };
    for (let t = 0; t < len; t++) {
      let a = 0;
      for (let l = 0; t + l < len; l++) a += (gamma * lambda) ** l * delta(t + l);
      out[b * T + t] = a;
    }
  });
  return out;
}

Deno.test({
  name: "gae() equals a brute-force discounted sum of δ's, with padding and early EOS",
  fn() {
    const rng = new Rng(3);
    const T = 6, lengths = [6, 4, 1, 0];
    const n = lengths.length * T;
    const rewards = Array.from({ length: n }, () => rng.normal());
    const values = Array.from({ length: n }, () => rng.normal());
    const mask = lengths.flatMap((len) => Array.from({ length: T }, (_, t) => (t < len ? 1 : 0)));
    for (const [gamma, lambda] of [[1, 0.95], [0.9, 0.8], [0.99, 0], [1, 1]] as const) {
      const { advantages, returns } = gae({ rewards, values, mask, T, gamma, lambda });
      const expected = bruteForceGae(rewards, values, lengths, T, gamma, lambda);
      assertAllClose(advantages, expected, 1e-5, `γ=${gamma} λ=${lambda}`);
      // returns = A + V at real tokens, 0 at padding
      assertAllClose(returns, expected.map((a, i) => (mask[i] ? a + values[i]! : 0)), 1e-5);
    }
    // γ = λ = 1: A_t is the Monte Carlo return to the end minus V_t.
    const { advantages } = gae({ rewards, values, mask, T, gamma: 1, lambda: 1 });
    let togo = 0;
    for (let t = 3; t >= 0; t--) {
      togo += rewards[T + t]!;
      assertAlmostEquals(advantages[T + t]!, togo - values[T + t]!, 1e-5);
    }
  },
});

Deno.test({
  name: "gae() ignores values and rewards written into padding",
  fn() {
    const T = 4, mask = [1, 1, 0, 0];
    const a = gae({
      rewards: [1, 2, 0, 0],
      values: [0.5, 0.1, 0, 0],
      mask,
      T,
      gamma: 0.9,
      lambda: 0.9,
    });
    const b = gae({
      rewards: [1, 2, 9, 9],
      values: [0.5, 0.1, 7, 7],
      mask,
      T,
      gamma: 0.9,
      lambda: 0.9,
    });
    assertAllClose(a.advantages, b.advantages, 0);
    // δ_1 = 2 − 0.1 (V_2 = 0 after the last token), δ_0 = 1 + 0.9·0.1 − 0.5
    assertAllClose(a.advantages, [0.59 + 0.81 * 1.9, 1.9, 0, 0], 1e-6);
    assertThrows(
      () => gae({ rewards: [1], values: [1], mask: [1], T: 1, gamma: 1.5, lambda: 1 }),
      ConfigError,
      "ppo.gamma",
    );
  },
});

Deno.test({
  name: "whiten() gives masked mean 0 and unbiased variance 1; shiftMean=false keeps the mean",
  fn() {
    const x = [1, 2, 3, 4, 100, 6];
    const mask = [1, 1, 1, 1, 0, 1];
    const w = whiten(x, mask);
    const real = [0, 1, 2, 3, 5].map((i) => w[i]!);
    const m = real.reduce((a, b) => a + b) / real.length;
    const v = real.reduce((a, b) => a + (b - m) ** 2, 0) / (real.length - 1);
    assertAlmostEquals(m, 0, 1e-6);
    assertAlmostEquals(v, 1, 1e-5);
    assertEquals(w[4], 0);
    const k = whiten(x, mask, false);
    const km = [0, 1, 2, 3, 5].reduce((a, i) => a + k[i]!, 0) / 5;
    assertAlmostEquals(km, 16 / 5, 1e-5);
  },
});

Deno.test({
  name: "ppoPolicyLoss() gradient is zero outside the trust region and nonzero inside",
  fn() {
    const eps = 0.2;
    // token: (advantage, ratio) — the last token is padding with a wild ratio.
    const cases: [number, number, boolean][] = [
      [+1.0, 1.5, false], // A > 0, ratio > 1+ε: clipped, no gradient
      [-1.0, 0.5, false], // A < 0, ratio < 1−ε: clipped, no gradient
      [+1.0, 0.5, true], // A > 0, ratio < 1−ε: unclipped term is the max, gradient flows
      [-1.0, 1.5, true], // A < 0, ratio > 1+ε: gradient flows
      [+2.0, 1.1, true], // inside the region
      [-0.5, 0.9, true], // inside the region
      [+3.0, 9.0, false], // padding
    ];
    const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1, 0]]);
    const adv = cases.map((c) => c[0]), ratio = cases.map((c) => c[1]);
    const old = tf.tensor2d([[-1, -2, -0.5, -3, -1.5, -0.7, -2]]);
    const logProbs = tf.add(old, tf.log(tf.tensor2d([ratio]))) as tf.Tensor2D;
    const advantages = tf.tensor2d([adv]);
    const args = { oldLogProbs: old, advantages, mask, clipRange: eps };
    const grad = tf.grad((lp: tf.Tensor) => ppoPolicyLoss({ logProbs: lp, ...args }).pgLoss)(
      logProbs,
    );
    const g = grad.dataSync();
    const nReal = 6;
    cases.forEach(([a, r, flows], i) => {
      // d/d log π of −A·ratio/N is −A·ratio/N.
      assertAlmostEquals(g[i]!, flows ? -a * r / nReal : 0, 1e-6, `token ${i}: ${g[i]}`);
      if (flows) assert(Math.abs(g[i]!) > 0.01);
    });

    const out = ppoPolicyLoss({ logProbs, ...args });
    const pg = cases.slice(0, 6).map(([a, r]) =>
      Math.max(-a * r, -a * Math.min(Math.max(r, 1 - eps), 1 + eps))
    );
    assertAlmostEquals(out.pgLoss.dataSync()[0]!, pg.reduce((s, x) => s + x) / nReal, 1e-6);
    assertAlmostEquals(out.clipFrac.dataSync()[0]!, 2 / 6, 1e-6);
    const real = ratio.slice(0, 6);
    const k3 = real.map((r) => r - 1 - Math.log(r)).reduce((s, x) => s + x) / nReal;
    assertAlmostEquals(out.approxKl.dataSync()[0]!, k3, 1e-6);
    assertAlmostEquals(out.ratioMean.dataSync()[0]!, real.reduce((s, x) => s + x) / nReal, 1e-6);
    assertAlmostEquals(out.ratioMax.dataSync()[0]!, 1.5, 1e-6); // padding's 9 ignored
    assertAlmostEquals(out.ratioMin.dataSync()[0]!, 0.5, 1e-6);
    tf.dispose([mask, old, logProbs, advantages, grad, ...Object.values(out)]);
  },
});

Deno.test({
  name: "ppoValueLoss() takes the max of clipped and unclipped squared errors",
  fn() {
    const values = tf.tensor2d([[1.0, 0.0, 2.0, 5.0]]);
    const oldValues = tf.tensor2d([[0.5, 0.5, 2.1, 0.0]]);
    const returns = tf.tensor2d([[0.0, 1.0, 2.0, 0.0]]);
    const mask = tf.tensor2d([[1, 1, 1, 0]]);
    const out = ppoValueLoss({ values, oldValues, returns, mask, clipRangeValue: 0.2 });
    // vClipped = [0.7, 0.3, 2.0]; unclipped (v−R)² = [1, 1, 0]; clipped = [0.49, 0.49, 0]
    assertAlmostEquals(out.vLoss.dataSync()[0]!, 0.5 * (1 + 1 + 0) / 3, 1e-6);
    assertAlmostEquals(out.vClipFrac.dataSync()[0]!, 0, 1e-7);
    const out2 = ppoValueLoss({
      values: returns,
      oldValues,
      returns: values,
      mask,
      clipRangeValue: 0.2,
    });
    // values = [0,1,2], old = [0.5,0.5,2.1], R = [1,0,2]: vClipped = [0.3, 0.7, 2.0]
    // unclipped = [1, 1, 0]; clipped = [0.49, 0.49, 0] → still unclipped
    assertAlmostEquals(out2.vLoss.dataSync()[0]!, 1 / 3, 1e-6);
    const out3 = ppoValueLoss({
      values: tf.tensor2d([[3.0]]),
      oldValues: tf.tensor2d([[0.0]]),
      returns: tf.tensor2d([[2.0]]),
      mask: tf.tensor2d([[1]]),
      clipRangeValue: 0.5,
    });
    // unclipped (3−2)² = 1; clipped (0.5−2)² = 2.25 → the clipped one, ½·2.25
    assertAlmostEquals(out3.vLoss.dataSync()[0]!, 1.125, 1e-6);
    assertAlmostEquals(out3.vClipFrac.dataSync()[0]!, 1, 1e-7);
    tf.dispose([values, oldValues, returns, mask, ...Object.values(out), ...Object.values(out2)]);
    tf.dispose(Object.values(out3));
  },
});

Deno.test({
  name: "entropyFromLogits() is log V for uniform logits and 0 for a point mass, masked",
  fn() {
    const V = 5;
    const logits = tf.tensor3d([[[0, 0, 0, 0, 0], [100, 0, 0, 0, 0], [1, 2, 3, 4, 5]]]); // [1, 3, V]
    const mask = tf.tensor2d([[1, 1, 0]]);
    const h = entropyFromLogits(logits, mask);
    assertAlmostEquals(h.dataSync()[0]!, (Math.log(V) + 0) / 2, 1e-5);
    tf.dispose([logits, mask, h]);
  },
});

Deno.test({
  name: "explainedVariance() is 1 for perfect values, 0 for the mean, masked",
  fn() {
    const R = [1, 2, 3, 4, 99], mask = [1, 1, 1, 1, 0];
    assertAlmostEquals(explainedVariance(R, R, mask), 1, 1e-12);
    assertAlmostEquals(explainedVariance([2.5, 2.5, 2.5, 2.5, 0], R, mask), 0, 1e-12);
    // V = R/2: Var[R − V] = Var[R]/4 → 0.75
    assertAlmostEquals(explainedVariance(R.map((r) => r / 2), R, mask), 0.75, 1e-12);
  },
});

Deno.test({
  name: "shapeRewards() puts −β·KL on every real token and the score on the last one",
  fn() {
    const kl = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const mask = [1, 1, 1, 1, 1, 0]; // rows of T = 3: lengths 3 and 2
    const out = shapeRewards({
      klPerToken: kl,
      score: [2, -1],
      lastIndex: [2, 1],
      beta: 0.5,
      mask,
    });
    assertAllClose(out, [-0.05, -0.1, -0.15 + 2, -0.2, -0.25 - 1, 0], 1e-6);
    // Row sums = score − β·Σ KL.
    assertAlmostEquals(out[0]! + out[1]! + out[2]!, 2 - 0.5 * 0.6, 1e-6);
    assertThrows(
      () => shapeRewards({ klPerToken: kl, score: [2, -1], lastIndex: [2, 2], beta: 0.5, mask }),
      RangeError,
      "lastIndex[1]",
    );
  },
});

Deno.test({
  name: "maskedMean() averages over real tokens only",
  fn() {
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]), m = tf.tensor2d([[1, 0, 1], [0, 0, 1]]);
    const y = maskedMean(x, m);
    assertAlmostEquals(y.dataSync()[0]!, (1 + 3 + 6) / 3, 1e-6);
    tf.dispose([x, m, y]);
  },
});
