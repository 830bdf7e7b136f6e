/**
 * Evaluation: policy metrics from samples, best-of-n, the exact oracles (bandit and token
 * level) and trainers' predicted fixed points, rank correlation.
 *
 * @module
 */
export * from "./best_of_n.ts";
export * from "./bootstrap.ts";
export * from "./convergence.ts";
export * from "./gao_fit.ts";
export * from "./oracle.ts";
export * from "./policy_eval.ts";
export * from "./rank.ts";
export * from "./text_metrics.ts";
export * from "./token_fixed_points.ts";
export * from "./token_oracle.ts";
export * from "./best_of_n_pool.ts";
