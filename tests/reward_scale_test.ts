import {
  checkRewardScale,
  estimateRewardScale,
  scaledRewardSource,
} from "../lib/train/reward_scale.ts";
import type { RewardSource } from "../lib/train/rollout.ts";
import { responseBatch } from "../lib/data/response_batch.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  assertAllClose,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertThrows,
} from "./assert.ts";

/** Reward: the response's first token minus 10 (so rows can be given any value by hand). */
const firstToken: RewardSource = (_p, ys) =>
  Promise.resolve(Float32Array.from(ys, (y) => y[0]! - 10));
const prompts = [[1], [1, 4], [1], [1, 5]];
const responses = [[11], [13], [12, 2], [16]]; // rewards 1, 3, 2, 6

Deno.test("estimateRewardScale() gives the mean and sample standard deviation by hand", async () => {
  // μ = 12/4 = 3; Σ(r − μ)² = 4 + 0 + 1 + 9 = 14; σ = √(14/3)
  const s = await estimateRewardScale(firstToken, prompts, responses, { context: 8 });
  assertEquals(s.mean, 3);
  assertAlmostEquals(s.std, Math.sqrt(14 / 3), 1e-15);
  assertEquals(s.count, 4);
  const chunked = await estimateRewardScale(firstToken, prompts, responses, {
    context: 8,
    batchSize: 3,
  });
  assertEquals(chunked, s, "chunking does not change the estimate");
});

Deno.test("scaledRewardSource() returns (r − μ)/σ: mean 0 and standard deviation 1 on the estimation set", async () => {
  const s = await estimateRewardScale(firstToken, prompts, responses, { context: 8 });
  const scaled = scaledRewardSource(firstToken, s);
  const r = Array.from(await scaled(prompts, responses, responseBatch(prompts, responses, 8)));
  const sigma = Math.sqrt(14 / 3);
  assertAllClose(r, [-2 / sigma, 0, -1 / sigma, 3 / sigma], 1e-6);
  const again = await estimateRewardScale(scaled, prompts, responses, { context: 8 });
  assertAlmostEquals(again.mean, 0, 1e-7);
  assertAlmostEquals(again.std, 1, 1e-6);
});

Deno.test("a RewardScale round-trips through JSON and bad ones are named", async () => {
  const s = await estimateRewardScale(firstToken, prompts, responses, { context: 8 });
  assertEquals(checkRewardScale(JSON.parse(JSON.stringify(s))), s);
  assertThrows(
    () => checkRewardScale({ mean: 0, std: 0, count: 4 }),
    ConfigError,
    "rewardScale.std must be a finite number > 0, got 0",
  );
  assertThrows(
    () => checkRewardScale({ mean: null, std: 1, count: 4 }),
    ConfigError,
    "rewardScale.mean",
  );
  assertThrows(
    () => checkRewardScale({ mean: 0, std: 1, count: 1.5 }),
    ConfigError,
    "rewardScale.count",
  );
  assertThrows(() => checkRewardScale("x"), ConfigError, "must be {mean, std, count}");
  assertThrows(
    () => scaledRewardSource(firstToken, { mean: 0, std: -1, count: 3 }),
    ConfigError,
    "std",
  );
});

Deno.test("estimateRewardScale() rejects a constant reward, too few rows and non-finite scores", async () => {
  const constant: RewardSource = (p) => Promise.resolve(new Float32Array(p.length).fill(0.5));
  await assertRejects(
    () => estimateRewardScale(constant, prompts, responses, { context: 8 }),
    ConfigError,
    "the reward is constant (0.5) on all 4 completions",
  );
  await assertRejects(
    () => estimateRewardScale(firstToken, [[1]], [[12]], { context: 8 }),
    ConfigError,
    "at least 2 completions, got 1",
  );
  const nan: RewardSource = (p) => Promise.resolve(new Float32Array(p.length).fill(NaN));
  await assertRejects(
    () => estimateRewardScale(nan, prompts, responses, { context: 8 }),
    ConfigError,
    "the reward of row 0 is NaN",
  );
  await assertRejects(
    () => estimateRewardScale(firstToken, prompts, responses.slice(1), { context: 8 }),
    ConfigError,
    "4 prompts but 3 responses",
  );
});
