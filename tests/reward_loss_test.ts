import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { bradleyTerryLoss } from "../lib/losses/reward.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { assertAllClose, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";

await initBackend("cpu");

const RC = [1.0, -0.5, 0.3];
const RR = [0.2, 0.5, 0.3];
const B = RC.length;

/** −log σ(x) by hand. */
const nls = (x: number) => Math.log(1 + Math.exp(-x));
/** σ(x) by hand. */
const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** Loss and gradients from tf.grads for given margin (number or per pair) and η. */
function run(margin: number | number[], eta: number) {
  const rc = tf.tensor1d(RC), rr = tf.tensor1d(RR);
  const m = typeof margin === "number" ? margin : tf.tensor1d(margin);
  const out = bradleyTerryLoss({
    rewardChosen: rc,
    rewardRejected: rr,
    margin: m,
    centringCoef: eta,
  });
  const [gc, gr] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    bradleyTerryLoss({
      rewardChosen: a as tf.Tensor1D,
      rewardRejected: b as tf.Tensor1D,
      margin: m,
      centringCoef: eta,
    }).loss
  )([rc, rr]);
  const res = {
    loss: out.loss.dataSync()[0]!,
    accuracy: out.accuracy.dataSync()[0]!,
    margin: out.margin.dataSync()[0]!,
    gradChosen: Array.from(gc!.dataSync()),
    gradRejected: Array.from(gr!.dataSync()),
  };
  tf.dispose([rc, rr, m, out, gc, gr]);
  return res;
}

/** The same numbers computed by hand with Math.exp. */
function byHand(margin: number[], eta: number) {
  let loss = 0;
  const gradChosen: number[] = [], gradRejected: number[] = [];
  for (let b = 0; b < B; b++) {
    const x = RC[b]! - RR[b]! - margin[b]!;
    const s = RC[b]! + RR[b]!;
    loss += (nls(x) + eta * s * s) / B;
    // d/dr_c −log σ(x) = −σ(−x); d/dr_c η s² = 2ηs; both divided by B for the mean.
    gradChosen.push((-sig(-x) + 2 * eta * s) / B);
    gradRejected.push((sig(-x) + 2 * eta * s) / B);
  }
  return { loss, gradChosen, gradRejected };
}

Deno.test({
  name: "bradleyTerryLoss() equals −mean log σ(r_c − r_r) and its gradient, by hand",
  fn() {
    const got = run(0, 0);
    const want = byHand([0, 0, 0], 0);
    assertAlmostEquals(got.loss, want.loss, 1e-6);
    assertAllClose(got.gradChosen, want.gradChosen, 1e-6);
    assertAllClose(got.gradRejected, want.gradRejected, 1e-6);
    assertAlmostEquals(got.accuracy, (1 + 0 + 0.5) / 3, 1e-7); // the tie counts half
    assertAlmostEquals(got.margin, (0.8 - 1.0 + 0) / 3, 1e-6);
  },
});

Deno.test({
  name: "bradleyTerryLoss() margin term shifts the logit by m (shared or per pair)",
  fn() {
    const shared = run(0.5, 0);
    const wantShared = byHand([0.5, 0.5, 0.5], 0);
    assertAlmostEquals(shared.loss, wantShared.loss, 1e-6);
    assertAllClose(shared.gradChosen, wantShared.gradChosen, 1e-6);
    const perPair = run([0.1, -0.2, 1.0], 0);
    const wantPerPair = byHand([0.1, -0.2, 1.0], 0);
    assertAlmostEquals(perPair.loss, wantPerPair.loss, 1e-6);
    assertAllClose(perPair.gradRejected, wantPerPair.gradRejected, 1e-6);
    assertAlmostEquals(perPair.margin, (0.8 - 1.0 + 0) / 3, 1e-6); // reported without m
  },
});

Deno.test({
  name: "bradleyTerryLoss() centring term adds η·mean((r_c + r_r)²) and its gradient",
  fn() {
    const got = run(0, 0.1);
    const want = byHand([0, 0, 0], 0.1);
    assertAlmostEquals(got.loss, want.loss, 1e-6);
    const centring = 0.1 * (1.2 ** 2 + 0 ** 2 + 0.6 ** 2) / 3;
    assertAlmostEquals(got.loss - run(0, 0).loss, centring, 1e-6);
    assertAllClose(got.gradChosen, want.gradChosen, 1e-6);
    assertAllClose(got.gradRejected, want.gradRejected, 1e-6);
  },
});

Deno.test({
  name: "bradleyTerryLoss() is finite for large reward gaps and leaks no tensors",
  fn() {
    const before = tf.memory().numTensors;
    const rc = tf.tensor1d([100, -100]), rr = tf.tensor1d([0, 0]);
    const out = bradleyTerryLoss({ rewardChosen: rc, rewardRejected: rr });
    assertAlmostEquals(out.loss.dataSync()[0]!, 50, 1e-4); // (0 + 100) / 2
    tf.dispose([rc, rr, out]);
    assertEquals(tf.memory().numTensors, before);
  },
});

Deno.test({
  name: "bradleyTerryLoss() rejects mismatched shapes and a negative centring coefficient",
  fn() {
    const a = tf.tensor1d([1, 2]), b = tf.tensor1d([1, 2, 3]), m = tf.tensor2d([[1, 2]]);
    assertThrows(
      () => bradleyTerryLoss({ rewardChosen: a, rewardRejected: b }),
      ConfigError,
      "must both be [B], got [2] and [3]",
    );
    assertThrows(
      () => bradleyTerryLoss({ rewardChosen: a, rewardRejected: a, margin: m as never }),
      ConfigError,
      "margin must be a number or [B] = [2], got [1,2]",
    );
    assertThrows(
      () => bradleyTerryLoss({ rewardChosen: a, rewardRejected: a, centringCoef: -1 }),
      ConfigError,
      "centringCoef must be a number >= 0, got -1",
    );
    tf.dispose([a, b, m]);
  },
});
