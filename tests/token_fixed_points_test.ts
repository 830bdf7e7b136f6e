import { makeTokenTask, tokenPolicyStats, type TokenTask } from "../lib/data/token_task.ts";
import { grpoFixedPoint, ktoFixedPoint } from "../lib/eval/token_fixed_points.ts";
import { softBellman } from "../lib/eval/token_oracle.ts";
import { GRPO_AGGREGATIONS } from "../lib/losses/grpo.ts";
import { assert, assertAllClose, assertGreater, assertLess } from "./assert.ts";

const TASK = makeTokenTask();
const G = 8, SHRINK = (G - 1) / G;

/** Unregularised Q(s, a) = E_π[r | s, a] by backward induction, [P, D, A]. */
function qValues(task: TokenTask, logPolicy: Float64Array): Float64Array {
  const { P, V, D, A, N, rewards } = task;
  const q = new Float64Array(P * D * A), v = new Float64Array(P * D);
  for (let x = 0; x < P; x++) {
    for (let n = D - 1; n >= 0; n--) {
      const row = (x * D + n) * A;
      let value = 0;
      for (let a = 0; a < A; a++) {
        const child = n * V + 1 + a;
        q[row + a] = a === V
          ? rewards[x * N + n]!
          : child < D
          ? v[x * D + child]!
          : rewards[x * N + child]!;
        value += Math.exp(logPolicy[row + a]!) * q[row + a]!;
      }
      v[x * D + n] = value;
    }
  }
  return q;
}

Deno.test({
  name:
    "grpoFixedPoint() with k1 in the reward is π*_β for every aggregation, with or without the std",
  fn() {
    for (const beta of [0.1, 0.5, 2]) {
      const star = softBellman(TASK, beta).logPolicy.map(Math.exp);
      for (const aggregation of GRPO_AGGREGATIONS) {
        for (const scaleRewards of [false, true]) {
          const fp = grpoFixedPoint(TASK, {
            beta,
            groupSize: G,
            klPlacement: "reward",
            klEstimator: "k1",
            aggregation,
            scaleRewards,
          });
          assertAllClose(fp.logPolicy.map(Math.exp), star, 1e-7, `β=${beta} ${aggregation}`);
        }
      }
    }
  },
});

Deno.test({
  name:
    "grpoFixedPoint() with k3 in the loss solves π(a|s) = π_ref(a|s)/(1 − (G−1)/G·A(s,a)/β) at every prefix",
  fn() {
    for (const beta of [0.1, 0.5, 2]) {
      const fp = grpoFixedPoint(TASK, {
        beta,
        groupSize: G,
        klPlacement: "loss",
        klEstimator: "k3",
        aggregation: "dr_grpo",
        scaleRewards: false,
      });
      const q = qValues(TASK, fp.logPolicy);
      const predicted = new Float64Array(fp.logPolicy.length);
      for (let row = 0; row < TASK.P * TASK.D; row++) {
        let value = 0;
        for (let a = 0; a < TASK.A; a++) {
          value += Math.exp(fp.logPolicy[row * TASK.A + a]!) * q[row * TASK.A + a]!;
        }
        for (let a = 0; a < TASK.A; a++) {
          const i = row * TASK.A + a;
          predicted[i] = Math.exp(TASK.logRef[i]!) / (1 - (SHRINK * (q[i]! - value)) / beta);
        }
      }
      assertAllClose(fp.logPolicy.map(Math.exp), predicted, 1e-7, `β=${beta}`);
      // Mass-covering and blind to later KL: it is not π*_β.
      const star = tokenPolicyStats(TASK, softBellman(TASK, beta).logPolicy);
      assertGreater(Math.abs(fp.kl / star.kl - 1), 0.04, `β=${beta}`);
    }
  },
});

Deno.test({
  name: "grpoFixedPoint() with k2 in the loss is the myopic soft policy π ∝ π_ref·exp((G−1)/G·Q/β)",
  fn() {
    for (const beta of [0.5, 2]) {
      const fp = grpoFixedPoint(TASK, {
        beta,
        groupSize: G,
        klPlacement: "loss",
        klEstimator: "k2",
        aggregation: "dr_grpo",
        scaleRewards: false,
      });
      const q = qValues(TASK, fp.logPolicy);
      const predicted = new Float64Array(fp.logPolicy.length);
      for (let row = 0; row < TASK.P * TASK.D; row++) {
        let z = 0;
        for (let a = 0; a < TASK.A; a++) {
          const i = row * TASK.A + a;
          z += Math.exp(TASK.logRef[i]! + (SHRINK * q[i]!) / beta);
        }
        for (let a = 0; a < TASK.A; a++) {
          const i = row * TASK.A + a;
          predicted[i] = Math.exp(TASK.logRef[i]! + (SHRINK * q[i]!) / beta) / z;
        }
      }
      assertAllClose(fp.logPolicy.map(Math.exp), predicted, 1e-7, `β=${beta}`);
    }
  },
});

/** KTO's expected loss with μ = π_ref and z0 held fixed (lib/eval/token_fixed_points.ts). */
function ktoPopulationLoss(task: TokenTask, theta: Float64Array, beta: number, z0: number): number {
  const { P, N, A, rewards } = task;
  const logPolicy = new Float64Array(theta.length);
  for (let o = 0; o < theta.length; o += A) {
    let m = -Infinity;
    for (let a = 0; a < A; a++) m = Math.max(m, theta[o + a]!);
    let s = 0;
    for (let a = 0; a < A; a++) s += Math.exp(theta[o + a]! - m);
    for (let a = 0; a < A; a++) logPolicy[o + a] = theta[o + a]! - m - Math.log(s);
  }
  const seq = tokenPolicyStats(task, logPolicy).seqLogProbs;
  const ref = tokenPolicyStats(task, task.logRef).seqLogProbs;
  const sigmoid = (u: number) => 1 / (1 + Math.exp(-u));
  let loss = 0;
  for (let x = 0; x < P; x++) {
    for (let n = 0; n < N; n++) {
      let win = 0;
      for (let m = 0; m < N; m++) {
        win += Math.exp(ref[x * N + m]!) * sigmoid(rewards[x * N + n]! - rewards[x * N + m]!);
      }
      const u = beta * (seq[x * N + n]! - ref[x * N + n]! - z0);
      loss += (Math.exp(ref[x * N + n]!) * (win * sigmoid(-u) + (1 - win) * sigmoid(u))) / P;
    }
  }
  return loss;
}

/** z0 of the solution: mismatched pairs, clamped at 0. */
function ktoZ0(task: TokenTask, logPolicy: Float64Array): number {
  const seq = tokenPolicyStats(task, logPolicy).seqLogProbs;
  const ref = tokenPolicyStats(task, task.logRef).seqLogProbs;
  let z0 = 0;
  for (let x = 0; x < task.P; x++) {
    const other = (x + 1) % task.P;
    for (let n = 0; n < task.N; n++) {
      z0 +=
        (Math.exp(ref[x * task.N + n]!) * (seq[other * task.N + n]! - ref[other * task.N + n]!)) /
        task.P;
    }
  }
  return Math.max(0, z0);
}

Deno.test({
  name:
    "ktoFixedPoint() (data from π_ref) zeroes the finite-difference gradient of KTO's expected loss",
  fn() {
    const beta = 0.5;
    const fp = ktoFixedPoint(TASK, { beta, sampling: "ref" });
    const z0 = ktoZ0(TASK, fp.logPolicy);
    const gradNorm = (logPolicy: Float64Array) => {
      let worst = 0;
      const h = 1e-5;
      for (let i = 0; i < logPolicy.length; i++) {
        const plus = Float64Array.from(logPolicy), minus = Float64Array.from(logPolicy);
        plus[i] = plus[i]! + h;
        minus[i] = minus[i]! - h;
        const d =
          (ktoPopulationLoss(TASK, plus, beta, z0) - ktoPopulationLoss(TASK, minus, beta, z0)) /
          (2 * h);
        worst = Math.max(worst, Math.abs(d));
      }
      return worst;
    };
    assertLess(gradNorm(fp.logPolicy), 1e-7);
    assertGreater(gradNorm(TASK.logRef), 1e-3); // the check can fail: π_ref is not stationary
    assert(fp.kl > 0.5, `KTO's fixed point moves far from π_ref: KL ${fp.kl}`);
  },
});
