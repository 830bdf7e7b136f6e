import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { ktoLoss, type KtoLossArgs } from "../lib/losses/kto.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { assertAllClose, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

await initBackend("cpu");

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

// Three completions: desirable, undesirable, desirable; r_θ = [0.5, −0.5, −1].
const POLICY = [-1, -2, -3];
const REF = [-1.5, -1.5, -2];
const DESIRABLE = [1, 0, 1];
// Mismatched pairs: log-ratios 0.5 and 0.2 → z0 = 0.35.
const KL_POLICY = [-2, -1];
const KL_REF = [-2.5, -1.2];

function run(extra: Partial<KtoLossArgs> & { beta: number }, klRef = KL_REF) {
  const policy = tf.tensor1d(POLICY), klPolicy = tf.tensor1d(KL_POLICY);
  const fixed = {
    refLogProbs: tf.tensor1d(REF),
    desirable: tf.tensor1d(DESIRABLE),
    klRefLogProbs: tf.tensor1d(klRef),
  };
  const args = { ...fixed, ...extra };
  const out = ktoLoss({ policyLogProbs: policy, klPolicyLogProbs: klPolicy, ...args });
  const numbers = {
    losses: Array.from(out.losses.dataSync()),
    loss: out.loss.dataSync()[0]!,
    z0: out.z0.dataSync()[0]!,
    rewards: Array.from(out.rewards.dataSync()),
  };
  const [gp, gk] = tf.grads((p: tf.Tensor, k: tf.Tensor) =>
    ktoLoss({ policyLogProbs: p as tf.Tensor1D, klPolicyLogProbs: k as tf.Tensor1D, ...args })
      .loss
  )([policy, klPolicy]);
  const grads = { policy: Array.from(gp!.dataSync()), kl: Array.from(gk!.dataSync()) };
  tf.dispose([policy, klPolicy, gp!, gk!, ...Object.values(fixed), ...Object.values(out)]);
  return { ...numbers, grads };
}

Deno.test({
  name: "ktoLoss() value and gradient match a hand computation, with z0 detached",
  fn() {
    const beta = 0.5, lD = 1.2, lU = 0.8;
    const got = run({ beta, desirableWeight: lD, undesirableWeight: lU });
    const z0 = 0.35;
    assertAlmostEquals(got.z0, z0, 1e-6);
    const ratios = POLICY.map((p, i) => p - REF[i]!);
    const u = ratios.map((r) => beta * (r - z0)); // [0.075, −0.425, −0.675]
    const losses = u.map((v, i) => (DESIRABLE[i] ? lD * sigmoid(-v) : lU * sigmoid(v)));
    assertAllClose(got.losses, losses, 1e-6);
    assertAlmostEquals(got.loss, losses.reduce((a, b) => a + b) / 3, 1e-6);
    // d/dr_θ: desirable −λ_D·β·σ(u)σ(−u), undesirable +λ_U·β·σ(u)σ(−u); mean over 3.
    const grad = u.map((v, i) => ((DESIRABLE[i] ? -lD : lU) * beta * sigmoid(v) * sigmoid(-v)) / 3);
    assertAllClose(got.grads.policy, grad, 1e-6);
    assertAllClose(got.grads.kl, [0, 0], 0); // no gradient through the reference point
    assertAllClose(got.rewards, ratios.map((r) => beta * r), 1e-6);
  },
});

Deno.test({
  name: "ktoLoss() clamps the reference point at 0 and equals λ/2 when the policy is the reference",
  fn() {
    const got = run({ beta: 0.1 }, [-1.5, -0.5]); // log-ratios −0.5, −0.5 → z0 = max(0, −0.5) = 0
    assertEquals(got.z0, 0);
    const x = tf.tensor1d([-3, -5]), d = tf.tensor1d([1, 0]);
    const out = ktoLoss({
      policyLogProbs: x,
      refLogProbs: x,
      desirable: d,
      klPolicyLogProbs: x,
      klRefLogProbs: x,
      beta: 0.1,
      desirableWeight: 2,
      undesirableWeight: 1,
    });
    assertAllClose(out.losses.dataSync(), [1, 0.5], 1e-7); // λ·(1 − σ(0))
    tf.dispose([x, d, ...Object.values(out)]);
  },
});

Deno.test({
  name: "ktoLoss() names the field for bad inputs and leaks no tensors",
  fn() {
    const before = tf.memory().numTensors;
    run({ beta: 0.3 });
    assertEquals(tf.memory().numTensors, before);
    const x = tf.zeros([2]) as tf.Tensor1D, y = tf.zeros([3]) as tf.Tensor1D;
    const base = {
      policyLogProbs: x,
      refLogProbs: x,
      desirable: x,
      klPolicyLogProbs: x,
      klRefLogProbs: x,
    };
    assertThrows(
      () => ktoLoss({ ...base, beta: 0 }),
      ConfigError,
      "kto.beta must be a number > 0, got 0",
    );
    assertThrows(
      () => ktoLoss({ ...base, desirable: y, beta: 1 }),
      ConfigError,
      "kto.desirable must have shape [2], got [3]",
    );
    assertThrows(
      () => ktoLoss({ ...base, klRefLogProbs: y, beta: 1 }),
      ConfigError,
      "kto.klPolicyLogProbs and kto.klRefLogProbs",
    );
    assertThrows(
      () => ktoLoss({ ...base, beta: 1, undesirableWeight: -1 }),
      ConfigError,
      "kto.undesirableWeight must be a number >= 0, got -1",
    );
    tf.dispose([x, y]);
  },
});
