import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { DPO_LOSS_NAMES, DPO_LOSSES, dpoLoss, type DpoLossArgs } from "../lib/losses/dpo.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  assert,
  assertAllClose,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./assert.ts";

await initBackend("cpu");

// A toy batch of summed log-probs, B = 4 (the last pair is ranked wrongly by the policy).
const PC = [-1.0, -2.0, -3.0, -4.0]; // log π(y_w)
const PR = [-2.0, -1.5, -4.0, -3.0]; // log π(y_l)
const RC = [-1.5, -1.8, -3.2, -3.5]; // log π_ref(y_w)
const RR = [-1.7, -1.9, -3.5, -3.6]; // log π_ref(y_l)
const LC = [2, 3, 4, 5]; // |y_w|
const LR = [3, 2, 5, 4]; // |y_l|
const B = PC.length;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logSigmoid = (x: number) => -Math.log1p(Math.exp(-x));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** h per pair, optionally from per-token averages. */
function hOf(normalise: boolean): number[] {
  return PC.map((_, i) => {
    const lc = normalise ? LC[i]! : 1, lr = normalise ? LR[i]! : 1;
    return (PC[i]! - RC[i]!) / lc - (PR[i]! - RR[i]!) / lr;
  });
}

/** Run dpoLoss and return its numbers plus d loss / d policyChosen and / d policyRejected. */
function run(extra: Partial<DpoLossArgs> & { beta: number }) {
  const policyChosen = tf.tensor1d(PC), policyRejected = tf.tensor1d(PR);
  const inputs = {
    refChosen: tf.tensor1d(RC),
    refRejected: tf.tensor1d(RR),
    chosenLengths: tf.tensor1d(LC),
    rejectedLengths: tf.tensor1d(LR),
  };
  const out = dpoLoss({ policyChosen, policyRejected, ...inputs, ...extra });
  const numbers = {
    losses: Array.from(out.losses.dataSync()),
    loss: out.loss.dataSync()[0]!,
    chosenRewards: Array.from(out.chosenRewards.dataSync()),
    rejectedRewards: Array.from(out.rejectedRewards.dataSync()),
    rewardAccuracy: out.rewardAccuracy.dataSync()[0]!,
    rewardMargin: out.rewardMargin.dataSync()[0]!,
  };
  tf.dispose(Object.values(out));
  const [gc, gr] = tf.grads((c: tf.Tensor, r: tf.Tensor) =>
    dpoLoss({
      policyChosen: c as tf.Tensor1D,
      policyRejected: r as tf.Tensor1D,
      ...inputs,
      ...extra,
    }).loss
  )([policyChosen, policyRejected]);
  const grads = { chosen: Array.from(gc!.dataSync()), rejected: Array.from(gr!.dataSync()) };
  tf.dispose([policyChosen, policyRejected, gc!, gr!, ...Object.values(inputs)]);
  return { ...numbers, grads };
}

Deno.test({
  name: "dpoLoss() equals log 2 when policy equals reference",
  fn() {
    const x = tf.tensor1d([-3, -5, -0.5]), y = tf.tensor1d([-2, -7, -1]);
    for (const labelSmoothing of [0, 0.1]) {
      const out = dpoLoss({
        policyChosen: x,
        policyRejected: y,
        refChosen: x,
        refRejected: y,
        beta: 0.3,
        labelSmoothing,
      });
      assertAlmostEquals(out.loss.dataSync()[0]!, Math.log(2), 1e-6);
      assertAllClose(out.chosenRewards.dataSync(), [0, 0, 0], 1e-7);
      assertAlmostEquals(out.rewardAccuracy.dataSync()[0]!, 0.5); // every pair a tie: half right
      tf.dispose(Object.values(out));
    }
    tf.dispose([x, y]);
  },
});

Deno.test({
  name: "dpoLoss() rewardAccuracy counts a pair with equal implicit rewards as half right",
  fn() {
    // Implicit-reward differences β·h = 0.5·(+1, 0, −2, +3): right, tie, wrong, right.
    const policyChosen = tf.tensor1d([1, 0, -2, 3]), zeros = tf.zeros([4]) as tf.Tensor1D;
    const out = dpoLoss({
      policyChosen,
      policyRejected: zeros,
      refChosen: zeros,
      refRejected: zeros,
      beta: 0.5,
    });
    assertAlmostEquals(out.rewardAccuracy.dataSync()[0]!, (1 + 0.5 + 0 + 1) / 4, 1e-7);
    const weights = tf.tensor1d([1, 2, 1, 0]);
    const weighted = dpoLoss({
      policyChosen,
      policyRejected: zeros,
      refChosen: zeros,
      refRejected: zeros,
      beta: 0.5,
      weights,
    });
    assertAlmostEquals(weighted.rewardAccuracy.dataSync()[0]!, (1 + 2 * 0.5 + 0) / 4, 1e-7);
    tf.dispose([policyChosen, zeros, weights, ...Object.values(out), ...Object.values(weighted)]);
  },
});

Deno.test({
  name: "dpoLoss() dpo and cDPO losses and gradients match a hand computation",
  fn() {
    const beta = 0.5;
    for (const eps of [0, 0.1]) {
      const r = run({ beta, lossType: "dpo", labelSmoothing: eps });
      const h = hOf(false);
      const losses = h.map((v) => -(1 - eps) * logSigmoid(beta * v) - eps * logSigmoid(-beta * v));
      assertAllClose(r.losses, losses, 1e-6, `losses ε=${eps}`);
      assertAlmostEquals(r.loss, mean(losses), 1e-6);
      // d/dh = β·(−(1−ε)·σ(−βh) + ε·σ(βh)); ∂h/∂policyChosen = 1, ∂h/∂policyRejected = −1.
      const dh = h.map((v) => beta * (-(1 - eps) * sigmoid(-beta * v) + eps * sigmoid(beta * v)));
      assertAllClose(r.grads.chosen, dh.map((d) => d / B), 1e-6, `grad chosen ε=${eps}`);
      assertAllClose(r.grads.rejected, dh.map((d) => -d / B), 1e-6, `grad rejected ε=${eps}`);
    }
  },
});

Deno.test({
  name: "dpoLoss() ipo loss and gradient match a hand computation, summed and length-averaged",
  fn() {
    const beta = 0.5, c = 1 / (2 * beta);
    for (const normalise of [false, true]) {
      for (const eps of [0, 0.2]) {
        const r = run({ beta, lossType: "ipo", lengthNormalise: normalise, labelSmoothing: eps });
        const h = hOf(normalise);
        // (1−ε)(h − c)² + ε(h + c)²; its derivative is 2(h − (1 − 2ε)c).
        const losses = h.map((v) => (1 - eps) * (v - c) ** 2 + eps * (v + c) ** 2);
        const what = `normalise=${normalise} ε=${eps}`;
        assertAllClose(r.losses, losses, 1e-5, what);
        const dh = h.map((v) => 2 * (v - (1 - 2 * eps) * c));
        const lc = normalise ? LC : [1, 1, 1, 1], lr = normalise ? LR : [1, 1, 1, 1];
        assertAllClose(r.grads.chosen, dh.map((d, i) => d / lc[i]! / B), 1e-5, what);
        assertAllClose(r.grads.rejected, dh.map((d, i) => -d / lr[i]! / B), 1e-5, what);
      }
    }
  },
});

Deno.test({
  name: "dpoLoss() hinge loss and gradient match a hand computation",
  fn() {
    const beta = 2; // β·h crosses 1 inside the batch, so both branches are exercised
    const r = run({ beta, lossType: "hinge" });
    const h = hOf(false);
    assert(h.some((v) => beta * v > 1) && h.some((v) => beta * v < 1));
    assertAllClose(r.losses, h.map((v) => Math.max(0, 1 - beta * v)), 1e-6);
    const dh = h.map((v) => (beta * v < 1 ? -beta : 0));
    assertAllClose(r.grads.chosen, dh.map((d) => d / B), 1e-6);
    assertAllClose(r.grads.rejected, dh.map((d) => -d / B), 1e-6);
  },
});

Deno.test({
  name: "dpoLoss() simpo loss, gradient and rewards match a hand computation (reference-free)",
  fn() {
    const beta = 2, gamma = 0.5;
    for (const eps of [0, 0.1]) {
      // No reference inputs at all.
      const c = tf.tensor1d(PC), rj = tf.tensor1d(PR);
      const lc = tf.tensor1d(LC), lr = tf.tensor1d(LR);
      const args = {
        beta,
        lossType: "simpo" as const,
        simpoGamma: gamma,
        labelSmoothing: eps,
        chosenLengths: lc,
        rejectedLengths: lr,
      };
      const out = dpoLoss({ policyChosen: c, policyRejected: rj, ...args });
      const u = PC.map((_, i) => beta * (PC[i]! / LC[i]! - PR[i]! / LR[i]!) - gamma);
      const losses = u.map((v) => -(1 - eps) * logSigmoid(v) - eps * logSigmoid(-v));
      assertAllClose(out.losses.dataSync(), losses, 1e-6);
      assertAllClose(out.chosenRewards.dataSync(), PC.map((p, i) => beta * p / LC[i]!), 1e-6);
      assertAllClose(out.rejectedRewards.dataSync(), PR.map((p, i) => beta * p / LR[i]!), 1e-6);
      tf.dispose(Object.values(out));
      const [gc, gr] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        dpoLoss({ policyChosen: a as tf.Tensor1D, policyRejected: b as tf.Tensor1D, ...args }).loss
      )([c, rj]);
      // dℓ/du = −(1−ε)σ(−u) + εσ(u); ∂u/∂log π(y_w) = β/|y_w|, ∂u/∂log π(y_l) = −β/|y_l|.
      const du = u.map((v) => -(1 - eps) * sigmoid(-v) + eps * sigmoid(v));
      assertAllClose(gc!.dataSync(), du.map((d, i) => d * beta / LC[i]! / B), 1e-6);
      assertAllClose(gr!.dataSync(), du.map((d, i) => -d * beta / LR[i]! / B), 1e-6);
      tf.dispose([c, rj, lc, lr, gc!, gr!]);
    }
  },
});

Deno.test({
  name: "dpoLoss() implicit reward metrics on a toy batch",
  fn() {
    const beta = 0.1;
    const r = run({ beta });
    const chosen = PC.map((p, i) => beta * (p - RC[i]!));
    const rejected = PR.map((p, i) => beta * (p - RR[i]!));
    assertAllClose(r.chosenRewards, chosen, 1e-6);
    assertAllClose(r.rejectedRewards, rejected, 1e-6);
    // h = [0.8, −0.6, 0.7, −1.1]: pairs 0 and 2 ranked correctly.
    assertAllClose(hOf(false), [0.8, -0.6, 0.7, -1.1], 1e-12);
    assertAlmostEquals(r.rewardAccuracy, 0.5, 1e-7);
    assertAlmostEquals(r.rewardMargin, beta * mean(hOf(false)), 1e-7);
  },
});

Deno.test({
  name: "dpoLoss() weights give the mean over repeated pairs",
  fn() {
    const t = (xs: number[]) => tf.tensor1d(xs);
    const w = [3, 1, 0, 2];
    const rep = (xs: number[]) => xs.flatMap((x, i) => Array(w[i]!).fill(x) as number[]);
    for (const lossType of DPO_LOSS_NAMES) {
      const extra = { beta: 0.7, lossType, labelSmoothing: 0.05 };
      const inputs = [PC, PR, RC, RR, LC, LR];
      const [a, b, c, d, e, f] = inputs.map(t);
      const weighted = dpoLoss({
        policyChosen: a!,
        policyRejected: b!,
        refChosen: c!,
        refRejected: d!,
        chosenLengths: e!,
        rejectedLengths: f!,
        weights: t(w),
        ...extra,
      });
      const [a2, b2, c2, d2, e2, f2] = inputs.map((xs) => t(rep(xs)));
      const repeated = dpoLoss({
        policyChosen: a2!,
        policyRejected: b2!,
        refChosen: c2!,
        refRejected: d2!,
        chosenLengths: e2!,
        rejectedLengths: f2!,
        ...extra,
      });
      for (const k of ["loss", "rewardAccuracy", "rewardMargin"] as const) {
        assertAlmostEquals(weighted[k].dataSync()[0]!, repeated[k].dataSync()[0]!, 1e-6, k);
      }
      tf.dispose([a!, b!, c!, d!, e!, f!, a2!, b2!, c2!, d2!, e2!, f2!]);
      tf.dispose([...Object.values(weighted), ...Object.values(repeated)]);
    }
  },
});

Deno.test({
  name: "DPO_LOSSES has one spec per name and dpoLoss() leaks no tensors",
  fn() {
    assertEquals(Object.keys(DPO_LOSSES).sort(), [...DPO_LOSS_NAMES].sort());
    const before = tf.memory().numTensors;
    for (const lossType of DPO_LOSS_NAMES) run({ beta: 0.5, lossType, labelSmoothing: 0.1 });
    assertEquals(tf.memory().numTensors, before);
  },
});

Deno.test({
  name: "dpoLoss() rejects bad settings naming the field",
  fn() {
    const x = tf.tensor1d([-1, -2]);
    const base = { policyChosen: x, policyRejected: x, refChosen: x, refRejected: x };
    assertThrows(
      () => dpoLoss({ ...base, beta: 0 }),
      ConfigError,
      "dpo.beta must be a number > 0, got 0",
    );
    assertThrows(
      () => dpoLoss({ ...base, beta: 1, labelSmoothing: 0.5 }),
      ConfigError,
      "dpo.labelSmoothing",
    );
    assertThrows(
      // deno-lint-ignore no-explicit-any
      () => dpoLoss({ ...base, beta: 1, lossType: "kto" as any }),
      ConfigError,
      'dpo.lossType must be one of "dpo", "ipo", "hinge", "simpo", got "kto"',
    );
    assertThrows(
      () => dpoLoss({ ...base, beta: 1, lossType: "simpo" }),
      ConfigError,
      "dpo.chosenLengths",
    );
    assertThrows(
      () => dpoLoss({ ...base, beta: 1, lengthNormalise: true }),
      ConfigError,
      "dpo.chosenLengths",
    );
    assertThrows(
      () => dpoLoss({ policyChosen: x, policyRejected: x, beta: 1 }),
      ConfigError,
      "dpo.refChosen is required",
    );
    const y = tf.tensor1d([-1, -2, -3]);
    assertThrows(
      () => dpoLoss({ ...base, refRejected: y, beta: 1 }),
      ConfigError,
      "must have shape [2]",
    );
    tf.dispose([x, y]);
  },
});
