import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import {
  aggregateTokenLoss,
  groupAdvantages,
  GRPO_AGGREGATIONS,
  type GrpoAggregation,
  grpoLoss,
  type GrpoLossArgs,
} from "../lib/losses/grpo.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { assertAllClose, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

await initBackend("cpu");

// A toy batch, B = 2 sequences, T = 3 (the second has 2 real tokens). Ratios exp(LP − OLD):
// (0,0) 1.105 inside the clip; (0,1) 1.350 with A > 0: clipped; (0,2) 0.368 with A > 0: not
// clipped; (1,0) 1 inside; (1,1) 0.607 with A < 0: clipped.
const LP = [-1.0, -0.5, -2.0, -0.3, -1.5, 0];
const OLD = [-1.1, -0.8, -1.0, -0.3, -1.0, 0];
const REF = [-1.2, -0.7, -1.5, -0.2, -1.3, 0];
const MASK = [1, 1, 1, 1, 1, 0];
const ADV = [1.5, -0.8];
const B = 2, T = 3, EPS = 0.2;

const estimators = {
  k1: (lp: number, lq: number) => lp - lq,
  k2: (lp: number, lq: number) => 0.5 * (lp - lq) ** 2,
  k3: (lp: number, lq: number) => Math.exp(lq - lp) - 1 - (lq - lp),
};
const estimatorGrads = {
  k1: () => 1,
  k2: (lp: number, lq: number) => lp - lq,
  k3: (lp: number, lq: number) => 1 - Math.exp(lq - lp),
};

/** Per-token loss and its derivative in logProbs, by hand. */
function handPerToken(beta: number, est: keyof typeof estimators) {
  const value: number[] = [], grad: number[] = [];
  for (let i = 0; i < B * T; i++) {
    const a = ADV[Math.floor(i / T)]!;
    const r = Math.exp(LP[i]! - OLD[i]!);
    const unclipped = -a * r, clipped = -a * Math.min(Math.max(r, 1 - EPS), 1 + EPS);
    const takeUnclipped = unclipped >= clipped;
    value.push(Math.max(unclipped, clipped) + beta * estimators[est](LP[i]!, REF[i]!));
    grad.push((takeUnclipped ? -a * r : 0) + beta * estimatorGrads[est](LP[i]!, REF[i]!));
  }
  return { value, grad };
}

/** Weight of each token in the aggregate. */
function weights(agg: GrpoAggregation): number[] {
  const len = [3, 2], total = 5;
  return MASK.map((m, i) => {
    if (agg === "sequence_mean") return m / (len[Math.floor(i / T)]! * B);
    if (agg === "token_mean") return m / total;
    return m / (B * T);
  });
}

function run(extra: Partial<GrpoLossArgs> & { beta: number }) {
  const lp = tf.tensor2d(LP, [B, T]);
  const fixed = {
    oldLogProbs: tf.tensor2d(OLD, [B, T]),
    refLogProbs: tf.tensor2d(REF, [B, T]),
    advantages: tf.tensor1d(ADV),
    mask: tf.tensor2d(MASK, [B, T]),
  };
  const args = { ...fixed, clipRange: EPS, ...extra };
  const out = grpoLoss({ logProbs: lp, ...args });
  const numbers = {
    loss: out.loss.dataSync()[0]!,
    pgLoss: out.pgLoss.dataSync()[0]!,
    kl: out.kl.dataSync()[0]!,
    clipFrac: out.clipFrac.dataSync()[0]!,
  };
  const g = tf.grad((x: tf.Tensor) => grpoLoss({ logProbs: x, ...args }).loss)(lp);
  const grad = Array.from(g.dataSync());
  tf.dispose([lp, g, ...Object.values(fixed), ...Object.values(out)]);
  return { ...numbers, grad };
}

Deno.test({
  name: "groupAdvantages() normalises within each group by its unbiased std, or only centres",
  fn() {
    // Groups [1, 3] and [0, 0, ...]: mean 2, std √2; the equal group gives 0.
    assertAllClose(groupAdvantages([1, 3, 5, 5], 2, { eps: 0 }), [
      -1 / Math.SQRT2,
      1 / Math.SQRT2,
      0,
      0,
    ], 1e-6);
    // [0, 1, 2]: mean 1, unbiased std 1, ε = 1e-4 by default.
    assertAllClose(groupAdvantages([0, 1, 2], 3), [-1 / 1.0001, 0, 1 / 1.0001], 1e-6);
    // Dr. GRPO: centred only.
    assertAllClose(groupAdvantages([0, 1, 5], 3, { scaleByStd: false }), [-2, -1, 3], 1e-6);
    assertThrows(() => groupAdvantages([1, 2, 3], 2), RangeError, "whole groups of 2");
    assertThrows(
      () => groupAdvantages([1], 1),
      ConfigError,
      "grpo.groupSize must be an integer >= 2, got 1",
    );
  },
});

Deno.test({
  name:
    "grpoLoss() value and gradient match a hand computation for every aggregation and estimator",
  fn() {
    for (const aggregation of GRPO_AGGREGATIONS) {
      for (const est of ["k1", "k2", "k3"] as const) {
        for (const beta of [0, 0.3]) {
          const got = run({ beta, klEstimator: est, aggregation });
          const hand = handPerToken(beta, est);
          const w = weights(aggregation);
          const want = hand.value.reduce((s, v, i) => s + w[i]! * v, 0);
          const what = `${aggregation} ${est} β=${beta}`;
          assertAlmostEquals(got.loss, want, 1e-5, what);
          assertAllClose(got.grad, hand.grad.map((g, i) => w[i]! * g), 1e-5, what);
          const pgOnly = handPerToken(0, est).value.reduce((s, v, i) => s + w[i]! * v, 0);
          assertAlmostEquals(got.pgLoss, pgOnly, 1e-5, what);
        }
      }
    }
  },
});

Deno.test({
  name: "grpoLoss() reports clipFrac and the mean KL estimate over real tokens",
  fn() {
    const got = run({ beta: 0.1, klEstimator: "k3" });
    assertAlmostEquals(got.clipFrac, 2 / 5, 1e-6); // tokens (0,1) and (1,1)
    const k3 = MASK.reduce((s, m, i) => s + m * estimators.k3(LP[i]!, REF[i]!), 0) / 5;
    assertAlmostEquals(got.kl, k3, 1e-6);
    // A literal case: π = π_old = π_ref, one token each, A = [2, −1]: loss = −mean(A) = −0.5.
    const x = tf.tensor2d([[-1], [-2]]), adv = tf.tensor1d([2, -1]), mask = tf.ones([2, 1]);
    const out = grpoLoss({
      logProbs: x,
      oldLogProbs: x,
      refLogProbs: x,
      advantages: adv,
      mask,
      beta: 0.04,
    });
    assertAlmostEquals(out.loss.dataSync()[0]!, -0.5, 1e-6);
    tf.dispose([x, adv, mask, ...Object.values(out)]);
  },
});

Deno.test({
  name: "grpoLoss() clip-higher widens only the upper clip",
  fn() {
    // Token (0,1) has ratio 1.35 and A > 0: clipped at 1.2, free at ε_high = 0.4.
    const got = run({ beta: 0, clipRangeHigh: 0.4, aggregation: "token_mean" });
    const r = Math.exp(-0.5 + 0.8);
    assertAlmostEquals(got.grad[1]!, -1.5 * r / 5, 1e-5);
    assertAlmostEquals(got.grad[4]!, 0, 1e-7); // the lower clip still binds at (1,1)
  },
});

Deno.test({
  name: "aggregateTokenLoss() dr_grpo divides by rows × maxTokens, ignoring padding",
  fn() {
    const x = tf.tensor2d([[1, 2, 9], [3, 9, 9]]);
    const m = tf.tensor2d([[1, 1, 0], [1, 0, 0]]);
    const read = (s: tf.Scalar) => {
      const v = s.dataSync()[0]!;
      s.dispose();
      return v;
    };
    assertAlmostEquals(read(aggregateTokenLoss(x, m, "dr_grpo")), 6 / 6, 1e-6);
    assertAlmostEquals(read(aggregateTokenLoss(x, m, "dr_grpo", 10)), 6 / 20, 1e-6);
    assertAlmostEquals(read(aggregateTokenLoss(x, m, "token_mean")), 6 / 3, 1e-6);
    assertAlmostEquals(read(aggregateTokenLoss(x, m, "sequence_mean")), (1.5 + 3) / 2, 1e-6);
    tf.dispose([x, m]);
  },
});

Deno.test({
  name: "grpoLoss() names the field for bad inputs and leaks no tensors",
  fn() {
    const before = tf.memory().numTensors;
    run({ beta: 0.2 });
    assertEquals(tf.memory().numTensors, before);
    const x = tf.zeros([1, 1]);
    const base = { logProbs: x, oldLogProbs: x, advantages: tf.zeros([1]), mask: x };
    assertThrows(
      () => grpoLoss({ ...base, beta: 0.1 }),
      ConfigError,
      "grpo.refLogProbs is required",
    );
    assertThrows(
      () => grpoLoss({ ...base, beta: -1 }),
      ConfigError,
      "grpo.beta must be a number >= 0, got -1",
    );
    assertThrows(
      () => grpoLoss({ ...base, beta: 0, aggregation: "mean" as GrpoAggregation }),
      ConfigError,
      "grpo.aggregation",
    );
    assertThrows(
      () => grpoLoss({ ...base, refLogProbs: x, beta: 0.1, klEstimator: "full" as "k3" }),
      ConfigError,
      "grpo.klEstimator",
    );
    tf.dispose([x, base.advantages]);
  },
});

Deno.test({
  name:
    "grpoLoss() with a centred group mean gives (G−1)/G of the exact policy gradient in expectation",
  fn() {
    // A 3-armed bandit with softmax logits θ; groups of G = 2 drawn from π. Summing the loss
    // gradient over all G-tuples weighted by their probability is the exact expected update.
    const theta = [0.2, -0.5, 0.9], r = [1, 0, 2], G = 2;
    const z = theta.reduce((s, t) => s + Math.exp(t), 0);
    const pi = theta.map((t) => Math.exp(t) / z);
    const meanR = pi.reduce((s, p, y) => s + p * r[y]!, 0);
    const exact = pi.map((p, y) => p * (r[y]! - meanR)); // ∇_θ E_π[r]
    const th = tf.variable(tf.tensor1d(theta));
    const expected = [0, 0, 0];
    for (let y1 = 0; y1 < 3; y1++) {
      for (let y2 = 0; y2 < 3; y2++) {
        const ys = [y1, y2];
        const adv = groupAdvantages(ys.map((y) => r[y]!), G, { scaleByStd: false });
        const pick = tf.tidy(() => tf.oneHot(tf.tensor1d(ys, "int32"), 3).toFloat()); // [G, 3]
        const old = tf.tensor2d(ys.map((y) => Math.log(pi[y]!)), [G, 1]); // π_old = π_θ
        const { grads, value } = tf.variableGrads(() => {
          const lp = tf.reshape(tf.matMul(pick, tf.reshape(tf.logSoftmax(th), [3, 1])), [G, 1]);
          return grpoLoss({
            logProbs: lp,
            oldLogProbs: old,
            advantages: tf.tensor1d(adv),
            mask: tf.ones([G, 1]),
            beta: 0,
            aggregation: "token_mean",
          }).loss;
        }, [th]);
        const g = grads[th.name]!.dataSync();
        for (let k = 0; k < 3; k++) expected[k]! -= pi[y1]! * pi[y2]! * g[k]!; // −∇loss
        tf.dispose([pick, old, value, ...Object.values(grads)]);
      }
    }
    th.dispose();
    assertAllClose(expected, exact.map((e) => e * (G - 1) / G), 1e-6);
  },
});
