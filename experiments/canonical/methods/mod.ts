/**
 * The registry of the canonical experiment's methods: each method name → the spec that
 * builds its run config and trains it.
 *
 * @module
 */
import type { Method } from "../config.ts";
import type { MethodRunConfig, MethodSpec } from "./types.ts";
import { PPO_SPEC } from "./ppo.ts";
import { DPO_SPEC } from "./dpo.ts";
import { BON_SPEC } from "./bon.ts";

export type { MethodContext, MethodRunConfig, MethodSpec, Trained } from "./types.ts";
export { ppoRunConfig } from "./ppo.ts";
export { dpoRunConfig } from "./dpo.ts";
export { bonRunConfig } from "./bon.ts";

// Each spec narrows its own run config; the registry sees them through the common base.
const spec = <R extends MethodRunConfig>(s: MethodSpec<R>) => s as unknown as MethodSpec;

/** Method → spec. */
export const METHOD_SPECS: Readonly<Record<Method, MethodSpec>> = {
  ppo: spec(PPO_SPEC),
  ppo_gt: spec(PPO_SPEC),
  dpo: spec(DPO_SPEC),
  cdpo: spec(DPO_SPEC),
  ipo: spec(DPO_SPEC),
  hinge: spec(DPO_SPEC),
  simpo: spec(DPO_SPEC),
  bon: spec(BON_SPEC),
};
