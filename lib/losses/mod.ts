/**
 * Losses: pure tensor math of SFT, reward modelling, PPO, KL estimation and the DPO family.
 *
 * @module
 */
export * from "./dpo.ts";
export * from "./kl.ts";
export * from "./ppo.ts";
export * from "./reward.ts";
export * from "./sft.ts";
