/**
 * The human-feedback stages: preferences (k SFT completions per prompt, scored by the
 * hidden gold reward, labelled by a noisy annotator) and the reward model trained on them,
 * with its accuracy against the Bayes ceiling and its Spearman correlation with gold.
 *
 * @module
 */
import { join } from "node:path";
import type * as aq from "arquero";
import type { CanonicalConfig } from "../config.ts";
import { EOS_ID } from "../../../lib/data/special_tokens.ts";
import { responseBatch, type TokenPair } from "../../../lib/data/response_batch.ts";
import { annotatorFromConfig, bayesCeiling } from "../../../lib/data/annotators.ts";
import { buildPreferenceDataset } from "../../../lib/data/preference_dataset.ts";
import {
  loadPreferences,
  savePreferences,
  splitPreferences,
} from "../../../lib/data/preference_table.ts";
import { goldReward } from "../../../lib/rewards/mod.ts";
import { ScalarModel } from "../../../lib/models/scalar_head.ts";
import { loadCheckpoint, saveCheckpoint } from "../../../lib/models/checkpoint.ts";
import { trainRewardModel } from "../../../lib/train/reward_model.ts";
import { rewardModelSource } from "../../../lib/train/rollout.ts";
import { spearman } from "../../../lib/eval/rank.ts";
import { writeJson } from "../../../lib/sweep/json_file.ts";
import { writeMetricRows } from "../../../lib/sweep/results_table.ts";
import { runStage, type StageResult } from "../../../lib/sweep/stage_cache.ts";
import { Rng } from "../../../lib/util/rng.ts";
import { type CanonicalData, goldSource, readData, STAGE_FORMAT } from "./data.ts";

/** The preference stage's key config. */
export function prefsStageConfig(c: CanonicalConfig): Record<string, unknown> {
  return {
    prefs: c.prefs,
    gold: c.gold,
    maxNewTokens: c.data.maxNewTokens,
    format: STAGE_FORMAT,
  };
}

/** Sample k completions per prompt from the SFT model, score with gold, label. */
export function prefsStage(
  root: string,
  c: CanonicalConfig,
  data: StageResult,
  sft: StageResult,
  log: (m: string) => void,
): Promise<StageResult> {
  return runStage({
    root,
    name: "prefs",
    config: prefsStageConfig(c),
    inputs: { data: data.key, sft: sft.key },
    log,
    run: async (dir) => {
      const { tokenizer, trainPrompts, promptIdsOf } = await readData(data.dir);
      const { model } = await loadCheckpoint(join(sft.dir, "model.ckpt"), { kind: "lm" });
      const prompts = trainPrompts.slice(0, c.prefs.prompts).map((p) => tokenizer.decode(p));
      const table = await buildPreferenceDataset({
        prompts,
        k: c.prefs.k,
        gold: goldReward(c.gold),
        annotator: annotatorFromConfig({
          kind: c.prefs.annotator,
          tau: c.prefs.tau,
          pairs: c.prefs.pairs,
        }),
        seed: c.prefs.prompts * 7919 + c.prefs.k,
        batchSize: 64,
        sample: async (texts, k, seed) => {
          const ids = texts.flatMap((t) => Array.from({ length: k }, () => promptIdsOf(t)));
          const out = await model.sample(ids, { maxNewTokens: c.data.maxNewTokens }, new Rng(seed));
          return texts.map((_, i) =>
            out.tokens.slice(i * k, (i + 1) * k).map((y) => tokenizer.decode(y))
          );
        },
      });
      const kept = c.prefs.dropTies
        ? table.filter((d: { gold_chosen: number; gold_rejected: number }) =>
          d.gold_chosen !== d.gold_rejected
        )
        : table;
      await savePreferences(kept, join(dir, "prefs.csv"));
      await writeJson(join(dir, "summary.json"), {
        pairs: kept.numRows(),
        tiesDropped: table.numRows() - kept.numRows(),
        bayesCeiling: bayesCeiling(kept.array("p_correct") as number[]),
        tau: c.prefs.tau,
      });
      model.dispose();
    },
  });
}

/**
 * Preference rows as token pairs: completions re-encoded with EOS appended (a stored
 * completion is taken as finished).
 */
export function tokenPairs(data: CanonicalData, table: aq.ColumnTable): TokenPair[] {
  const tok = data.tokenizer;
  const prompt = table.array("prompt") as string[];
  const chosen = table.array("chosen") as string[];
  const rejected = table.array("rejected") as string[];
  return prompt.map((p, i) => ({
    prompt: data.promptIdsOf(p),
    chosen: [...tok.encodeText(chosen[i]!), EOS_ID],
    rejected: [...tok.encodeText(rejected[i]!), EOS_ID],
  }));
}

/**
 * The train/held-out pairs of a preference stage, split by prompt. The reward model and the
 * DPO family use the same fraction and seed, so they hold out the same prompts.
 */
export async function preferencePairs(
  prefs: StageResult,
  valFraction: number,
  seed: number,
): Promise<{ train: aq.ColumnTable; val: aq.ColumnTable }> {
  const table = await loadPreferences(join(prefs.dir, "prefs.csv"));
  return splitPreferences(table, valFraction, seed);
}

/** The reward-model stage's key config. */
export function rmStageConfig(c: CanonicalConfig): Record<string, unknown> {
  return {
    rm: c.rm,
    valFraction: c.prefs.valFraction,
    spearmanSamples: c.prefs.spearmanSamples,
    format: STAGE_FORMAT,
  };
}

/** Reward model from the SFT checkpoint; accuracy vs the Bayes ceiling, Spearman vs gold. */
export function rmStage(
  root: string,
  c: CanonicalConfig,
  data: StageResult,
  sft: StageResult,
  prefs: StageResult,
  log: (m: string) => void,
): Promise<StageResult> {
  return runStage({
    root,
    name: "rm",
    config: rmStageConfig(c),
    inputs: { data: data.key, sft: sft.key, prefs: prefs.key },
    log,
    run: async (dir) => {
      const d = await readData(data.dir);
      const { tokenizer, trainPrompts } = d;
      const { train, val } = await preferencePairs(prefs, c.prefs.valFraction, c.rm.seed);
      const { model: sftModel } = await loadCheckpoint(join(sft.dir, "model.ckpt"), { kind: "lm" });
      const rm = ScalarModel.fromLM(sftModel, c.rm.seed);
      const res = await trainRewardModel({
        model: rm,
        train: tokenPairs(d, train),
        val: tokenPairs(d, val),
        config: c.rm,
        progress: "reward model",
      });
      // Rank correlation with gold on fresh SFT samples of unseen prompts.
      const fresh = trainPrompts.slice(c.prefs.prompts, c.prefs.prompts + c.prefs.spearmanSamples);
      const sample = await sftModel.sample(
        fresh,
        { maxNewTokens: c.data.maxNewTokens },
        new Rng(c.rm.seed + 17),
      );
      const batch = responseBatch(fresh, sample.tokens, sftModel.config.context);
      const rmScores = await rewardModelSource(rm)(fresh, sample.tokens, batch);
      const goldScores = await goldSource(tokenizer, c)(fresh, sample.tokens, batch);
      await saveCheckpoint(join(dir, "model.ckpt"), rm, {
        tokenizer: tokenizer.toJSON(),
        meta: { stage: "rm" },
      });
      await writeMetricRows(join(dir, "metrics.csv"), res.rows);
      await writeJson(join(dir, "summary.json"), {
        trainPairs: train.numRows(),
        valPairs: val.numRows(),
        trainAccuracy: res.trainAccuracy,
        valAccuracy: res.valAccuracy,
        bayesCeilingVal: bayesCeiling(val.array("p_correct") as number[]),
        bayesCeilingTrain: bayesCeiling(train.array("p_correct") as number[]),
        spearmanGold: spearman(rmScores, goldScores),
        // Many completions carry no sentiment word (gold exactly 0); their ties cap the
        // correlation, so it is also reported among the completions that have one.
        spearmanGoldNonzero: spearman(
          rmScores.filter((_, i) => goldScores[i] !== 0),
          goldScores.filter((g) => g !== 0),
        ),
        goldZeroFraction: goldScores.filter((g) => g === 0).length / goldScores.length,
        spearmanSamples: fresh.length,
        tau: c.prefs.tau,
      });
      rm.dispose();
      sftModel.dispose();
    },
  });
}
