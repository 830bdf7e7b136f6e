import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/mod.ts";
import { CausalLM } from "../lib/models/causal_lm.ts";
import { ScalarModel } from "../lib/models/scalar_head.ts";
import { responseBatch, type TokenPair } from "../lib/data/response_batch.ts";
import { ppoConfig } from "../lib/train/ppo_config.ts";
import { trainPpo } from "../lib/train/ppo.ts";
import type { RewardSource } from "../lib/train/rollout.ts";
import {
  cacheReferenceLogProbs,
  dpoConfig,
  implicitRewardAccuracy,
  refLogProbsFromJSON,
  refLogProbsToJSON,
  selectCachedPairs,
  trainDpo,
} from "../lib/train/dpo.ts";
import { pairAccuracy, rewardModelConfig, trainRewardModel } from "../lib/train/reward_model.ts";
import { Rng } from "../lib/util/rng.ts";
import { ConfigError, NumericalError } from "../lib/util/errors.ts";
import {
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertRejects,
  assertThrows,
} from "./assert.ts";
import { checkRejections } from "./_bad_input.ts";

await initBackend("wasm");

const tiny = { vocabSize: 20, dModel: 16, nLayers: 1, nHeads: 2, context: 12, dropout: 0 };
const GOOD = 7;

/** Reward: the fraction of response tokens equal to GOOD. */
const countGood: RewardSource = (_p, responses) =>
  Promise.resolve(
    Float32Array.from(responses, (r) => r.filter((t) => t === GOOD).length / r.length),
  );

const prompts = Array.from({ length: 8 }, (_, i) => [1, 4 + i]);

Deno.test("responseBatch() scores the last real token: EOS or the last generated token, never padding", () => {
  const b = responseBatch([[1, 5], [1, 5, 6]], [[7, 8, 2], [9]], 10);
  // row 0: BOS 5 7 8 EOS → last real token at index 4; row 1: BOS 5 6 9 PAD → index 3
  assertEquals(Array.from(b.lastToken), [4, 3]);
  assertEquals(Array.from(b.lastIndex), [3, 2]);
  assertEquals(b.tokens[1 * (b.length + 1) + 4], 0, "row 1 position 4 is padding");
  assertEquals(Array.from(b.mask), [0, 1, 1, 1, 0, 0, 1, 0]);
});

Deno.test("trainPpo() raises the reward and keeps the tensor count flat", async () => {
  const policy = CausalLM.create(tiny, 1);
  const ref = policy.clone(false);
  const value = ScalarModel.fromLM(policy, 2);
  const config = ppoConfig({
    iterations: 12,
    rolloutBatch: 32,
    maxNewTokens: 4,
    minibatchSize: 16,
    epochs: 2,
    lr: 3e-3,
    beta: 0.01,
    earlyStopKl: null,
    sampleEvery: 0,
  });
  await trainPpo({
    policy,
    ref,
    value,
    reward: countGood,
    prompts,
    config: { ...config, iterations: 1 },
    progress: false,
  });
  const before = tf.memory().numTensors;
  const rows = await trainPpo({
    policy,
    ref,
    value,
    reward: countGood,
    prompts,
    config,
    progress: false,
  });
  assertEquals(tf.memory().numTensors, before, "tensor count grew across PPO iterations");
  const first = rows.slice(0, 3).reduce((s, r) => s + r["reward/score"]!, 0) / 3;
  const last = rows.slice(-3).reduce((s, r) => s + r["reward/score"]!, 0) / 3;
  assertGreater(last, first + 0.1, `reward ${first} → ${last}`);
  assertGreater(rows.at(-1)!["kl/ref"]!, 0);
  for (const m of [policy, ref, value]) m.dispose();
});

Deno.test("trainPpo() stops with a NumericalError when the reward is NaN", async () => {
  const policy = CausalLM.create(tiny, 1);
  const ref = policy.clone(false);
  const value = ScalarModel.fromLM(policy, 2);
  const nan: RewardSource = (p) => Promise.resolve(new Float32Array(p.length).fill(NaN));
  await assertRejects(
    () =>
      trainPpo({
        policy,
        ref,
        value,
        reward: nan,
        prompts,
        config: ppoConfig({ iterations: 2, rolloutBatch: 4, maxNewTokens: 3 }),
        progress: false,
      }),
    NumericalError,
    "reward/score is NaN at step 0",
  );
  for (const m of [policy, ref, value]) m.dispose();
});

/** Pairs where the chosen response holds GOOD tokens and the rejected does not. */
function goodPairs(n: number, seed: number): TokenPair[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const prompt = [1, 4 + rng.int(8)];
    const other = () => 8 + rng.int(10);
    return {
      prompt,
      chosen: [GOOD, other(), GOOD, 2],
      rejected: [other(), other(), other(), 2],
    };
  });
}

Deno.test("trainRewardModel() separates a separable dataset", async () => {
  const lm = CausalLM.create(tiny, 3);
  const rm = ScalarModel.fromLM(lm, 4);
  const res = await trainRewardModel({
    model: rm,
    train: goodPairs(64, 1),
    val: goodPairs(32, 2),
    config: rewardModelConfig({ steps: 40, batchSize: 16, lr: 3e-3, logEvery: 10, evalEvery: 0 }),
    progress: false,
  });
  assertGreater(res.valAccuracy!, 0.95);
  assertGreater(await pairAccuracy(rm, goodPairs(32, 3)), 0.95);
  lm.dispose();
  rm.dispose();
});

Deno.test("trainDpo() raises the implicit-reward accuracy and margin", async () => {
  const policy = CausalLM.create(tiny, 5);
  const ref = policy.clone(false);
  const res = await trainDpo({
    policy,
    ref,
    train: goodPairs(64, 4),
    val: goodPairs(32, 5),
    config: dpoConfig({ steps: 30, batchSize: 16, lr: 3e-3, beta: 0.5, logEvery: 5 }),
    progress: false,
  });
  const rows = res.rows.filter((r) => "loss/dpo" in r);
  assertGreater(rows.at(-1)!["rewards/margin"]!, rows[0]!["rewards/margin"]!);
  assertGreater(res.valAccuracy!, 0.9);
  assertGreater(Math.LN2, rows.at(-1)!["loss/dpo"]!);
  policy.dispose();
  ref.dispose();
});

Deno.test("trainDpo({valSubset}) reads the first pairs before the last step and all at the end", async () => {
  const policy = CausalLM.create(tiny, 5);
  const ref = policy.clone(false);
  const val = await cacheReferenceLogProbs(ref, goodPairs(12, 5));
  const config = dpoConfig({
    steps: 6,
    batchSize: 8,
    lr: 3e-3,
    beta: 0.5,
    evalEvery: 3,
    logEvery: 3,
  });
  const seen: Record<number, number> = {};
  const res = await trainDpo({
    policy,
    ref,
    train: goodPairs(32, 4),
    val,
    config,
    valSubset: 5,
    // the same weights, read by hand on the first 5 pairs and on all 12
    evaluate: async (step) => {
      seen[step] = await implicitRewardAccuracy(
        policy,
        selectCachedPairs(val, [0, 1, 2, 3, 4]),
        config,
      );
      seen[-step] = await implicitRewardAccuracy(policy, val, config);
      return {};
    },
    progress: false,
  });
  const acc = Object.fromEntries(
    res.rows.filter((r) => "val/accuracy" in r).map((r) => [r.step, r["val/accuracy"]!]),
  );
  assertEquals(acc[3], seen[3]);
  assertEquals(acc[6], seen[-6]);
  assertEquals(res.valAccuracy, seen[-6]);
  policy.dispose();
  ref.dispose();
});

Deno.test("trainDpo() runs the policy pass without dropout: with dropout 0.5 the first step is at log 2 with accuracy ½", async () => {
  const policy = CausalLM.create({ ...tiny, dropout: 0.5 }, 5);
  const ref = policy.clone(false);
  const res = await trainDpo({
    policy,
    ref,
    train: goodPairs(16, 4),
    config: dpoConfig({ steps: 1, batchSize: 16, lr: 1e-3, beta: 0.5, logEvery: 1 }),
    progress: false,
  });
  // Before its first update the policy equals the reference, whose cached log-probs are
  // read without dropout: every implicit reward is 0, the loss −log σ(0), each pair a tie.
  const row = res.rows.find((r) => "loss/dpo" in r)!;
  assertAlmostEquals(row["loss/dpo"]!, Math.LN2, 1e-6);
  assertAlmostEquals(row["rewards/margin"]!, 0, 1e-6);
  assertAlmostEquals(row["rewards/accuracy"]!, 0.5, 1e-6);
  policy.dispose();
  ref.dispose();
});

/** Pairs labelled a tie, listed in the "wrong" order: trained on, they would hurt. */
function tiePairs(n: number, seed: number): TokenPair[] {
  return goodPairs(n, seed).map((p) => ({
    ...p,
    chosen: p.rejected,
    rejected: p.chosen,
    tie: true,
  }));
}

Deno.test("trainRewardModel() and pairAccuracy() leave pairs labelled a tie out", async () => {
  const config = rewardModelConfig({ steps: 6, batchSize: 8, logEvery: 2, evalEvery: 3 });
  const runWith = async (extra: TokenPair[]) => {
    const rm = ScalarModel.fromLM(CausalLM.create(tiny, 3), 4);
    const res = await trainRewardModel({
      model: rm,
      train: [...goodPairs(24, 1), ...extra],
      val: [...goodPairs(8, 2), ...extra],
      config,
      progress: false,
    });
    const acc = [
      await pairAccuracy(rm, goodPairs(8, 3)),
      await pairAccuracy(rm, [...goodPairs(8, 3), ...tiePairs(8, 4)]),
    ];
    rm.dispose();
    return { res, acc };
  };
  const plain = await runWith([]);
  const withTies = await runWith(tiePairs(16, 5));
  assertEquals(withTies.res, plain.res, "ties change nothing: not trained on, not counted");
  assertEquals(withTies.acc[1], withTies.acc[0]);
  const rm = ScalarModel.fromLM(CausalLM.create(tiny, 3), 4);
  await assertRejects(
    () => trainRewardModel({ model: rm, train: tiePairs(4, 1), config, progress: false }),
    ConfigError,
    "at least one untied training pair",
  );
  rm.dispose();
});

Deno.test("trainDpo() skips tie pairs and trains identically on precomputed reference log-probs", async () => {
  const config = dpoConfig({
    steps: 5,
    batchSize: 8,
    lr: 3e-3,
    beta: 0.5,
    logEvery: 1,
    evalEvery: 2,
  });
  const sft = CausalLM.create(tiny, 5);
  const train = goodPairs(24, 4), val = goodPairs(8, 5);
  const runWith = async (
    input: Pick<Parameters<typeof trainDpo>[0], "ref" | "train" | "val">,
  ) => {
    const policy = sft.clone(true);
    const evaluated: number[] = [];
    const res = await trainDpo({
      policy,
      ...input,
      config,
      evaluate: (step) => {
        evaluated.push(step);
        return Promise.resolve({ "eval/probe": step / 10 });
      },
      progress: false,
    });
    policy.dispose();
    // Timings (perf/…) differ between any two runs; every other number must not.
    const rows = res.rows.map((r) =>
      Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("perf/")))
    );
    return { res: { ...res, rows }, evaluated };
  };
  const plain = await runWith({ ref: sft, train, val });
  // The shared loop's evaluate fires every evalEvery steps and at the end.
  assertEquals(plain.evaluated, [2, 4, 5]);
  const evalRows = plain.res.rows.filter((r) => "val/accuracy" in r);
  assertEquals(evalRows.map((r) => [r.step, r["eval/probe"]]), [[2, 0.2], [4, 0.4], [5, 0.5]]);
  const ties = tiePairs(8, 6);
  const withTies = await runWith({ ref: sft, train: [...train, ...ties], val: [...val, ...ties] });
  assertEquals(withTies.res, plain.res, "tie pairs are neither trained on nor counted");
  const cache = {
    train: await cacheReferenceLogProbs(sft, train),
    val: await cacheReferenceLogProbs(sft, val),
  };
  const cached = await runWith({ train: cache.train, val: cache.val }); // no ref needed
  assertEquals(cached.res, plain.res);
  const saved = JSON.parse(JSON.stringify(refLogProbsToJSON(cache.train)));
  assertEquals(refLogProbsFromJSON(train, saved), cache.train, "float32 log-probs round-trip");
  const sub = selectCachedPairs(cache.train, [3, 0]);
  assertEquals(sub.pairs, [train[3]!, train[0]!]);
  assertEquals(Array.from(sub.refRejected), [
    cache.train.refRejected[3]!,
    cache.train.refRejected[0]!,
  ]);
  await assertRejects(
    () => runWith({ train }),
    ConfigError,
    "train pairs come without reference log-probs",
  );
  assertThrows(
    () => refLogProbsFromJSON(train.slice(1), saved),
    ConfigError,
    "23 pairs but 24 refChosen",
  );
  sft.dispose();
});

Deno.test("trainPpo() evaluates after every evalEvery iterations and the last, without changing training", async () => {
  const runWith = async (evalEvery: number, withEvaluate: boolean) => {
    const policy = CausalLM.create(tiny, 1);
    const ref = policy.clone(false);
    const value = ScalarModel.fromLM(policy, 2);
    const calls: number[] = [];
    const rows = await trainPpo({
      policy,
      ref,
      value,
      reward: countGood,
      prompts,
      config: ppoConfig({
        iterations: 5,
        rolloutBatch: 4,
        minibatchSize: 4,
        epochs: 1,
        maxNewTokens: 3,
        sampleEvery: 0,
        evalEvery,
      }),
      evaluate: withEvaluate
        ? (done) => {
          calls.push(done);
          return Promise.resolve({ "eval/reward/gold": done / 10 });
        }
        : undefined,
      progress: false,
    });
    for (const m of [policy, ref, value]) m.dispose();
    const numbers = rows.map((r) =>
      Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("perf/")))
    );
    return { rows: numbers, calls };
  };
  const evaluated = await runWith(2, true);
  assertEquals(evaluated.calls, [2, 4, 5]);
  const evalRows = evaluated.rows.filter((r) => "eval/reward/gold" in r);
  assertEquals(evalRows, [
    { step: 2, "eval/reward/gold": 0.2 },
    { step: 4, "eval/reward/gold": 0.4 },
    { step: 5, "eval/reward/gold": 0.5 },
  ]);
  // Each evaluation row follows its iteration's training row.
  assertEquals(evaluated.rows.map((r) => r.step), [1, 2, 2, 3, 4, 4, 5, 5]);
  const plain = await runWith(0, false);
  assertEquals(evaluated.rows.filter((r) => !("eval/reward/gold" in r)), plain.rows);
  assertEquals((await runWith(0, true)).calls, [], "evalEvery 0: never");
});

Deno.test("trainer configs name the field, the value and what is allowed", async (t) => {
  await checkRejections(t, [
    {
      name: "an unknown DPO loss type",
      call: () => dpoConfig({ lossType: "kto" as never }),
      cls: ConfigError,
      message: 'dpo.lossType must be one of "dpo", "ipo", "hinge", "simpo", got "kto"',
    },
    {
      name: "a DPO β of 0",
      call: () => dpoConfig({ beta: 0 }),
      cls: ConfigError,
      message: "dpo.beta must be a number > 0, got 0",
    },
    {
      name: "an unknown PPO KL estimator",
      call: () => ppoConfig({ klEstimator: "k4" as never }),
      cls: ConfigError,
      message: 'ppo.klEstimator must be one of "k1", "k2", "k3", "full", got "k4"',
    },
    {
      name: "an unknown PPO key",
      call: () => ppoConfig({ clip: 0.2 } as never),
      cls: ConfigError,
      message: "unknown key ppo.clip; known keys: iterations,",
    },
    {
      name: "a PPO key by its old name",
      call: () => ppoConfig({ klTarget: 6 } as never),
      cls: ConfigError,
      message: "unknown key ppo.klTarget; known keys: iterations,",
    },
    {
      name: "an adaptive KL target with β = 0",
      call: () => ppoConfig({ beta: 0, adaptiveKlTarget: 6 }),
      cls: ConfigError,
      message: "ppo.beta must be > 0 when ppo.adaptiveKlTarget is set (6)",
    },
    {
      name: "a negative reward-model margin",
      call: () => rewardModelConfig({ margin: -1 }),
      cls: ConfigError,
      message: "rm.margin must be a number >= 0, got -1",
    },
  ]);
});
