/**
 * The reference log-probabilities of the preference pairs: Σ log π_ref(y | x) of every
 * chosen and rejected completion under the SFT model, computed once per preference stage
 * and split, and shared by every DPO-family run (which would otherwise each recompute them
 * for all pairs while using a fraction).
 *
 * @module
 */
import { join } from "node:path";
import type { CanonicalConfig } from "../config.ts";
import { loadCheckpoint } from "../../../lib/models/checkpoint.ts";
import {
  cacheReferenceLogProbs,
  type RefCachedPairs,
  refLogProbsFromJSON,
  refLogProbsToJSON,
} from "../../../lib/train/dpo.ts";
import { readJson, writeJson } from "../../../lib/sweep/json_file.ts";
import { runStage, type StageResult } from "../../../lib/sweep/stage_cache.ts";
import { FileFormatError } from "../../../lib/util/errors.ts";
import { type CanonicalData, readData, STAGE_FORMAT } from "./data.ts";
import { preferencePairs, rmSeed, tokenPairs } from "./feedback.ts";

/** The refs stage's key config: the split it computes the pairs of. */
export function refsStageConfig(c: CanonicalConfig): Record<string, unknown> {
  return { valFraction: c.prefs.valFraction, splitSeed: rmSeed(c), format: STAGE_FORMAT };
}

/** Reference log-probabilities of the train and held-out pairs. */
export function refsStage(
  root: string,
  c: CanonicalConfig,
  data: StageResult,
  sft: StageResult,
  prefs: StageResult,
  log: (m: string) => void,
): Promise<StageResult> {
  return runStage({
    root,
    name: "refs",
    config: refsStageConfig(c),
    inputs: { data: data.key, sft: sft.key, prefs: prefs.key },
    log,
    run: async (dir) => {
      const d = await readData(data.dir);
      const { train, val } = await preferencePairs(prefs, c.prefs.valFraction, rmSeed(c));
      const { model: ref } = await loadCheckpoint(join(sft.dir, "model.ckpt"), { kind: "lm" });
      try {
        const t = await cacheReferenceLogProbs(ref, tokenPairs(d, train));
        const v = await cacheReferenceLogProbs(ref, tokenPairs(d, val));
        await writeJson(join(dir, "refs.json"), {
          train: refLogProbsToJSON(t),
          val: refLogProbsToJSON(v),
        });
      } finally {
        ref.dispose();
      }
    },
  });
}

/**
 * The train and held-out pairs of a split with their cached reference log-probabilities.
 * @throws FileFormatError when the stored values do not match the pairs.
 */
export async function readRefs(
  c: CanonicalConfig,
  data: CanonicalData,
  prefs: StageResult,
  refs: StageResult,
): Promise<{ train: RefCachedPairs; val: RefCachedPairs }> {
  const { train, val } = await preferencePairs(prefs, c.prefs.valFraction, rmSeed(c));
  const path = join(refs.dir, "refs.json");
  const json = await readJson<{
    train: { refChosen: number[]; refRejected: number[] };
    val: { refChosen: number[]; refRejected: number[] };
  }>(path);
  try {
    return {
      train: refLogProbsFromJSON(tokenPairs(data, train), json.train),
      val: refLogProbsFromJSON(tokenPairs(data, val), json.val),
    };
  } catch (e) {
    throw new FileFormatError(`${path}: ${(e as Error).message}`);
  }
}
