import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { makeBanditTask, type Tabular, tabularStats } from "../lib/data/bandit.ts";
import {
  bradleyTerryPreferences,
  dpoOptimalLogPolicy,
  ipoOptimalLogPolicy,
  optimalLogPolicy,
  oracleFrontier,
  oracleStats,
} from "../lib/eval/oracle.ts";
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

const TINY = makeBanditTask({ prompts: 2, responses: 3, seed: 7, rewardScale: 2 });

/** Brute force on the tiny task: π*, E[r], KL and the objective E[r] − β·KL, per prompt. */
function bruteForce(task: Tabular, beta: number) {
  const { P, R } = task;
  const pi: number[] = [];
  let reward = 0, kl = 0, logZ = 0;
  for (let x = 0; x < P; x++) {
    const w = Array.from(
      { length: R },
      (_, y) => Math.exp(task.refLogProbs[x * R + y]! + task.rewards[x * R + y]! / beta),
    );
    const z = w.reduce((a, b) => a + b);
    logZ += Math.log(z) / P;
    for (let y = 0; y < R; y++) {
      const p = w[y]! / z;
      pi.push(p);
      reward += p * task.rewards[x * R + y]! / P;
      kl += p * (Math.log(p) - task.refLogProbs[x * R + y]!) / P;
    }
  }
  return { pi, reward, kl, logZ };
}

/** E_x[E_π r − β·KL(π‖π_ref)] of a tabular policy. */
function objective(task: Tabular, logProbs: ArrayLike<number>, beta: number): number {
  const s = tabularStats(task, logProbs);
  return s.reward - beta * s.kl;
}

Deno.test({
  name: "optimalLogPolicy() and oracleStats() agree with brute force on a tiny example",
  fn() {
    for (const beta of [0.1, 0.5, 2]) {
      const bf = bruteForce(TINY, beta);
      assertAllClose(Array.from(optimalLogPolicy(TINY, beta), Math.exp), bf.pi, 1e-12);
      const row = oracleStats(TINY, beta);
      assertAlmostEquals(row.reward, bf.reward, 1e-12);
      assertAlmostEquals(row.kl, bf.kl, 1e-12);
      // The optimum's value is β·log Z.
      assertAlmostEquals(
        objective(TINY, optimalLogPolicy(TINY, beta), beta),
        beta * bf.logZ,
        1e-12,
      );
    }
  },
});

Deno.test({
  name: "π*_β beats every random policy on E[r] − β·KL",
  fn() {
    const rng = new Rng(1);
    const beta = 0.5;
    const best = objective(TINY, optimalLogPolicy(TINY, beta), beta);
    for (let k = 0; k < 500; k++) {
      const logits = Array.from({ length: TINY.P * TINY.R }, () => 3 * rng.normal());
      const logProbs = new Float64Array(logits.length);
      for (let x = 0; x < TINY.P; x++) {
        const row = logits.slice(x * TINY.R, (x + 1) * TINY.R);
        const lz = Math.log(row.reduce((a, b) => a + Math.exp(b), 0));
        row.forEach((l, y) => (logProbs[x * TINY.R + y] = l - lz));
      }
      assertLess(objective(TINY, logProbs, beta), best + 1e-12);
    }
  },
});

Deno.test({
  name: "oracleFrontier() rows trade reward for KL monotonically in β",
  fn() {
    const task = makeBanditTask({ rewardScale: 2 });
    const betas = [0.05, 0.1, 0.3, 1, 3, 10];
    const rows = oracleFrontier(task, betas);
    assertEquals(rows.map((r) => r.beta), betas);
    for (let i = 1; i < rows.length; i++) {
      assertLess(rows[i]!.reward, rows[i - 1]!.reward);
      assertLess(rows[i]!.kl, rows[i - 1]!.kl);
    }
    assertEquals(rows[2], oracleStats(task, 0.3));
    assertThrows(
      () => oracleStats(task, 0),
      ConfigError,
      "oracle.beta must be a number > 0, got 0",
    );
  },
});

/**
 * Population loss of a tabular policy θ [P, R] under pairs y, z ~ μ and Bradley–Terry
 * labels: Σ_x (1/P) Σ_{y,z} μ(y)μ(z)·[p(y≻z)·ℓ(h_yz) + (1 − p(y≻z))·ℓ(−h_yz)], where
 * h_yz = g(y) − g(z), g = log π − log π_ref. ℓ is the IPO or DPO per-pair loss.
 */
function populationLoss(
  task: Tabular,
  mu: Float64Array,
  ell: (h: tf.Tensor) => tf.Tensor,
): (theta: tf.Tensor) => tf.Scalar {
  const { P, R } = task;
  const pref = tf.tensor3d(Float32Array.from(bradleyTerryPreferences(task)), [P, R, R]);
  const refLogProbs = tf.tensor2d(Float32Array.from(task.refLogProbs), [P, R]);
  const muT = tf.tensor2d(Float32Array.from(mu), [P, R]);
  const pairW = tf.mul(tf.reshape(muT, [P, R, 1]), tf.reshape(muT, [P, 1, R])); // [P, R, R]
  return (theta) =>
    tf.tidy(() => {
      const g = tf.sub(tf.logSoftmax(theta), refLogProbs); // [P, R]
      const h = tf.sub(tf.reshape(g, [P, R, 1]), tf.reshape(g, [P, 1, R])); // [P, R, R]
      const perPair = tf.add(tf.mul(pref, ell(h)), tf.mul(tf.sub(1, pref), ell(tf.neg(h))));
      return tf.div(tf.sum(tf.mul(pairW, perPair)), P) as tf.Scalar;
    });
}

/** Max |∂L/∂θ| at the tabular policy with log-probs `logProbs`. */
function maxGrad(
  loss: (t: tf.Tensor) => tf.Scalar,
  logProbs: Float64Array,
  P: number,
  R: number,
): number {
  const theta = tf.tensor2d(Float32Array.from(logProbs), [P, R]);
  const g = tf.grad(loss)(theta);
  const m = tf.max(tf.abs(g)).dataSync()[0]!;
  tf.dispose([theta, g]);
  return m;
}

Deno.test({
  name: "ipoOptimalLogPolicy() zeroes the exact gradient of the population IPO loss; π* does not",
  fn() {
    const task = makeBanditTask({ rewardScale: 2, seed: 3 });
    const { P, R } = task;
    const rng = new Rng(2);
    const nonUniform = new Float64Array(P * R);
    for (let x = 0; x < P; x++) {
      const w = Array.from({ length: R }, () => 0.2 + rng.next());
      const s = w.reduce((a, b) => a + b);
      w.forEach((v, y) => (nonUniform[x * R + y] = v / s));
    }
    for (const beta of [0.1, 1]) {
      for (const mu of [new Float64Array(P * R).fill(1 / R), nonUniform]) {
        const c = 1 / (2 * beta);
        const loss = populationLoss(task, mu, (h) => tf.square(tf.sub(h, c)));
        const ipo = ipoOptimalLogPolicy(task, beta, { mu });
        const atIpo = maxGrad(loss, ipo, P, R);
        const atStar = maxGrad(loss, optimalLogPolicy(task, beta), P, R);
        const atRef = maxGrad(loss, task.refLogProbs, P, R);
        // Float32 autodiff: "zero" is far below the gradient scale at π_ref.
        assertLess(atIpo, 1e-4 * atRef, `β=${beta}: ${atIpo} vs ${atRef} at π_ref`);
        assertGreater(atStar, 1000 * atIpo, `π* is not IPO's optimum (β=${beta})`);
        // A strict minimum: random perturbations increase the loss.
        const theta0 = tf.tensor2d(Float32Array.from(ipo), [P, R]);
        const l0 = loss(theta0);
        for (let k = 0; k < 5; k++) {
          const theta = tf.add(
            theta0,
            tf.mul(0.05, tf.randomNormal([P, R], 0, 1, "float32", k + 1)),
          );
          const l = loss(theta);
          assertGreater(l.dataSync()[0]!, l0.dataSync()[0]!);
          tf.dispose([theta, l]);
        }
        tf.dispose([theta0, l0]);
      }
      // IPO's optimum differs from π*_β: it is driven by bounded win-rates, not rewards.
      const dIpo = tabularStats(task, ipoOptimalLogPolicy(task, beta));
      assertLess(dIpo.reward, oracleStats(task, beta).reward - 0.05);
    }
  },
});

Deno.test({
  name: "DPO's population optimum under BT on the true reward is π*_β for any full-support μ",
  fn() {
    const task = makeBanditTask({ rewardScale: 2, seed: 3 });
    const { P, R } = task;
    assert(dpoOptimalLogPolicy === optimalLogPolicy);
    const softplus = (x: tf.Tensor) => tf.softplus(x); // −log σ(−x)
    for (const beta of [0.1, 1]) {
      const uniform = new Float64Array(P * R).fill(1 / R);
      const ref = task.refLogProbs.map(Math.exp);
      for (const mu of [uniform, ref]) {
        const loss = populationLoss(task, mu, (h) => softplus(tf.mul(-beta, h))); // −log σ(βh)
        const atStar = maxGrad(loss, optimalLogPolicy(task, beta), P, R);
        const atRef = maxGrad(loss, task.refLogProbs, P, R);
        const atIpo = maxGrad(loss, ipoOptimalLogPolicy(task, beta), P, R);
        assertLess(atStar, 1e-4 * atRef, `β=${beta}: ${atStar}`);
        assertGreater(atIpo, 1000 * atStar);
      }
    }
  },
});

Deno.test({
  name: "bradleyTerryPreferences() is σ(r(y) − r(y')) and complementary",
  fn() {
    const p = bradleyTerryPreferences(TINY);
    const { P, R } = TINY;
    for (let x = 0; x < P; x++) {
      for (let y = 0; y < R; y++) {
        for (let z = 0; z < R; z++) {
          const pyz = p[(x * R + y) * R + z]!, pzy = p[(x * R + z) * R + y]!;
          assertAlmostEquals(pyz + pzy, 1, 1e-15);
          const d = TINY.rewards[x * R + y]! - TINY.rewards[x * R + z]!;
          assertAlmostEquals(pyz, 1 / (1 + Math.exp(-d)), 1e-15);
        }
      }
    }
  },
});
