/**
 * Best-of-n: n SFT completions per held-out prompt, the one the reward model (or the gold
 * reward) ranks first kept. Nothing trains; its KL to the SFT policy is the analytic
 * log n − (n−1)/n.
 *
 * @module
 */
import type { CanonicalConfig } from "../config.ts";
import { bestOfN } from "../../../lib/eval/policy_eval.ts";
import { evalConfig, type MethodRunConfig, type MethodSpec } from "./types.ts";

/** The typed config of one best-of-n run. */
export interface BonRunConfig extends MethodRunConfig {
  /** The method. */
  readonly method: "bon";
  /** Candidates per prompt. */
  readonly n: number;
  /** What ranks the candidates. */
  readonly selectBy: "proxy" | "gold";
  /** Seed of the candidates. */
  readonly seed: number;
}

/** One grid point → the best-of-n run config. */
export function bonRunConfig(c: CanonicalConfig): BonRunConfig {
  return { method: "bon", n: c.bon.n, selectBy: c.bon.selectBy, seed: c.seed, eval: evalConfig(c) };
}

/** Best-of-n against the SFT policy. */
export const BON_SPEC: MethodSpec<BonRunConfig> = {
  knob: "bon.n",
  inputs: ["data", "sft", "rm"],
  runConfig: (c) => bonRunConfig(c),
  train: async (ctx, run) => {
    const evaluation = await bestOfN({
      policy: ctx.sft,
      prompts: ctx.data.evalPrompts,
      n: run.n,
      maxNewTokens: run.eval.maxNewTokens,
      select: run.selectBy === "gold" ? ctx.gold : ctx.proxy,
      gold: ctx.gold,
      proxy: ctx.proxy,
      seed: run.seed,
      progress: `${ctx.label} · best of ${run.n} on ${ctx.data.evalPrompts.length} prompts`,
    });
    return { rows: [], samples: [], evaluation };
  },
};
