/**
 * Trainers: AdamW, schedules, the shared loop, and one trainer per method.
 *
 * @module
 */
export * from "./adamw.ts";
export type { BanditResult } from "./_bandit_policy.ts";
export * from "./bandit_dpo.ts";
export * from "./bandit_ppo.ts";
export * from "./dpo.ts";
export * from "./group_rollout.ts";
export * from "./grpo.ts";
export * from "./kl_controller.ts";
export * from "./kto.ts";
export * from "./loop.ts";
export * from "./loop_config.ts";
export * from "./metrics.ts";
export * from "./online_dpo.ts";
export * from "./online_loop.ts";
export * from "./perplexity.ts";
export * from "./ppo.ts";
export * from "./ppo_advantages.ts";
export * from "./ppo_config.ts";
export * from "./response_log_probs.ts";
export * from "./reward_model.ts";
export * from "./reward_scale.ts";
export * from "./rloo.ts";
export * from "./rollout.ts";
export * from "./schedule.ts";
export * from "./sft.ts";
export * from "./text_reward.ts";
export type { TokenTrainResult } from "./_token_policy.ts";
export * from "./token_grpo.ts";
export * from "./token_kto.ts";
export * from "./token_online_dpo.ts";
export * from "./token_ppo.ts";
export * from "./token_rloo.ts";
