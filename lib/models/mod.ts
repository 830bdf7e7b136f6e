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
// Sampling's plumbing (left-padding, prefill, the cached decode loop) stays internal:
// `CausalLM.sample` is the entry point.
export { type Draw, type SampleOptions, type SampleResult, TokenDrawer } from "./sampling.ts";
export * from "./scalar_head.ts";
export * from "./transformer.ts";
