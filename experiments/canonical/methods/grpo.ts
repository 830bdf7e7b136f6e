/**
 * GRPO (`grpo`) and Dr. GRPO (`dr_grpo`) against the reward model, standardised on SFT
 * samples like PPO's, with `grpo.beta` as the knob. Dr. GRPO is the `grpo` section with
 * Liu et al.'s two changes (no division by the group's std, the `dr_grpo` aggregation).
 *
 * What β means here. With the paper's defaults the KL goes per token into the loss (k3)
 * and the advantage is divided by the group's std, which makes the reward's scale
 * irrelevant: one β then weighs the KL against advantages of unit spread, not against the
 * standardised reward as in PPO, so GRPO at β and PPO at β are not the same KL price. Dr.
 * GRPO with `grpo.klPlacement reward` prices KL exactly as PPO does (the token-level exact
 * task, `deno task sweep token`, measures how far each placement lands from π*_β).
 *
 * @module
 */
import type { CanonicalConfig, Method } from "../config.ts";
import { DR_GRPO_CONFIG, type GrpoConfig, trainGrpo } from "../../../lib/train/grpo.ts";
import { scaledRewardSource } from "../../../lib/train/reward_scale.ts";
import { evalConfig, type MethodRunConfig, type MethodSpec } from "./types.ts";
import { trainOnlineMethod } from "./online.ts";

/** The typed config of one GRPO or Dr. GRPO run. */
export interface GrpoRunConfig extends MethodRunConfig {
  /** `grpo` (the paper's) or `dr_grpo` (no std division, constant normaliser). */
  readonly method: "grpo" | "dr_grpo";
  /** The trainer's config, β and seed included. */
  readonly trainer: GrpoConfig;
}

/** One grid point → the run config of GRPO or Dr. GRPO (the trainer's seed is the point's). */
export function grpoRunConfig(c: CanonicalConfig, method: "grpo" | "dr_grpo"): GrpoRunConfig {
  const drGrpo = method === "dr_grpo" ? DR_GRPO_CONFIG : {};
  return { method, trainer: { ...c.grpo, ...drGrpo, seed: c.seed }, eval: evalConfig(c) };
}

/** GRPO and Dr. GRPO. */
export const GRPO_SPEC: MethodSpec<GrpoRunConfig> = {
  knob: "grpo.beta",
  inputs: ["data", "sft", "rm"],
  runConfig: (c: CanonicalConfig, method: Method) => {
    if (method !== "grpo" && method !== "dr_grpo") throw new RangeError(`${method} is not GRPO`);
    return grpoRunConfig(c, method);
  },
  train: (ctx, run) =>
    trainOnlineMethod(ctx, (parts) =>
      trainGrpo({
        ...parts,
        reward: scaledRewardSource(ctx.proxy, ctx.scales.proxy),
        rewardMetric: "reward/score",
        config: run.trainer,
      })),
};
