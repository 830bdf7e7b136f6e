import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { type Annotator, bradleyTerry, noiseless } from "../lib/data/annotators.ts";
import { onlineDpoConfig, trainOnlineDpo } from "../lib/train/online_dpo.ts";
import type { MetricRow } from "../lib/train/metrics.ts";
import { ConfigError, NumericalError } from "../lib/util/errors.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "./assert.ts";
import {
  changed,
  countGood,
  meanOf,
  nanReward,
  policyAndRef,
  PROMPTS,
  snapshot,
} from "./_online.ts";

await initBackend("cpu");

const SMALL = onlineDpoConfig({
  iterations: 3,
  promptsPerIteration: 8,
  maxNewTokens: 4,
  minibatchSize: 8,
  lr: 3e-3,
  sampleEvery: 0,
});

Deno.test("trainOnlineDpo() changes every parameter, logs finite rows and keeps the tensor count flat", async () => {
  const { policy, ref } = policyAndRef();
  const before = snapshot(policy);
  await trainOnlineDpo({
    policy,
    ref,
    reward: countGood,
    prompts: PROMPTS,
    config: SMALL,
    progress: false,
  });
  assertEquals(changed(before, snapshot(policy)).length, before.size, "every parameter moved");
  const tensors = tf.memory().numTensors;
  const rows = await trainOnlineDpo({
    policy,
    ref,
    reward: countGood,
    annotator: bradleyTerry(0.5),
    monitors: { "reward/gold": countGood },
    prompts: PROMPTS,
    config: { ...SMALL, lossType: "ipo", epochs: 2, minibatchSize: 4 },
    progress: false,
  });
  assertEquals(tf.memory().numTensors, tensors, "tensor count grew across online DPO iterations");
  assertEquals(rows.map((r) => r.step), [1, 2, 3]);
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) assert(Number.isFinite(v), `${k} = ${v}`);
    for (const k of ["loss/dpo", "rewards/accuracy", "reward/score", "reward/gold", "kl/ref"]) {
      assert(k in row, `${k} missing`);
    }
  }
  policy.dispose();
  ref.dispose();
});

Deno.test("trainOnlineDpo() starts at the reference: loss log 2 (DPO) or 1/(4β²) (IPO), accuracy ½, margin 0, at any temperature", async () => {
  // At τ = 0.7 too: the policy's and the reference's log-probabilities are both tempered.
  const cases = [["dpo", Math.log(2), 1], ["ipo", 1 / (4 * 0.5 ** 2), 1], [
    "dpo",
    Math.log(2),
    0.7,
  ]];
  for (const [lossType, want, temperature] of cases as ["dpo" | "ipo", number, number][]) {
    const { policy, ref } = policyAndRef();
    // One step per iteration: the first row is the loss at θ = θ_ref.
    const rows = await trainOnlineDpo({
      policy,
      ref,
      reward: countGood,
      prompts: PROMPTS,
      config: { ...SMALL, iterations: 1, beta: 0.5, lossType, temperature },
      progress: false,
    });
    assertAlmostEquals(rows[0]!["loss/dpo"]!, want, 1e-6, lossType);
    assertEquals(rows[0]!["rewards/accuracy"], 0.5);
    assertEquals(rows[0]!["rewards/margin"], 0);
    policy.dispose();
    ref.dispose();
  }
});

Deno.test("trainOnlineDpo() skips the pairs an annotator calls ties: with only ties nothing moves", async () => {
  const ties: Annotator = {
    ...noiseless(),
    comparePair: () => ({ aWins: false, tie: true, pCorrect: NaN }),
  };
  const { policy, ref } = policyAndRef();
  const before = snapshot(policy);
  const rows = await trainOnlineDpo({
    policy,
    ref,
    reward: countGood,
    annotator: ties,
    prompts: PROMPTS,
    config: SMALL,
    progress: false,
  });
  assertEquals(changed(before, snapshot(policy)), []);
  assertEquals(rows.map((r) => r["online_dpo/tie_frac"]), [1, 1, 1]);
  assert(rows.every((r) => !("loss/dpo" in r)), "no loss without a labelled pair");
  policy.dispose();
  ref.dispose();
});

Deno.test("trainOnlineDpo() is deterministic with a seed and the seed matters", async () => {
  const once = async (seed: number) => {
    const { policy, ref } = policyAndRef();
    const rows = await trainOnlineDpo({
      policy,
      ref,
      reward: countGood,
      annotator: bradleyTerry(0.2),
      prompts: PROMPTS,
      config: { ...SMALL, seed },
      progress: false,
    });
    const params = snapshot(policy);
    policy.dispose();
    ref.dispose();
    return {
      rows: rows.map(({ "perf/tokens_per_s": _, "perf/sample_fraction": __, ...r }) => r),
      params,
    };
  };
  const a = await once(5), b = await once(5), c = await once(6);
  assertEquals(a.rows, b.rows);
  assertEquals(changed(a.params, b.params), []);
  assertNotEquals(changed(a.params, c.params), []);
});

Deno.test("trainOnlineDpo() raises the reward its labels prefer", async () => {
  const { policy, ref } = policyAndRef();
  const rows: MetricRow[] = [];
  await trainOnlineDpo({
    policy,
    ref,
    reward: countGood,
    prompts: PROMPTS,
    config: { ...SMALL, iterations: 15, promptsPerIteration: 16, epochs: 2, minibatchSize: 8 },
    onRow: (r) => rows.push(r),
    progress: false,
  });
  const first = meanOf(rows.slice(0, 3), "reward/score");
  const last = meanOf(rows.slice(-3), "reward/score");
  assertGreater(last, first + 0.1, `reward ${first} → ${last}`);
  // The noiseless annotator always prefers the higher reward.
  assert(rows.every((r) => r["online_dpo/label_agreement"]! >= 0.5));
  policy.dispose();
  ref.dispose();
});

Deno.test("trainOnlineDpo() stops with a NumericalError naming a NaN reward", async () => {
  const { policy, ref } = policyAndRef();
  await assertRejects(
    () =>
      trainOnlineDpo({
        policy,
        ref,
        reward: nanReward,
        prompts: PROMPTS,
        config: SMALL,
        progress: false,
      }),
    NumericalError,
    "reward/score is NaN at step 0",
  );
  policy.dispose();
  ref.dispose();
});

Deno.test("onlineDpoConfig() names the field and the value of a bad setting", () => {
  assertThrows(
    () => onlineDpoConfig({ lossType: "kto" as "dpo" }),
    ConfigError,
    'odpo.lossType must be one of "dpo", "ipo", "hinge", "simpo", got "kto"',
  );
  assertThrows(
    () => onlineDpoConfig({ beta: 0 }),
    ConfigError,
    "odpo.beta must be a number > 0, got 0",
  );
});
