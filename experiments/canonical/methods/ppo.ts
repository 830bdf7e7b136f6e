/**
 * PPO against the reward model (`ppo`) and against the hidden gold reward (`ppo_gt`, an
 * upper reference: what PPO reaches when the reward is not a learned proxy). Either reward
 * is standardised on SFT samples before training, so `ppo.beta` prices a nat of KL in
 * standard deviations of the reward, as for every other method.
 *
 * @module
 */
import type { CanonicalConfig, Method } from "../config.ts";
import type { PpoConfig } from "../../../lib/train/ppo_config.ts";
import { trainPpo } from "../../../lib/train/ppo.ts";
import { ScalarModel } from "../../../lib/models/scalar_head.ts";
import { scaledRewardSource } from "../../../lib/train/reward_scale.ts";
import { trainOnlineMethod } from "./online.ts";
import { evalConfig, type MethodRunConfig, type MethodSpec } from "./types.ts";

/** The typed config of one PPO run. */
export interface PpoRunConfig extends MethodRunConfig {
  /** `ppo` trains on the reward model, `ppo_gt` on the gold reward. */
  readonly method: "ppo" | "ppo_gt";
  /** The trainer's config, β and seed included. */
  readonly trainer: PpoConfig;
  /** Value model initialisation. */
  readonly valueInit: "reward" | "sft";
}

/** One grid point → the PPO run config (the trainer's seed is the point's seed). */
export function ppoRunConfig(c: CanonicalConfig, method: "ppo" | "ppo_gt"): PpoRunConfig {
  const { valueInit, ...trainer } = c.ppo;
  return { method, trainer: { ...trainer, seed: c.seed }, valueInit, eval: evalConfig(c) };
}

/** PPO and PPO-GT. */
export const PPO_SPEC: MethodSpec<PpoRunConfig> = {
  knob: "ppo.beta",
  inputs: ["data", "sft", "rm"],
  runConfig: (c: CanonicalConfig, method: Method) => {
    if (method !== "ppo" && method !== "ppo_gt") throw new RangeError(`${method} is not PPO`);
    return ppoRunConfig(c, method);
  },
  train: async (ctx, run) => {
    const value = run.valueInit === "reward"
      ? ctx.rm.clone(true)
      : ScalarModel.fromLM(ctx.sft, run.trainer.seed);
    // PPO trains on the (standardised) reward model, PPO-GT on the (standardised) gold
    // reward; both watch both in their own units.
    const reward = run.method === "ppo"
      ? scaledRewardSource(ctx.proxy, ctx.scales.proxy)
      : scaledRewardSource(ctx.gold, ctx.scales.gold);
    try {
      return await trainOnlineMethod(
        ctx,
        (parts) =>
          trainPpo({ ...parts, value, reward, rewardMetric: "reward/score", config: run.trainer }),
      );
    } finally {
      value.dispose();
    }
  },
};
