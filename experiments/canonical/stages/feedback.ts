/**
 * The human-feedback stages: preferences (k SFT completions per prompt, scored by the
 * hidden gold reward, labelled by a noisy annotator who may call a pair a tie) and the
 * reward model trained on them, with its accuracy against the Bayes ceiling, its Spearman
 * correlation with gold, and the mean and spread of the proxy and gold rewards on fresh SFT
 * samples that standardise every training reward (one β scale for every method).
 *
 * @module
 */
import { join } from "node:path";
import type * as aq from "arquero";
import type { CanonicalConfig } from "../config.ts";
import { responseBatch, type TokenPair } from "../../../lib/data/response_batch.ts";
import { annotatorFromConfig } from "../../../lib/data/annotator_config.ts";
import { preferenceStats, tokenPairs as encodePairs } from "../../../lib/data/preference_pairs.ts";
import { buildPreferenceDataset } from "../../../lib/data/preference_dataset.ts";
import { loadPreferences, savePreferences } from "../../../lib/data/preference_table.ts";
import { splitPreferences } from "../../../lib/data/preference_split.ts";
import { goldReward } from "../../../lib/rewards/mod.ts";
import { ScalarModel } from "../../../lib/models/scalar_head.ts";
import { loadCheckpoint, saveCheckpoint } from "../../../lib/models/checkpoint.ts";
import { trainRewardModel } from "../../../lib/train/reward_model.ts";
import { rewardModelSource } from "../../../lib/train/rollout.ts";
import { estimateRewardScale, type RewardScale } from "../../../lib/train/reward_scale.ts";
import { spearman } from "../../../lib/eval/rank.ts";
import { writeJson } from "../../../lib/sweep/json_file.ts";
import { writeMetricRows } from "../../../lib/sweep/results_table.ts";
import { runStage, type StageResult } from "../../../lib/sweep/stage_cache.ts";
import { Rng } from "../../../lib/util/rng.ts";
import { Progress } from "../../../lib/util/progress.ts";
import { type CanonicalData, goldSource, readData, STAGE_FORMAT } from "./data.ts";

/** The preference stage's key config. */
export function prefsStageConfig(c: CanonicalConfig): Record<string, unknown> {
  return {
    prefs: c.prefs,
    upstreamSeed: c.upstreamSeed,
    gold: c.gold,
    maxNewTokens: c.data.maxNewTokens,
    format: STAGE_FORMAT,
  };
}

/**
 * Sample k completions per prompt from the SFT model (recording which emitted EOS), score
 * them with gold, and have the annotator rank them (ties included). Nothing is filtered on
 * the hidden gold reward: the table holds every pair a person would have been shown.
 */
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
      const bar = new Progress({
        label: `preference labelling (k = ${c.prefs.k} completions a prompt)`,
        total: prompts.length,
      });
      let labelled = 0;
      const table = await buildPreferenceDataset({
        prompts,
        k: c.prefs.k,
        gold: goldReward(c.gold),
        annotator: annotatorFromConfig({
          kind: c.prefs.annotator,
          tau: c.prefs.tau,
          pairs: c.prefs.pairs,
          nu: c.prefs.nu,
        }),
        seed: c.upstreamSeed * 1_000_003 + c.prefs.prompts * 7919 + c.prefs.k,
        batchSize: 64,
        sample: async (texts, k, seed) => {
          const ids = texts.flatMap((t) => Array.from({ length: k }, () => promptIdsOf(t)));
          const out = await model.sample(ids, { maxNewTokens: c.data.maxNewTokens }, new Rng(seed));
          bar.update(labelled += texts.length);
          return texts.map((_, i) =>
            out.tokens.slice(i * k, (i + 1) * k).map((y, j) => {
              const finished = out.finished[i * k + j]!;
              // The ids as sampled (without the EOS): training reads them, not a
              // re-encoding of the text, which a subword tokenizer need not give back.
              return { text: tokenizer.decode(y), finished, ids: finished ? y.slice(0, -1) : y };
            })
          );
        },
      });
      bar.finish();
      await savePreferences(table, join(dir, "prefs.csv"));
      await writeJson(join(dir, "summary.json"), { ...preferenceStats(table), tau: c.prefs.tau });
      model.dispose();
    },
  });
}

/**
 * Preference rows as token pairs: prompts mapped back to the ids they were sampled with,
 * completions re-encoded, EOS appended only to those that finished; ties left out (they
 * are not preferences).
 */
export function tokenPairs(data: CanonicalData, table: aq.ColumnTable): TokenPair[] {
  return encodePairs(table, {
    prompt: (t) => data.promptIdsOf(t),
    completion: (t) => data.tokenizer.encodeText(t),
  });
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

/** The seed of the reward model's initialisation and batches at a grid point. */
export function rmSeed(c: CanonicalConfig): number {
  return c.rm.seed + 7919 * c.upstreamSeed;
}

/** The reward-model stage's key config. */
export function rmStageConfig(c: CanonicalConfig): Record<string, unknown> {
  return {
    rm: c.rm,
    valFraction: c.prefs.valFraction,
    spearmanSamples: c.prefs.spearmanSamples,
    upstreamSeed: c.upstreamSeed,
    gold: c.gold,
    format: STAGE_FORMAT,
  };
}

/** The proxy and gold rewards' mean and spread on fresh SFT samples (the rm stage's). */
export interface RewardScales {
  /** The reward model r_φ. */
  proxy: RewardScale;
  /** The hidden gold reward (what PPO-GT trains on). */
  gold: RewardScale;
}

/**
 * Reward model from the SFT checkpoint; accuracy vs the Bayes ceiling, Spearman vs gold,
 * and the scales of the proxy and gold rewards on fresh SFT samples.
 */
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
      const seed = rmSeed(c);
      const { train, val } = await preferencePairs(prefs, c.prefs.valFraction, seed);
      const { model: sftModel } = await loadCheckpoint(join(sft.dir, "model.ckpt"), { kind: "lm" });
      const rm = ScalarModel.fromLM(sftModel, seed);
      const res = await trainRewardModel({
        model: rm,
        train: tokenPairs(d, train),
        val: tokenPairs(d, val),
        config: { ...c.rm, seed },
        progress: "reward model",
      });
      // Rank correlation with gold on fresh SFT samples of unseen prompts.
      const fresh = trainPrompts.slice(c.prefs.prompts, c.prefs.prompts + c.prefs.spearmanSamples);
      const sample = await sftModel.sample(
        fresh,
        { maxNewTokens: c.data.maxNewTokens },
        new Rng(seed + 17),
      );
      const batch = responseBatch(fresh, sample.tokens, sftModel.config.context);
      const proxySource = rewardModelSource(rm);
      const goldRewardSource = goldSource(tokenizer, c);
      const rmScores = await proxySource(fresh, sample.tokens, batch);
      const goldScores = await goldRewardSource(fresh, sample.tokens, batch);
      const context = { context: sftModel.config.context };
      const scale: RewardScales = {
        proxy: await estimateRewardScale(proxySource, fresh, sample.tokens, context),
        gold: await estimateRewardScale(goldRewardSource, fresh, sample.tokens, context),
      };
      await saveCheckpoint(join(dir, "model.ckpt"), rm, {
        tokenizer: tokenizer.toJSON(),
        meta: { stage: "rm" },
      });
      await writeMetricRows(join(dir, "metrics.csv"), res.rows);
      await writeJson(join(dir, "summary.json"), {
        trainPairs: preferenceStats(train).pairs - preferenceStats(train).ties,
        valPairs: preferenceStats(val).pairs - preferenceStats(val).ties,
        trainAccuracy: res.trainAccuracy,
        valAccuracy: res.valAccuracy,
        bayesCeilingVal: preferenceStats(val).bayesCeiling,
        bayesCeilingTrain: preferenceStats(train).bayesCeiling,
        scale,
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
