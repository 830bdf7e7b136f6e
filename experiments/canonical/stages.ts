/**
 * The canonical experiment's upstream stages, each cached by its config and inputs:
 *
 *   data → base LM (all of Brown) → SFT (reviews) → preferences (SFT samples, VADER,
 *   noisy annotator) → reward model
 *
 * Each stage writes into its own directory (see lib/sweep/stage_cache.ts) and reads its
 * inputs from upstream directories by relative file names.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import type { CanonicalConfig } from "./config.ts";
import { loadBrown, sentencesOf, splitDocuments } from "../../lib/data/brown.ts";
import { WordTokenizer } from "../../lib/data/tokenizer.ts";
import { makePrompts } from "../../lib/data/prompts.ts";
import { lmSequence } from "../../lib/data/lm_batches.ts";
import { BOS_ID, EOS_ID } from "../../lib/data/special_tokens.ts";
import type { TokenPair } from "../../lib/data/response_batch.ts";
import { responseBatch } from "../../lib/data/response_batch.ts";
import { annotatorFromConfig } from "../../lib/data/annotators.ts";
import { buildPreferenceDataset } from "../../lib/data/preference_dataset.ts";
import {
  loadPreferences,
  savePreferences,
  splitPreferences,
} from "../../lib/data/preference_table.ts";
import { type GoldReward, goldReward } from "../../lib/rewards/mod.ts";
import { CausalLM } from "../../lib/models/causal_lm.ts";
import { ScalarModel } from "../../lib/models/scalar_head.ts";
import { loadCheckpoint, saveCheckpoint } from "../../lib/models/checkpoint.ts";
import { trainSft } from "../../lib/train/sft.ts";
import { perplexity } from "../../lib/train/perplexity.ts";
import { trainRewardModel } from "../../lib/train/reward_model.ts";
import { rewardModelSource, type RewardSource } from "../../lib/train/rollout.ts";
import type { MetricRow } from "../../lib/train/metrics.ts";
import { spearman } from "../../lib/eval/rank.ts";
import { bayesCeiling } from "../../lib/data/annotators.ts";
import { writeCsvTable } from "../../lib/sweep/results_table.ts";
import { runStage, type StageResult } from "../../lib/sweep/stage_cache.ts";
import { writeTextAtomic } from "../../lib/util/atomic_write.ts";
import { FileFormatError } from "../../lib/util/errors.ts";
import { Rng } from "../../lib/util/rng.ts";

/**
 * Version of what the stages compute, part of every stage's cache key: bump it when code
 * changes what a stage writes for the same config (e.g. the split), so stale caches are
 * not reused.
 */
export const STAGE_FORMAT = 2;

/** Keys and directories of the finished upstream stages. */
export interface Upstream {
  data: StageResult;
  base: StageResult;
  sft: StageResult;
  prefs: StageResult;
  rm: StageResult;
}

/** The data a run needs, read back from the data stage. */
export interface CanonicalData {
  tokenizer: WordTokenizer;
  /** Token ids of a prompt's text: the stored ids for known prompts, else re-encoded. */
  promptIdsOf: (text: string) => number[];
  /** Training prompts as token ids (BOS first). */
  trainPrompts: number[][];
  /** Held-out evaluation prompts as token ids (BOS first). */
  evalPrompts: number[][];
}

/** Write `value` as pretty JSON, atomically. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeTextAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Read a JSON file, with a clear error naming the path when it is missing or corrupt. */
export async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new FileFormatError(`${path} cannot be read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new FileFormatError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Metric rows as a CSV file (through arquero). */
export async function writeMetrics(path: string, rows: readonly MetricRow[]): Promise<void> {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const table = aq.table(Object.fromEntries(cols.map((c) => [c, rows.map((r) => r[c] ?? NaN)])));
  await writeCsvTable(table, path);
}

/** Prompt words → token ids with BOS. */
export function promptIds(tok: WordTokenizer, words: readonly string[]): number[] {
  return [BOS_ID, ...tok.encode([...words])];
}

/** A reward source scoring decoded completions with a gold reward. */
export function goldSource(tok: WordTokenizer, gold: GoldReward): RewardSource {
  return (prompts, responses) => {
    const p = prompts.map((ids) => tok.decode([...ids]));
    const y = responses.map((ids) => tok.decode([...ids]));
    return Promise.resolve(Float32Array.from(gold.scoreBatch(p, y)));
  };
}

// ------------------------------------------------------------------------------------
// data

/** The data section's fields the data stage reads (all but the completion length). */
function dataKeyFields(c: CanonicalConfig): Omit<CanonicalConfig["data"], "maxNewTokens"> {
  const { maxNewTokens: _unused, ...rest } = c.data;
  return rest;
}

/** Corpus split, tokenizer and prompts. */
export function dataStage(
  root: string,
  c: CanonicalConfig,
  log: (m: string) => void,
): Promise<StageResult> {
  return runStage({
    root,
    name: "data",
    // The completion length is read downstream only; keying the corpus on it would retrain
    // the base LM whenever completions get longer.
    config: { ...dataKeyFields(c), format: STAGE_FORMAT },
    log,
    run: async (dir) => {
      const docs = await loadBrown();
      const split = splitDocuments(docs, { val: 0.1, test: 0.1, seed: c.data.splitSeed });
      const tokenizer = WordTokenizer.fit(sentencesOf(split.train), c.data.vocabSize);
      const inCat = (d: { category: string }) => d.category === c.data.sftCategory;
      const trainPrompts = makePrompts(sentencesOf(split.train.filter(inCat)), {
        count: c.data.trainPrompts,
        minWords: c.data.promptMinWords,
        maxWords: c.data.promptMaxWords,
        seed: c.data.splitSeed + 1,
      });
      const evalPrompts = makePrompts(sentencesOf(split.test.filter(inCat)), {
        count: c.data.evalPrompts,
        minWords: c.data.promptMinWords,
        maxWords: c.data.promptMaxWords,
        seed: c.data.splitSeed + 2,
      });
      await tokenizer.save(join(dir, "tokenizer.json"));
      await writeJson(join(dir, "prompts.json"), { train: trainPrompts, eval: evalPrompts });
      await writeJson(join(dir, "stats.json"), {
        documents: { train: split.train.length, val: split.val.length, test: split.test.length },
        coverage: {
          train: tokenizer.coverage(sentencesOf(split.train)),
          val: tokenizer.coverage(sentencesOf(split.val)),
          sftVal: tokenizer.coverage(sentencesOf(split.val.filter(inCat))),
        },
        prompts: { train: trainPrompts.length, eval: evalPrompts.length },
      });
    },
  });
}

/** Read the data stage back. */
export async function readData(dir: string): Promise<CanonicalData> {
  const tokenizer = await WordTokenizer.load(join(dir, "tokenizer.json"));
  const prompts = await readJson<{ train: string[][]; eval: string[][] }>(
    join(dir, "prompts.json"),
  );
  const trainPrompts = prompts.train.map((w) => promptIds(tokenizer, w));
  const evalPrompts = prompts.eval.map((w) => promptIds(tokenizer, w));
  // Decoding and re-splitting text can differ from the corpus's own tokens, so prompts
  // found in preference tables map back to the ids they were sampled with.
  const known = new Map<string, number[]>();
  for (const ids of [...trainPrompts, ...evalPrompts]) known.set(tokenizer.decode(ids), ids);
  const promptIdsOf = (text: string) => known.get(text) ?? [BOS_ID, ...tokenizer.encodeText(text)];
  return { tokenizer, promptIdsOf, trainPrompts, evalPrompts };
}

/** LM sequences of the split, optionally one category. */
async function corpusSequences(c: CanonicalConfig, tok: WordTokenizer, category?: string) {
  const docs = await loadBrown();
  const split = splitDocuments(docs, { val: 0.1, test: 0.1, seed: c.data.splitSeed });
  const pick = (ds: typeof docs) =>
    sentencesOf(category ? ds.filter((d) => d.category === category) : ds)
      .map((s) => lmSequence(tok.encode(s), c.model.context));
  return { train: pick(split.train), val: pick(split.val) };
}

// ------------------------------------------------------------------------------------
// base LM and SFT

/** The base LM on all of Brown. */
export function baseStage(
  root: string,
  c: CanonicalConfig,
  data: StageResult,
  log: (m: string) => void,
): Promise<StageResult> {
  return runStage({
    root,
    name: "base",
    config: { model: c.model, base: c.base, format: STAGE_FORMAT },
    inputs: { data: data.key },
    log,
    run: async (dir) => {
      const { tokenizer } = await readData(data.dir);
      const seqs = await corpusSequences(c, tokenizer);
      const model = CausalLM.create(c.model, c.base.seed);
      const res = await trainSft({
        model,
        train: seqs.train,
        val: seqs.val.slice(0, 2000),
        config: c.base,
        progress: "base LM",
      });
      await saveCheckpoint(join(dir, "model.ckpt"), model, {
        tokenizer: tokenizer.toJSON(),
        meta: { stage: "base" },
      });
      await writeMetrics(join(dir, "metrics.csv"), res.rows);
      await writeJson(join(dir, "summary.json"), { valPpl: res.valPpl });
      model.dispose();
    },
  });
}

/** SFT of the base LM on the SFT category; records both models' perplexity there. */
export function sftStage(
  root: string,
  c: CanonicalConfig,
  data: StageResult,
  base: StageResult,
  log: (m: string) => void,
): Promise<StageResult> {
  return runStage({
    root,
    name: "sft",
    config: {
      sft: c.sft,
      category: c.data.sftCategory,
      // The before/after samples in its summary are this long.
      maxNewTokens: c.data.maxNewTokens,
      format: STAGE_FORMAT,
    },
    inputs: { data: data.key, base: base.key },
    log,
    run: async (dir) => {
      const { tokenizer, evalPrompts } = await readData(data.dir);
      const seqs = await corpusSequences(c, tokenizer, c.data.sftCategory);
      const { model } = await loadCheckpoint(join(base.dir, "model.ckpt"), { kind: "lm" });
      const before = await perplexity(model, seqs.val);
      const samplesBefore = await sampleTexts(
        model,
        tokenizer,
        evalPrompts.slice(0, 5),
        c.data.maxNewTokens,
        7,
      );
      const res = await trainSft({
        model,
        train: seqs.train,
        val: seqs.val,
        config: c.sft,
        progress: "SFT",
      });
      const samplesAfter = await sampleTexts(
        model,
        tokenizer,
        evalPrompts.slice(0, 5),
        c.data.maxNewTokens,
        7,
      );
      await saveCheckpoint(join(dir, "model.ckpt"), model, {
        tokenizer: tokenizer.toJSON(),
        meta: { stage: "sft" },
      });
      await writeMetrics(join(dir, "metrics.csv"), res.rows);
      await writeJson(join(dir, "summary.json"), {
        baseValPpl: before.ppl,
        sftValPpl: res.valPpl,
        valTokens: before.tokens,
        samplesBefore,
        samplesAfter,
      });
      model.dispose();
    },
  });
}

/** Sample one completion per prompt and decode "prompt → completion" texts. */
export async function sampleTexts(
  model: CausalLM,
  tok: WordTokenizer,
  prompts: number[][],
  maxNewTokens: number,
  seed: number,
): Promise<{ prompt: string; completion: string }[]> {
  const out = await model.sample(prompts, { maxNewTokens }, new Rng(seed));
  return prompts.map((p, i) => ({ prompt: tok.decode(p), completion: tok.decode(out.tokens[i]!) }));
}

// ------------------------------------------------------------------------------------
// preferences and reward model

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
    config: {
      prefs: c.prefs,
      gold: c.gold,
      maxNewTokens: c.data.maxNewTokens,
      format: STAGE_FORMAT,
    },
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
    config: {
      rm: c.rm,
      valFraction: c.prefs.valFraction,
      spearmanSamples: c.prefs.spearmanSamples,
      format: STAGE_FORMAT,
    },
    inputs: { data: data.key, sft: sft.key, prefs: prefs.key },
    log,
    run: async (dir) => {
      const d = await readData(data.dir);
      const { tokenizer, trainPrompts } = d;
      const table = await loadPreferences(join(prefs.dir, "prefs.csv"));
      const { train, val } = splitPreferences(table, c.prefs.valFraction, c.rm.seed);
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
      const batch = responseBatch(fresh, sample.tokens, c.model.context);
      const rmScores = await rewardModelSource(rm)(fresh, sample.tokens, batch);
      const goldScores = await goldSource(tokenizer, goldReward(c.gold))(
        fresh,
        sample.tokens,
        batch,
      );
      await saveCheckpoint(join(dir, "model.ckpt"), rm, {
        tokenizer: tokenizer.toJSON(),
        meta: { stage: "rm" },
      });
      await writeMetrics(join(dir, "metrics.csv"), res.rows);
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
  return { data, base, sft, prefs, rm };
}
