import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { DR_GRPO_CONFIG, groupStats, grpoConfig, trainGrpo } from "../lib/train/grpo.ts";
import type { MetricRow } from "../lib/train/metrics.ts";
import { ConfigError, NumericalError } from "../lib/util/errors.ts";
import {
  assert,
  assertEquals,
  assertGreater,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "./assert.ts";
import {
  changed,
  constant,
  countGood,
  meanOf,
  nanReward,
  policyAndRef,
  PROMPTS,
  snapshot,
} from "./_online.ts";

await initBackend("cpu");

const SMALL = grpoConfig({
  iterations: 3,
  promptsPerIteration: 2,
  groupSize: 4,
  maxNewTokens: 4,
  minibatchSize: 4,
  lr: 3e-3,
  sampleEvery: 0,
});

Deno.test("trainGrpo() changes every parameter, logs finite rows and keeps the tensor count flat", async () => {
  const { policy, ref } = policyAndRef();
  const before = snapshot(policy);
  await trainGrpo({
    policy,
    ref,
    reward: countGood,
    prompts: PROMPTS,
    config: SMALL,
    progress: false,
  });
  assertEquals(changed(before, snapshot(policy)).length, before.size, "every parameter moved");
  const tensors = tf.memory().numTensors;
  const rows = await trainGrpo({
    policy,
    ref,
    reward: countGood,
    monitors: { "reward/gold": countGood },
    prompts: PROMPTS,
    config: { ...SMALL, klPlacement: "reward" },
    progress: false,
  });
  assertEquals(tf.memory().numTensors, tensors, "tensor count grew across GRPO iterations");
  assertEquals(rows.map((r) => r.step), [1, 2, 3]);
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) assert(Number.isFinite(v), `${k} = ${v}`);
    for (const k of ["loss/policy", "reward/score", "reward/gold", "kl/ref", "grpo/clip_frac"]) {
      assert(k in row, `${k} missing`);
    }
  }
  assertEquals(rows[0]!["train/updates"], 2 * 2, "2 epochs × 8 completions / 4 per step");
  policy.dispose();
  ref.dispose();
});

Deno.test("trainGrpo() is deterministic with a seed and the seed matters", async () => {
  const once = async (seed: number) => {
    const { policy, ref } = policyAndRef();
    const rows = await trainGrpo({
      policy,
      ref,
      reward: countGood,
      prompts: PROMPTS,
      config: { ...SMALL, seed },
      progress: false,
    });
    const params = snapshot(policy);
    policy.dispose();
    ref.dispose();
    // Wall-clock columns differ between runs by design.
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

Deno.test("trainGrpo(): a group of equal rewards has advantage 0, so nothing moves (β = 0, or k3 at π = π_ref)", async () => {
  for (
    const config of [
      { ...SMALL, beta: 0 },
      { ...SMALL, beta: 0.5 }, // k3's gradient 1 − π_ref/π vanishes where π = π_ref
      { ...SMALL, beta: 0.5, klPlacement: "reward" as const }, // k1 = 0 exactly: R is constant
      { ...SMALL, beta: 0, ...DR_GRPO_CONFIG },
    ]
  ) {
    const { policy, ref } = policyAndRef();
    const before = snapshot(policy);
    const rows = await trainGrpo({
      policy,
      ref,
      reward: constant,
      prompts: PROMPTS,
      config,
      progress: false,
    });
    assertEquals(changed(before, snapshot(policy)), [], JSON.stringify(config));
    assertEquals(rows.map((r) => r["grpo/zero_std_frac"]), [1, 1, 1]);
    assertEquals(rows.map((r) => r["kl/ref"]), [0, 0, 0]);
    policy.dispose();
    ref.dispose();
  }
});

Deno.test("trainGrpo() and Dr. GRPO raise the reward on a task they can learn", async () => {
  for (const extra of [{}, DR_GRPO_CONFIG]) {
    const { policy, ref } = policyAndRef();
    const rows: MetricRow[] = [];
    await trainGrpo({
      policy,
      ref,
      reward: countGood,
      prompts: PROMPTS,
      config: { ...SMALL, iterations: 12, promptsPerIteration: 4, beta: 0.01, ...extra },
      onRow: (r) => rows.push(r),
      progress: false,
    });
    const first = meanOf(rows.slice(0, 3), "reward/score");
    const last = meanOf(rows.slice(-3), "reward/score");
    assertGreater(last, first + 0.1, `${JSON.stringify(extra)}: reward ${first} → ${last}`);
    policy.dispose();
    ref.dispose();
  }
});

Deno.test("trainGrpo() evaluates every evalEvery iterations and at the last, and reports samples", async () => {
  const { policy, ref } = policyAndRef();
  const evaluated: number[] = [];
  const sampled: number[] = [];
  const rows = await trainGrpo({
    policy,
    ref,
    reward: countGood,
    prompts: PROMPTS,
    config: { ...SMALL, iterations: 5, evalEvery: 2, sampleEvery: 2 },
    evaluate: (done) => {
      evaluated.push(done);
      return Promise.resolve({ "eval/gold": done });
    },
    onSamples: (ss) => sampled.push(ss[0]!.step),
    progress: false,
  });
  assertEquals(evaluated, [2, 4, 5]);
  assertEquals(sampled, [1, 3, 5]);
  assertEquals(rows.filter((r) => "eval/gold" in r).map((r) => r.step), [2, 4, 5]);
  policy.dispose();
  ref.dispose();
});

Deno.test("trainGrpo() stops with a NumericalError naming a NaN reward", async () => {
  const { policy, ref } = policyAndRef();
  await assertRejects(
    () =>
      trainGrpo({
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

Deno.test("grpoConfig() names the field and the value of a bad setting", () => {
  assertThrows(
    () => grpoConfig({ groupSize: 1 }),
    ConfigError,
    "grpo.groupSize must be an integer >= 2, got 1",
  );
  assertThrows(
    () => grpoConfig({ klPlacement: "advantage" as "loss" }),
    ConfigError,
    'grpo.klPlacement must be one of "loss", "reward", got "advantage"',
  );
  assertThrows(
    () => grpoConfig({ beta: -0.1 }),
    ConfigError,
    "grpo.beta must be a number >= 0, got -0.1",
  );
  assertThrows(
    () => grpoConfig({ aggregation: "mean" as "dr_grpo" }),
    ConfigError,
    'grpo.aggregation must be one of "sequence_mean", "token_mean", "dr_grpo", got "mean"',
  );
});

Deno.test("groupStats() averages the groups' std and counts the groups of equal rewards", () => {
  const s = groupStats([1, 3, 2, 2], 2); // stds √2 and 0
  assertEquals(s.zeroStdFraction, 0.5);
  assertEquals(s.meanStd, Math.SQRT2 / 2);
});
