import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import {
  fullKl,
  fullKlArray,
  KL_ESTIMATORS,
  KL_TENSOR_ESTIMATORS,
  klPerToken,
  klPerTokenArray,
  logSumExp,
} from "../lib/losses/kl.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { Rng } from "../lib/util/rng.ts";
import {
  assert,
  assertAllClose,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLess,
  assertThrows,
} from "./assert.ts";

await initBackend("cpu");

// A known pair of categorical distributions, far enough apart that k2's bias shows.
const P = [0.5, 0.2, 0.2, 0.1];
const Q = [0.1, 0.3, 0.3, 0.3];
const KL_PQ = P.reduce((s, p, i) => s + p * Math.log(p / Q[i]!), 0);
const N = 100_000;

/** Draw N tokens a ~ P; return their log P(a) and log Q(a). */
function samples(seed: number): { logProbs: Float32Array; refLogProbs: Float32Array } {
  const rng = new Rng(seed);
  const logProbs = new Float32Array(N), refLogProbs = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const a = rng.categorical(P);
    logProbs[i] = Math.log(P[a]!);
    refLogProbs[i] = Math.log(Q[a]!);
  }
  return { logProbs, refLogProbs };
}

/** Sample mean and its standard error (from the sample variance). */
function meanAndSe(xs: ArrayLike<number>): { mean: number; se: number } {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  const mean = s / xs.length;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) ss += (xs[i]! - mean) ** 2;
  return { mean, se: Math.sqrt(ss / (xs.length - 1) / xs.length) };
}

Deno.test({
  name: "k1 and k3 are unbiased for KL on a known categorical pair (within 4 standard errors)",
  fn() {
    const { logProbs, refLogProbs } = samples(11);
    for (const est of ["k1", "k3"] as const) {
      const { mean, se } = meanAndSe(klPerTokenArray(logProbs, refLogProbs, est));
      assertLess(Math.abs(mean - KL_PQ), 4 * se, `${est}: ${mean} vs KL ${KL_PQ} (se ${se})`);
    }
    // k3 has the lower variance here (the reason it is preferred) and is never negative.
    const k1 = meanAndSe(klPerTokenArray(logProbs, refLogProbs, "k1"));
    const k3 = klPerTokenArray(logProbs, refLogProbs, "k3");
    assertLess(meanAndSe(k3).se, k1.se);
    assert(k3.every((v) => v >= 0));
  },
});

Deno.test({
  name: "k2 is biased: its mean is ½E[(log p/q)²], not KL",
  fn() {
    const { logProbs, refLogProbs } = samples(12);
    const { mean, se } = meanAndSe(klPerTokenArray(logProbs, refLogProbs, "k2"));
    const expectK2 = P.reduce((s, p, i) => s + p * 0.5 * Math.log(p / Q[i]!) ** 2, 0);
    assertLess(Math.abs(mean - expectK2), 4 * se, `k2 estimates its own expectation`);
    assertGreater(Math.abs(mean - KL_PQ), 4 * se, `k2 ${mean} should differ from KL ${KL_PQ}`);
  },
});

Deno.test({
  name: "klPerToken() tensor and array versions agree, including k3 near 0",
  fn() {
    const logProbs = [-0.1, -2.0, -3.5, -1e-9, -0.7];
    const refLogProbs = [-0.3, -1.0, -3.5, -2e-9, -5.0];
    for (const est of ["k1", "k2", "k3"] as const) {
      const a = tf.tensor2d([logProbs.slice(0, 4)]), b = tf.tensor2d([refLogProbs.slice(0, 4)]);
      const t = klPerToken(a, b, est);
      assertEquals(t.shape, [1, 4]);
      assertAllClose(
        t.dataSync(),
        klPerTokenArray(logProbs.slice(0, 4), refLogProbs.slice(0, 4), est),
        1e-6,
        est,
      );
      tf.dispose([a, b, t]);
    }
    // k3 = (r − 1) − log r by hand, r = exp(refLogProbs − logProbs)
    const r = Math.exp(-5.0 + 0.7);
    assertAlmostEquals(klPerTokenArray([-0.7], [-5.0], "k3")[0]!, r - 1 - Math.log(r), 1e-6);
    assertEquals(Object.keys(KL_TENSOR_ESTIMATORS), ["k1", "k2", "k3"]);
    assertEquals([...KL_ESTIMATORS], ["k1", "k2", "k3", "full"]);
    // deno-lint-ignore no-explicit-any
    assertThrows(() => klPerTokenArray([0], [0], "k4" as any), ConfigError, 'got "k4"');
  },
});

Deno.test({
  name: "fullKl() equals the enumerated KL per position, from logits or log-probs",
  fn() {
    const rng = new Rng(5);
    const B = 2, T = 3, V = 6;
    const lp = Array.from({ length: B * T * V }, () => 2 * rng.normal());
    const lq = Array.from({ length: B * T * V }, () => 2 * rng.normal());
    const expected: number[] = [];
    for (let i = 0; i < B * T; i++) {
      const zp = logSumExp(lp, i * V, V), zq = logSumExp(lq, i * V, V);
      let kl = 0;
      for (let v = 0; v < V; v++) {
        const a = lp[i * V + v]! - zp, b = lq[i * V + v]! - zq;
        kl += Math.exp(a) * (a - b);
      }
      expected.push(kl);
    }
    const tp = tf.tensor3d(lp, [B, T, V]), tq = tf.tensor3d(lq, [B, T, V]);
    const kl = fullKl(tp, tq);
    assertEquals(kl.shape, [B, T]);
    assertAllClose(kl.dataSync(), expected, 1e-5);
    const logProbs = tf.logSoftmax(tp);
    const same = fullKl(logProbs, tq); // log-probs in: the same answer
    assertAllClose(same.dataSync(), expected, 1e-5);
    assertAllClose(fullKlArray(lp, lq, V), expected, 1e-5);
    const zero = fullKl(tp, tp);
    assertAllClose(zero.dataSync(), new Array(B * T).fill(0), 1e-6);
    tf.dispose([tp, tq, kl, logProbs, same, zero]);
  },
});
