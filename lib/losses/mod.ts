/**
 * Losses: pure tensor math of SFT, reward modelling, PPO, GRPO, RLOO, KTO, KL estimation and
 * the DPO family.
 *
 * @module
 */
export * from "./dpo.ts";
export * from "./grpo.ts";
export * from "./kl.ts";
export * from "./kto.ts";
export * from "./ppo.ts";
export * from "./reward.ts";
export * from "./rloo.ts";
export * from "./sft.ts";
