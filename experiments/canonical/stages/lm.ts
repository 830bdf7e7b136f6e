/**
 * The two language-model stages: the base LM pretrained on Brown without the SFT category,
 * then SFT on that category — a real adaptation step — which records both models'
 * perplexity on its held-out documents and samples before and after.
 *
 * @module
 */
import { join } from "node:path";
import { type CanonicalConfig, modelOf } from "../config.ts";
import type { Tokenizer } from "../../../lib/data/tokenizer_api.ts";
import { CausalLM } from "../../../lib/models/causal_lm.ts";
import { loadCheckpoint, saveCheckpoint } from "../../../lib/models/checkpoint.ts";
import { trainSft } from "../../../lib/train/sft.ts";
import { perplexity } from "../../../lib/train/perplexity.ts";
import { writeJson } from "../../../lib/sweep/json_file.ts";
import { writeMetricRows } from "../../../lib/sweep/results_table.ts";
import { runStage, type StageResult } from "../../../lib/sweep/stage_cache.ts";
import { Rng } from "../../../lib/util/rng.ts";
import { corpusSequences, readData, STAGE_FORMAT } from "./data.ts";

/** The base stage's key config: the model shape and the base LM's training. */
export function baseStageConfig(c: CanonicalConfig): Record<string, unknown> {
  return { model: modelOf(c), base: c.base, format: STAGE_FORMAT };
}

/** The base LM on every Brown category but the SFT one. */
export function baseStage(
  root: string,
  c: CanonicalConfig,
  data: StageResult,
  log: (m: string) => void,
): Promise<StageResult> {
  return runStage({
    root,
    name: "base",
    config: baseStageConfig(c),
    inputs: { data: data.key },
    log,
    run: async (dir) => {
      const { tokenizer } = await readData(data.dir);
      const seqs = await corpusSequences(c, tokenizer, { except: c.data.sftCategory });
      const model = CausalLM.create(modelOf(c), c.base.seed);
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
      await writeMetricRows(join(dir, "metrics.csv"), res.rows);
      await writeJson(join(dir, "summary.json"), { valPpl: res.valPpl });
      model.dispose();
    },
  });
}

/** The SFT stage's key config. */
export function sftStageConfig(c: CanonicalConfig): Record<string, unknown> {
  return {
    sft: c.sft,
    category: c.data.sftCategory,
    // The before/after samples in its summary are this long.
    maxNewTokens: c.data.maxNewTokens,
    format: STAGE_FORMAT,
  };
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
    config: sftStageConfig(c),
    inputs: { data: data.key, base: base.key },
    log,
    run: async (dir) => {
      const { tokenizer, evalPrompts } = await readData(data.dir);
      const seqs = await corpusSequences(c, tokenizer, { only: c.data.sftCategory });
      const { model } = await loadCheckpoint(join(base.dir, "model.ckpt"), { kind: "lm" });
      const before = await perplexity(model, seqs.val);
      const shown = evalPrompts.slice(0, 5);
      const samplesBefore = await sampleTexts(model, tokenizer, shown, c.data.maxNewTokens, 7);
      const res = await trainSft({
        model,
        train: seqs.train,
        val: seqs.val,
        config: c.sft,
        progress: "SFT",
        // Early stopping: a small domain is memorised fast; keep the weights that read its
        // held-out documents best (the base LM's own if no step helps).
        keepBest: true,
      });
      const samplesAfter = await sampleTexts(model, tokenizer, shown, c.data.maxNewTokens, 7);
      await saveCheckpoint(join(dir, "model.ckpt"), model, {
        tokenizer: tokenizer.toJSON(),
        meta: { stage: "sft" },
      });
      await writeMetricRows(join(dir, "metrics.csv"), res.rows);
      await writeJson(join(dir, "summary.json"), {
        baseValPpl: before.ppl,
        sftValPpl: res.valPpl,
        bestStep: res.bestStep,
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
  tok: Tokenizer,
  prompts: number[][],
  maxNewTokens: number,
  seed: number,
): Promise<{ prompt: string; completion: string }[]> {
  const out = await model.sample(prompts, { maxNewTokens }, new Rng(seed));
  return prompts.map((p, i) => ({ prompt: tok.decode(p), completion: tok.decode(out.tokens[i]!) }));
}
