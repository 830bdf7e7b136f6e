/**
 * Models: the causal transformer LM, the scalar-head model and checkpoints.
 *
 * @module
 */
export * from "./causal_lm.ts";
export * from "./checkpoint.ts";
export * from "./config.ts";
export * from "./layers.ts";
export * from "./params.ts";
export * from "./sampling.ts";
export * from "./scalar_head.ts";
export * from "./transformer.ts";
