import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { rlooConfig, trainRloo } from "../lib/train/rloo.ts";
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
  constant,
  countGood,
  meanOf,
  nanReward,
  policyAndRef,
  PROMPTS,
  snapshot,
} from "./_online.ts";

await initBackend("cpu");

const SMALL = rlooConfig({
  iterations: 3,
  promptsPerIteration: 2,
  k: 4,
  maxNewTokens: 4,
  minibatchSize: 4,
  lr: 3e-3,
  sampleEvery: 0,
});

Deno.test("trainRloo() changes every parameter, logs finite rows and keeps the tensor count flat", async () => {
  const { policy, ref } = policyAndRef();
  const before = snapshot(policy);
  await trainRloo({
    policy,
    ref,
    reward: countGood,
    prompts: PROMPTS,
    config: SMALL,
    progress: false,
  });
  assertEquals(changed(before, snapshot(policy)).length, before.size, "every parameter moved");
  const tensors = tf.memory().numTensors;
  const rows = await trainRloo({
    policy,
    ref,
    reward: countGood,
    monitors: { "reward/gold": countGood },
    prompts: PROMPTS,
    config: { ...SMALL, variant: "reinforce", epochs: 1 },
    progress: false,
  });
  assertEquals(tf.memory().numTensors, tensors, "tensor count grew across RLOO iterations");
  assertEquals(rows.map((r) => r.step), [1, 2, 3]);
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) assert(Number.isFinite(v), `${k} = ${v}`);
    for (const k of ["loss/policy", "reward/score", "reward/gold", "kl/ref", "rloo/clip_frac"]) {
      assert(k in row, `${k} missing`);
    }
    assertEquals(row["rloo/clip_frac"], 0, "REINFORCE never clips");
  }
  policy.dispose();
  ref.dispose();
});

Deno.test("trainRloo() is deterministic with a seed and the seed matters", async () => {
  const once = async (seed: number) => {
    const { policy, ref } = policyAndRef();
    const rows = await trainRloo({
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

Deno.test("trainRloo(): equal rewards give leave-one-out advantages of 0, so nothing moves", async () => {
  for (
    const config of [SMALL, { ...SMALL, beta: 0 }, {
      ...SMALL,
      variant: "reinforce" as const,
      epochs: 1,
    }]
  ) {
    const { policy, ref } = policyAndRef();
    const before = snapshot(policy);
    const rows = await trainRloo({
      policy,
      ref,
      reward: constant,
      prompts: PROMPTS,
      config,
      progress: false,
    });
    assertEquals(changed(before, snapshot(policy)), [], JSON.stringify(config));
    // π = π_ref throughout, so k1 = 0 and R = r = 0.3 in every row.
    assertEquals(
      rows.map((r) => Math.fround(r["rloo/reward_penalised"]!)),
      [0.3, 0.3, 0.3].map(Math.fround),
    );
    policy.dispose();
    ref.dispose();
  }
});

Deno.test("trainRloo() raises the reward with REINFORCE and with the clipped ratio", async () => {
  for (const extra of [{}, { variant: "reinforce" as const, epochs: 1 }]) {
    const { policy, ref } = policyAndRef();
    const rows: MetricRow[] = [];
    await trainRloo({
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

Deno.test("trainRloo() reads log π at the sampling temperature: on fresh samples the ratio is 1 at τ = 0.7", async () => {
  const { policy, ref } = policyAndRef();
  // One pass, one step per iteration: every ratio is taken before the policy moves.
  const rows = await trainRloo({
    policy,
    ref,
    reward: countGood,
    prompts: PROMPTS,
    config: { ...SMALL, temperature: 0.7, epochs: 1, minibatchSize: 8 },
    progress: false,
  });
  for (const r of rows) assertAlmostEquals(r["rloo/ratio_mean"]!, 1, 1e-5);
  assertEquals(rows.map((r) => r["train/updates"]), [1, 1, 1]);
  policy.dispose();
  ref.dispose();
});

Deno.test("trainRloo() stops with a NumericalError naming a NaN reward", async () => {
  const { policy, ref } = policyAndRef();
  await assertRejects(
    () =>
      trainRloo({
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

Deno.test("rlooConfig() names the field and the value of a bad setting", () => {
  assertThrows(() => rlooConfig({ k: 1 }), ConfigError, "rloo.k must be an integer >= 2, got 1");
  assertThrows(
    () => rlooConfig({ variant: "reinforce", epochs: 2 }),
    ConfigError,
    'rloo.epochs must be 1 with rloo.variant "reinforce", got 2',
  );
  assertThrows(
    () => rlooConfig({ klEstimator: "full" as "k1" }),
    ConfigError,
    'rloo.klEstimator must be one of "k1", "k2", "k3", got "full"',
  );
});
