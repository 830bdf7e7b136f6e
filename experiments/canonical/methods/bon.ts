/**
 * Best-of-n: n SFT completions per held-out prompt, the one the reward model (or the gold
 * reward) ranks first kept. Nothing trains; its KL to the SFT policy is the analytic
 * log n − (n−1)/n.
 *
 * Every n of a grid reads one pool of `bon.poolSize` scored candidates per seed (a cached
 * stage, `bon-pool`): best-of-n takes the first n of each prompt's candidates, n i.i.d.
 * draws as a fresh sample would be, at the cost of one draw for the whole n grid.
 *
 * @module
 */
import { join } from "node:path";
import type { CanonicalConfig } from "../config.ts";
import {
  bestOfNFromPool,
  type CandidatePool,
  checkCandidatePool,
  sampleCandidatePool,
} from "../../../lib/eval/best_of_n_pool.ts";
import { readJson, writeJson } from "../../../lib/sweep/json_file.ts";
import { runStage } from "../../../lib/sweep/stage_cache.ts";
import { STAGE_FORMAT } from "../stages/data.ts";
import { evalConfig, type MethodRunConfig, type MethodSpec } from "./types.ts";

/** The typed config of one best-of-n run. */
export interface BonRunConfig extends MethodRunConfig {
  /** The method. */
  readonly method: "bon";
  /** Candidates per prompt. */
  readonly n: number;
  /** Candidates in the shared pool (n ≤ poolSize). */
  readonly poolSize: number;
  /** What ranks the candidates. */
  readonly selectBy: "proxy" | "gold";
  /** Seed of the candidates. */
  readonly seed: number;
}

/** One grid point → the best-of-n run config. */
export function bonRunConfig(c: CanonicalConfig): BonRunConfig {
  return {
    method: "bon",
    n: c.bon.n,
    poolSize: c.bon.poolSize,
    selectBy: c.bon.selectBy,
    seed: c.seed,
    eval: evalConfig(c),
  };
}

/** Best-of-n against the SFT policy. */
export const BON_SPEC: MethodSpec<BonRunConfig> = {
  knob: "bon.n",
  inputs: ["data", "sft", "rm"],
  runConfig: (c) => bonRunConfig(c),
  train: async (ctx, run) => {
    const { poolSize, selectBy, seed, eval: ev } = run;
    const u = ctx.upstream;
    const stage = await runStage({
      root: ctx.cacheRoot,
      name: "bon-pool",
      config: { poolSize, selectBy, seed, eval: ev, format: STAGE_FORMAT },
      inputs: { data: u.data.key, sft: u.sft.key, rm: u.rm.key },
      log: ctx.log,
      run: async (dir) => {
        const pool = await sampleCandidatePool({
          policy: ctx.sft,
          prompts: ctx.data.evalPrompts,
          size: poolSize,
          maxNewTokens: ev.maxNewTokens,
          select: selectBy === "gold" ? ctx.gold : ctx.proxy,
          selectIsProxy: selectBy === "proxy",
          gold: ctx.gold,
          proxy: ctx.proxy,
          seed,
          progress: `bon pool · ${poolSize} candidates on ${ctx.data.evalPrompts.length} prompts`,
        });
        await writeJson(join(dir, "pool.json"), pool);
      },
    });
    const path = join(stage.dir, "pool.json");
    const pool = checkCandidatePool(await readJson<CandidatePool>(path), path);
    return { rows: [], samples: [], evaluation: bestOfNFromPool(pool, run.n) };
  },
};
