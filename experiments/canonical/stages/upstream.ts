/**
 * The upstream chain every method run reads, in order:
 *
 *   data → base LM → SFT → preferences → reward model
 *                              └──→ reference log-probs of the pairs (DPO family and KTO)
 *
 * Each stage is cached by its key config and its inputs' keys (lib/sweep/stage_cache.ts),
 * so two grid points that agree on a stage's config share it, and a grid over an upstream
 * field (`--prefs.tau 0.05,0.1`) forks exactly the stages downstream of it.
 * {@link upstreamKeys} computes the keys without running anything, for planning.
 *
 * @module
 */
import { type CanonicalConfig, DPO_FAMILY } from "../config.ts";
import { stageKey, type StageResult } from "../../../lib/sweep/stage_cache.ts";
import { dataStage, dataStageConfig } from "./data.ts";
import { baseStage, baseStageConfig, sftStage, sftStageConfig } from "./lm.ts";
import { prefsStage, prefsStageConfig, rmStage, rmStageConfig } from "./feedback.ts";
import { refsStage, refsStageConfig } from "./refs.ts";

/** Names of the upstream stages, in order. */
export const UPSTREAM_STAGES = ["data", "base", "sft", "prefs", "rm", "refs"] as const;
/** An upstream stage's name. */
export type UpstreamStage = (typeof UPSTREAM_STAGES)[number];

/**
 * Keys and directories of the finished upstream stages (`refs` only when a DPO-family
 * method or KTO runs at that point).
 */
export type Upstream = Record<Exclude<UpstreamStage, "refs">, StageResult> & {
  refs?: StageResult;
};

/** The keys of the upstream stages of a config, computed without running them. */
export async function upstreamKeys(c: CanonicalConfig): Promise<Record<UpstreamStage, string>> {
  const data = await stageKey("data", dataStageConfig(c));
  const base = await stageKey("base", baseStageConfig(c), { data });
  const sft = await stageKey("sft", sftStageConfig(c), { data, base });
  const prefs = await stageKey("prefs", prefsStageConfig(c), { data, sft });
  const rm = await stageKey("rm", rmStageConfig(c), { data, sft, prefs });
  const refs = await stageKey("refs", refsStageConfig(c), { data, sft, prefs });
  return { data, base, sft, prefs, rm, refs };
}

/** Run (or reuse) every upstream stage in order. */
export async function runUpstream(
  root: string,
  c: CanonicalConfig,
  log: (m: string) => void = (m) => console.error(m),
): Promise<Upstream> {
  const data = await dataStage(root, c, log);
  const base = await baseStage(root, c, data, log);
  const sft = await sftStage(root, c, data, base, log);
  const prefs = await prefsStage(root, c, data, sft, log);
  const rm = await rmStage(root, c, data, sft, prefs, log);
  const needsRefs = c.methods.some((m) => DPO_FAMILY[m] !== undefined || m === "kto");
  const refs = needsRefs ? await refsStage(root, c, data, sft, prefs, log) : undefined;
  return { data, base, sft, prefs, rm, ...(refs ? { refs } : {}) };
}
