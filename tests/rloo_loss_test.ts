import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import {
  klPenalisedRewards,
  rlooAdvantages,
  rlooLoss,
  type RlooLossArgs,
} from "../lib/losses/rloo.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { assertAllClose, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

await initBackend("cpu");

// B = 3 sequences, T = 2 (the last has one real token).
const LP = [-1.0, -0.5, -0.2, -1.5, -0.7, 0];
const OLD = [-1.2, -0.6, -0.2, -1.0, -0.8, 0];
const MASK = [1, 1, 1, 1, 1, 0];
const ADV = [2, -1, 0.5];
const B = 3, T = 2, EPS = 0.2;

function run(extra: Partial<RlooLossArgs>) {
  const lp = tf.tensor2d(LP, [B, T]);
  const fixed = {
    oldLogProbs: tf.tensor2d(OLD, [B, T]),
    advantages: tf.tensor1d(ADV),
    mask: tf.tensor2d(MASK, [B, T]),
  };
  const args = { ...fixed, clipRange: EPS, ...extra };
  const out = rlooLoss({ logProbs: lp, ...args });
  const numbers = {
    loss: out.loss.dataSync()[0]!,
    clipFrac: out.clipFrac.dataSync()[0]!,
    ratioMean: out.ratioMean.dataSync()[0]!,
  };
  const g = tf.grad((x: tf.Tensor) => rlooLoss({ logProbs: x, ...args }).loss)(lp);
  const grad = Array.from(g.dataSync());
  tf.dispose([lp, g, ...Object.values(fixed), ...Object.values(out)]);
  return { ...numbers, grad };
}

Deno.test({
  name: "rlooAdvantages() subtracts the mean of the other k − 1 rewards in each group",
  fn() {
    // Group [1, 2, 6]: baselines (2+6)/2 = 4, (1+6)/2 = 3.5, (1+2)/2 = 1.5.
    assertAllClose(rlooAdvantages([1, 2, 6, 0, 0, 3], 3), [-3, -1.5, 4.5, -1.5, -1.5, 3], 1e-6);
    // = k/(k−1)·(R − mean) for k = 4.
    const r = [0.3, -1, 2, 5], mean = 6.3 / 4;
    assertAllClose(rlooAdvantages(r, 4), r.map((v) => (4 / 3) * (v - mean)), 1e-6);
    assertThrows(() => rlooAdvantages([1, 2, 3], 2), RangeError, "whole groups of 2");
    assertThrows(
      () => rlooAdvantages([1], 1),
      ConfigError,
      "rloo.k must be an integer >= 2, got 1",
    );
  },
});

Deno.test({
  name: "klPenalisedRewards() subtracts β times the summed KL of real tokens",
  fn() {
    const got = klPenalisedRewards({
      score: [1, 2],
      klPerToken: [0.5, 0.25, 9, 0.1, -0.3, 9],
      mask: [1, 1, 0, 1, 1, 0],
      beta: 0.2,
    });
    assertAllClose(got, [1 - 0.2 * 0.75, 2 - 0.2 * -0.2], 1e-6);
  },
});

Deno.test({
  name: "rlooLoss() reinforce: value −mean(A·Σ_t log π) and gradient −A_b/B at real tokens",
  fn() {
    const got = run({ variant: "reinforce" });
    const seq = [LP[0]! + LP[1]!, LP[2]! + LP[3]!, LP[4]!];
    assertAlmostEquals(got.loss, -(2 * seq[0]! - 1 * seq[1]! + 0.5 * seq[2]!) / 3, 1e-6);
    assertAllClose(got.grad, MASK.map((m, i) => (-ADV[Math.floor(i / T)]! * m) / B), 1e-6);
    assertEquals(got.clipFrac, 0);
  },
});

Deno.test({
  name: "rlooLoss() ppo_clip: sequence-level ratio, clipped where the ratio leaves [1−ε, 1+ε]",
  fn() {
    // Sequence ratios: exp(0.3) = 1.35 with A = 2 → clipped; exp(−0.5) = 0.61 with A = −1 →
    // clipped; exp(0.1) = 1.105 with A = 0.5 → inside.
    const got = run({ variant: "ppo_clip" });
    const rho = [Math.exp(0.3), Math.exp(-0.5), Math.exp(0.1)];
    const want = (2 * -1.2 + -1 * -0.8 + 0.5 * -rho[2]!) / 3;
    assertAlmostEquals(got.loss, want, 1e-6);
    assertAllClose(got.grad, [0, 0, 0, 0, (-0.5 * rho[2]!) / 3, 0], 1e-6);
    assertAlmostEquals(got.clipFrac, 2 / 3, 1e-6);
    assertAlmostEquals(got.ratioMean, (rho[0]! + rho[1]! + rho[2]!) / 3, 1e-6);
  },
});

Deno.test({
  name: "rlooLoss() with leave-one-out advantages is an unbiased estimate of ∇E_π[R]",
  fn() {
    // A 3-armed softmax bandit, k = 2 and k = 3: the probability-weighted sum of −∇loss over
    // every k-tuple equals ∇_θ E_π[r] exactly (no (k−1)/k shrink).
    const theta = [0.2, -0.5, 0.9], r = [1, 0, 2];
    const z = theta.reduce((s, t) => s + Math.exp(t), 0);
    const pi = theta.map((t) => Math.exp(t) / z);
    const meanR = pi.reduce((s, p, y) => s + p * r[y]!, 0);
    const exact = pi.map((p, y) => p * (r[y]! - meanR));
    const th = tf.variable(tf.tensor1d(theta));
    for (const k of [2, 3]) {
      const expected = [0, 0, 0];
      for (let code = 0; code < 3 ** k; code++) {
        const ys = Array.from({ length: k }, (_, i) => Math.floor(code / 3 ** i) % 3);
        const prob = ys.reduce((p, y) => p * pi[y]!, 1);
        const adv = tf.tensor1d(rlooAdvantages(ys.map((y) => r[y]!), k));
        const pick = tf.tidy(() => tf.oneHot(tf.tensor1d(ys, "int32"), 3).toFloat()); // [k, 3]
        const mask = tf.ones([k, 1]);
        const { grads, value } = tf.variableGrads(() => {
          const lp = tf.reshape(tf.matMul(pick, tf.reshape(tf.logSoftmax(th), [3, 1])), [k, 1]);
          return rlooLoss({ logProbs: lp, advantages: adv, mask }).loss;
        }, [th]);
        const g = grads[th.name]!.dataSync();
        for (let j = 0; j < 3; j++) expected[j]! -= prob * g[j]!;
        tf.dispose([adv, pick, mask, value, ...Object.values(grads)]);
      }
      assertAllClose(expected, exact, 1e-6, `k=${k}`);
    }
    th.dispose();
  },
});

Deno.test({
  name: "rlooLoss() names the field for bad inputs and leaks no tensors",
  fn() {
    const before = tf.memory().numTensors;
    run({ variant: "ppo_clip" });
    run({ variant: "reinforce" });
    assertEquals(tf.memory().numTensors, before);
    const x = tf.zeros([1, 1]), a = tf.zeros([1]);
    assertThrows(
      () => rlooLoss({ logProbs: x, advantages: a, mask: x, variant: "ppo_clip" }),
      ConfigError,
      'rloo.oldLogProbs is required for variant "ppo_clip"',
    );
    assertThrows(
      () => rlooLoss({ logProbs: x, advantages: a, mask: x, variant: "ppo" as "reinforce" }),
      ConfigError,
      "rloo.variant must be one of",
    );
    tf.dispose([x, a]);
  },
});
