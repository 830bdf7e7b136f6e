/**
 * The benchmark: named sections timing training and sampling on the active backend, the
 * no-cache sampling baseline, and timing helpers. `experiments/bench.ts` is its CLI.
 *
 * @module
 */
export * from "./nocache_sampling.ts";
export * from "./sections.ts";
export * from "./timing.ts";
