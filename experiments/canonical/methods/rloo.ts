/**
 * RLOO against the reward model, standardised on SFT samples like PPO's, with `rloo.beta`
 * as the knob. The KL goes into the sequence reward (k1), so β prices a nat of KL in
 * standard deviations of the reward exactly as PPO's does: RLOO and PPO at one β target
 * the same π*_β.
 *
 * @module
 */
import type { CanonicalConfig, Method } from "../config.ts";
import { type RlooConfig, trainRloo } from "../../../lib/train/rloo.ts";
import { scaledRewardSource } from "../../../lib/train/reward_scale.ts";
import { evalConfig, type MethodRunConfig, type MethodSpec } from "./types.ts";
import { trainOnlineMethod } from "./online.ts";

/** The typed config of one RLOO run. */
export interface RlooRunConfig extends MethodRunConfig {
  /** The method. */
  readonly method: "rloo";
  /** The trainer's config, β and seed included. */
  readonly trainer: RlooConfig;
}

/** One grid point → the RLOO run config (the trainer's seed is the point's). */
export function rlooRunConfig(c: CanonicalConfig): RlooRunConfig {
  return { method: "rloo", trainer: { ...c.rloo, seed: c.seed }, eval: evalConfig(c) };
}

/** RLOO. */
export const RLOO_SPEC: MethodSpec<RlooRunConfig> = {
  knob: "rloo.beta",
  inputs: ["data", "sft", "rm"],
  runConfig: (c: CanonicalConfig, method: Method) => {
    if (method !== "rloo") throw new RangeError(`${method} is not RLOO`);
    return rlooRunConfig(c);
  },
  train: (ctx, run) =>
    trainOnlineMethod(ctx, (parts) =>
      trainRloo({
        ...parts,
        reward: scaledRewardSource(ctx.proxy, ctx.scales.proxy),
        rewardMetric: "reward/score",
        config: run.trainer,
      })),
};
