/**
 * Benchmark sections for the RLHF loops on the reference model: one PPO iteration
 * (rollout of 64 prompts + reference, value and reward-model passes + 4 epochs of
 * minibatch updates) and one DPO step (32 pairs, chosen and rejected in one pass), each
 * split into phases so the printout says where the time goes.
 *
 * @module
 */
import type { BenchEnv, BenchFigure, BenchSection } from "./section.ts";
import { measure, type MeasureOptions } from "./timing.ts";
import { CausalLM } from "../../lib/models/causal_lm.ts";
import { ScalarModel } from "../../lib/models/scalar_head.ts";
import { collectRollout, rewardModelSource } from "../../lib/train/rollout.ts";
import { ppoConfig } from "../../lib/train/ppo_config.ts";
import { trainPpo } from "../../lib/train/ppo.ts";
import { cacheReferenceLogProbs, dpoConfig, trainDpo } from "../../lib/train/dpo.ts";
import type { TokenPair } from "../../lib/data/response_batch.ts";
import { BOS_ID } from "../../lib/data/special_tokens.ts";
import { Rng } from "../../lib/util/rng.ts";

function reps(env: BenchEnv, normal: number): MeasureOptions {
  if (env.quick) return { warmup: 0, repeats: 1 };
  if (env.info.backend === "cpu") return { warmup: 0, repeats: 1 };
  return { warmup: 1, repeats: normal };
}

function randomIds(rng: Rng, n: number, v: number): number[] {
  return Array.from({ length: n }, () => 4 + rng.int(v - 4));
}

/** `ppo`: one PPO iteration, with its rollout and update phases. */
export const ppoSection: BenchSection = {
  name: "ppo",
  describe: "one PPO iteration: rollout of 64 prompts, ref/value/RM passes, 4 epochs of updates",
  async run(env) {
    const { sampleBatch: b, promptLength: p, newTokens: n } = env.workload;
    const rng = new Rng(5);
    const prompts = Array.from(
      { length: b },
      () => [BOS_ID, ...randomIds(rng, p - 1, env.model.vocabSize)],
    );
    const policy = CausalLM.create(env.model, 0);
    const ref = policy.clone(false);
    const value = ScalarModel.fromLM(policy, 1);
    const rm = ScalarModel.fromLM(policy, 2);
    const reward = rewardModelSource(rm);
    const config = ppoConfig({
      iterations: 1,
      rolloutBatch: b,
      maxNewTokens: n,
      epochs: 4,
      minibatchSize: 16,
      earlyStopKl: null,
      sampleEvery: 0,
    });
    try {
      let sampleMs = 0, tokens = 0;
      const rollout = await measure(async () => {
        const ro = await collectRollout({
          policy,
          ref,
          value,
          prompts,
          maxNewTokens: n,
          temperature: 1,
          klEstimator: "k1",
          reward,
          rng: new Rng(6),
        });
        sampleMs = ro.sampleSeconds * 1000;
        tokens = ro.batch.responseLengths.reduce((a, x) => a + x, 0);
      }, reps(env, 3));
      const iteration = await measure(
        () => trainPpo({ policy, ref, value, reward, prompts, config, progress: false }),
        reps(env, 3),
      );
      const rolloutMs = rollout.median;
      return [{
        id: "ppo",
        label: `PPO iteration: ${b} prompts × ≤${n} new tokens, 4 epochs of minibatches of 16`,
        tokensPerSecond: tokens / (iteration.median / 1000),
        tokensPerIteration: tokens,
        ms: iteration,
        phases: {
          sample: sampleMs,
          "policy/ref/value/RM passes": Math.max(0, rolloutMs - sampleMs),
          "4 epochs of updates": Math.max(0, iteration.median - rolloutMs),
        },
        compare: "tokens = response tokens of the rollout",
      }] satisfies BenchFigure[];
    } finally {
      for (const m of [policy, ref, value, rm]) m.dispose();
    }
  },
};

/** `dpo`: one DPO step on 32 pairs, and the one-off reference pass it caches. */
export const dpoSection: BenchSection = {
  name: "dpo",
  describe: "one DPO step on 32 pairs (chosen + rejected in one pass), and its reference cache",
  async run(env) {
    const { trainBatch: b, promptLength: p, newTokens: n } = env.workload;
    const rng = new Rng(7);
    const v = env.model.vocabSize;
    const pairs: TokenPair[] = Array.from({ length: b }, () => ({
      prompt: [BOS_ID, ...randomIds(rng, p - 1, v)],
      chosen: randomIds(rng, n, v),
      rejected: randomIds(rng, n, v),
    }));
    const policy = CausalLM.create(env.model, 0);
    const ref = policy.clone(false);
    const config = dpoConfig({ steps: 1, batchSize: b, warmupSteps: 0 });
    try {
      const cache = await measure(() => cacheReferenceLogProbs(ref, pairs), reps(env, 5));
      const step = await measure(
        () => trainDpo({ policy, ref, train: pairs, config, progress: false }),
        reps(env, 5),
      );
      const tokens = 2 * b * n;
      const stepMs = Math.max(1e-3, step.median - cache.median);
      return [{
        id: "dpo",
        label: `DPO step: ${b} pairs × ${n}-token responses (forward + backward + AdamW)`,
        tokensPerSecond: tokens / (stepMs / 1000),
        tokensPerIteration: tokens,
        ms: step,
        phases: { "reference pass (once per dataset)": cache.median, "policy step": stepMs },
        compare: "ms includes the reference pass; tokens/s is the step alone",
      }] satisfies BenchFigure[];
    } finally {
      policy.dispose();
      ref.dispose();
    }
  },
};
