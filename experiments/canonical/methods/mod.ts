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
import { GRPO_SPEC } from "./grpo.ts";
import { RLOO_SPEC } from "./rloo.ts";
import { ONLINE_DPO_SPEC } from "./online_dpo.ts";
import { KTO_SPEC } from "./kto.ts";

export type { MethodContext, MethodRunConfig, MethodSpec, Trained } from "./types.ts";
export { ppoRunConfig } from "./ppo.ts";
export { dpoRunConfig } from "./dpo.ts";
export { bonRunConfig } from "./bon.ts";
export { grpoRunConfig } from "./grpo.ts";
export { rlooRunConfig } from "./rloo.ts";
export { onlineDpoRunConfig } from "./online_dpo.ts";
export { ktoRunConfig } from "./kto.ts";

// Each spec narrows its own run config; the registry sees them through the common base.
const spec = <R extends MethodRunConfig>(s: MethodSpec<R>) => s as unknown as MethodSpec;

/** Method → spec. */
export const METHOD_SPECS: Readonly<Record<Method, MethodSpec>> = {
  ppo: spec(PPO_SPEC),
  ppo_gt: spec(PPO_SPEC),
  grpo: spec(GRPO_SPEC),
  dr_grpo: spec(GRPO_SPEC),
  rloo: spec(RLOO_SPEC),
  online_dpo: spec(ONLINE_DPO_SPEC),
  dpo: spec(DPO_SPEC),
  cdpo: spec(DPO_SPEC),
  ipo: spec(DPO_SPEC),
  hinge: spec(DPO_SPEC),
  simpo: spec(DPO_SPEC),
  kto: spec(KTO_SPEC),
  bon: spec(BON_SPEC),
};
