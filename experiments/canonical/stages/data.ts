/**
 * The data stage: the Brown corpus split by document, the tokenizer (byte-level BPE by
 * default) fitted on the training split, and the prompts (first words of SFT-category
 * sentences, at most `data.promptMaxTokens` tokens: training prompts from the train split,
 * evaluation prompts from the test split), with the tokenizer's coverage report.
 *
 * @module
 */
import { join } from "node:path";
import type { CanonicalConfig } from "../config.ts";
import { loadBrown, sentencesOf, splitDocuments } from "../../../lib/data/brown.ts";
import type { Tokenizer } from "../../../lib/data/tokenizer_api.ts";
import { fitTokenizer, loadTokenizer } from "../../../lib/data/load_tokenizer.ts";
import { makePrompts } from "../../../lib/data/prompts.ts";
import { lmSequence } from "../../../lib/data/lm_batches.ts";
import { BOS_ID } from "../../../lib/data/special_tokens.ts";
import { readJson, writeJson } from "../../../lib/sweep/json_file.ts";
import { runStage, type StageResult } from "../../../lib/sweep/stage_cache.ts";
import { textRewardSource } from "../../../lib/train/text_reward.ts";
import type { RewardSource } from "../../../lib/train/rollout.ts";
import { goldReward } from "../../../lib/rewards/mod.ts";

/**
 * Version of what the stages compute, part of every stage's cache key: bump it when code
 * changes what a stage writes for the same config (e.g. the split), so stale caches are
 * not reused.
 */
export const STAGE_FORMAT = 6;

/** The data a run needs, read back from the data stage. */
export interface CanonicalData {
  /** The fitted tokenizer. */
  tokenizer: Tokenizer;
  /** Token ids of a prompt's text: the stored ids for known prompts, else re-encoded. */
  promptIdsOf: (text: string) => number[];
  /** Training prompts as token ids (BOS first). */
  trainPrompts: number[][];
  /** Held-out evaluation prompts as token ids (BOS first). */
  evalPrompts: number[][];
}

/** The data stage's key config: the data section but the completion length (read downstream). */
export function dataStageConfig(c: CanonicalConfig): Record<string, unknown> {
  // Keying the corpus on the completion length would retrain the base LM whenever
  // completions get longer.
  const { maxNewTokens: _unused, ...rest } = c.data;
  return { ...rest, format: STAGE_FORMAT };
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
    config: dataStageConfig(c),
    log,
    run: async (dir) => {
      const split = await corpusSplit(c);
      const tokenizer = fitTokenizer(c.data.tokenizer, sentencesOf(split.train), c.data.vocabSize);
      const inCat = (d: { category: string }) => d.category === c.data.sftCategory;
      const draw = (sentences: string[][], count: number, seed: number) =>
        makePrompts(sentences, {
          count,
          minWords: c.data.promptMinWords,
          maxWords: c.data.promptMaxWords,
          maxTokens: c.data.promptMaxTokens,
          tokens: (words) => tokenizer.encode([...words]).length,
          seed,
        });
      const trainPrompts = draw(
        sentencesOf(split.train.filter(inCat)),
        c.data.trainPrompts,
        c.data.splitSeed + 1,
      );
      const evalPrompts = draw(
        sentencesOf(split.test.filter(inCat)),
        c.data.evalPrompts,
        c.data.splitSeed + 2,
      );
      await tokenizer.save(join(dir, "tokenizer.json"));
      await writeJson(join(dir, "prompts.json"), { train: trainPrompts, eval: evalPrompts });
      await writeJson(join(dir, "stats.json"), {
        tokenizer: c.data.tokenizer,
        vocabSize: tokenizer.vocabSize,
        documents: { train: split.train.length, val: split.val.length, test: split.test.length },
        coverage: {
          train: tokenizer.coverageReport(sentencesOf(split.train)),
          val: tokenizer.coverageReport(sentencesOf(split.val)),
          sftVal: tokenizer.coverageReport(sentencesOf(split.val.filter(inCat))),
        },
        prompts: { train: trainPrompts.length, eval: evalPrompts.length },
      });
    },
  });
}

/** Read the data stage back. */
export async function readData(dir: string): Promise<CanonicalData> {
  const tokenizer = await loadTokenizer(join(dir, "tokenizer.json"));
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

/** Prompt words → token ids with BOS. */
export function promptIds(tok: Tokenizer, words: readonly string[]): number[] {
  return [BOS_ID, ...tok.encode([...words])];
}

/** The gold reward of the config as a reward source on token ids (decoded first). */
export function goldSource(tok: Tokenizer, c: Pick<CanonicalConfig, "gold">): RewardSource {
  return textRewardSource((ids) => tok.decode([...ids]), goldReward(c.gold));
}

/** The corpus split by document, as every stage of the experiment sees it. */
async function corpusSplit(c: CanonicalConfig) {
  const docs = await loadBrown();
  return splitDocuments(docs, { val: 0.1, test: 0.1, seed: c.data.splitSeed });
}

/** Which documents an LM stage trains on: one category, or every category but one. */
export type CorpusPart = { only: string } | { except: string };

/**
 * LM sequences of the split's train and val parts: the base LM reads every category but
 * the SFT one (so SFT is a real adaptation to a domain it has not seen), SFT reads only it.
 */
export async function corpusSequences(
  c: CanonicalConfig,
  tok: Tokenizer,
  part: CorpusPart,
): Promise<{ train: number[][]; val: number[][] }> {
  const split = await corpusSplit(c);
  const keep = (d: { category: string }) =>
    "only" in part ? d.category === part.only : d.category !== part.except;
  const pick = (ds: typeof split.train) =>
    sentencesOf(ds.filter(keep)).map((s) => lmSequence(tok.encode(s), c.model.context));
  return { train: pick(split.train), val: pick(split.val) };
}
