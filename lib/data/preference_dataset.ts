/**
 * Simulated preference collection: sample k completions per prompt, score them with the
 * hidden gold reward, and let a simulated annotator label them (lib/data/annotators.ts).
 * The result is the preference table that reward models and DPO train on, with the gold
 * rewards and each label's p_correct kept alongside, so the Bayes-optimal accuracy of any
 * reward model on it is known.
 *
 * @module
 */
import type * as aq from "arquero";
import { ConfigError, show } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { checkField } from "../util/schema.ts";
import type { GoldReward } from "../rewards/types.ts";
import type { Annotator } from "./annotators.ts";
import type { PairMode } from "./annotator_pairs.ts";
import type { PreferenceRow } from "./preference_columns.ts";
import { preferenceTable } from "./preference_table.ts";

/** A sampled completion and whether the sampler stopped it with EOS (not at the length limit). */
export interface SampledCompletion {
  /** The decoded completion, without EOS. */
  text: string;
  /** True when the model emitted EOS; false when it was cut at the length limit. */
  finished: boolean;
  /**
   * The token ids sampled, without EOS: recorded (`chosen_ids`, `rejected_ids`) so that
   * training reads what was sampled, not a re-encoding of the text.
   */
  ids?: readonly number[];
}

/**
 * Draws `k` completions for each prompt; returns one list of k completions per prompt, in
 * prompt order: {@link SampledCompletion}s, or plain strings when the sampler does not know
 * whether they finished (then they are taken as finished, and the table has no
 * `chosen_finished`/`rejected_finished` columns). `seed` is derived from the data set's
 * seed: a sampler that uses it makes the whole data set a function of that seed (one that
 * ignores it must be seeded itself).
 */
export type CompletionSampler = (
  prompts: string[],
  k: number,
  seed: number,
) => Promise<(string | SampledCompletion)[][]>;

/** Inputs of {@link buildPreferenceDataset}. */
export interface PreferenceDatasetOptions {
  /** Prompts x, one labelled group of pairs each. */
  prompts: readonly string[];
  /** Completions sampled per prompt, k ≥ 2. */
  k: number;
  /** The policy sampler (e.g. the SFT model), injected so tests can fake it. */
  sample: CompletionSampler;
  /** The hidden gold reward the annotator consults. */
  gold: GoldReward;
  /** The simulated annotator. */
  annotator: Annotator;
  /** Seed for the sampler's seed and every annotator draw. */
  seed: number;
  /** How a k > 2 ranking becomes pairs; defaults to the annotator's `pairs`. */
  pairs?: PairMode;
  /** Prompts per sampler call (bounds the sampler's memory); default: all at once. */
  batchSize?: number;
}

/**
 * Build a simulated preference data set.
 *
 * For each prompt: draw k completions with `sample`; drop empty (all-whitespace)
 * completions and repeats of an identical string, keeping first occurrences (and their
 * finished flag); score the rest with `gold`; label them with `annotator.label` (2 left →
 * one Bradley–Terry comparison; more → a Plackett–Luce ranking turned into pairs by
 * `pairs`; ties as the annotator's ν says). A prompt with fewer than 2 distinct non-empty
 * completions yields no rows. Nothing is filtered on the gold reward: pairs of equal gold
 * are labelled like any other (a coin flip, or a tie when ν > 0), as a person would.
 *
 * Why drop them first: an identical pair carries no preference (the label would be a coin
 * flip on equal rewards and teaches a reward model nothing), and an empty completion
 * cannot be stored in a preference file (an empty CSV field reads as missing). Dropping
 * them before ranking keeps "adjacent" and "best_worst" pairs, and their p_correct,
 * defined over the completions the annotator actually compared.
 *
 * Determinism: everything derives from `seed`. The sampler gets a seed per call (the
 * batch's first prompt index added to a seed drawn from `seed`), and the annotator for
 * prompt i draws from its own stream (`new Rng(labelSeed).fork(i)`), so a prompt's labels
 * depend only on `seed`, its position and its completions.
 *
 * @returns a table with columns prompt, chosen, rejected, gold_chosen, gold_rejected,
 *   p_correct, then `tie` when the annotator can declare ties (ν > 0) and
 *   `chosen_finished`/`rejected_finished` when the sampler reports them; rows grouped by
 *   prompt in prompt order.
 * @throws ConfigError for k < 2, no prompts, a bad batchSize, a sampler that returns the
 *   wrong shape, or a non-finite gold reward.
 */
export async function buildPreferenceDataset(
  opts: PreferenceDatasetOptions,
): Promise<aq.ColumnTable> {
  const { prompts, sample, gold, annotator, seed } = opts;
  const k = checkField("k", opts.k, {
    type: "number",
    int: true,
    min: 2,
    doc: "completions per prompt",
  }) as number;
  checkField("seed", seed, { type: "number", int: true, doc: "data set seed" });
  if (prompts.length === 0) throw new ConfigError("prompts must be a non-empty list, got []");
  const batchSize = opts.batchSize === undefined ? prompts.length : checkField(
    "batchSize",
    opts.batchSize,
    { type: "number", int: true, min: 1, doc: "prompts per sampler call" },
  ) as number;
  const pairs = opts.pairs ?? annotator.pairs;

  const root = new Rng(seed);
  const samplerSeed = root.nextUint32();
  const labelSeed = root.nextUint32();

  const rows: PreferenceRow[] = [];
  let reportsFinished = false;
  for (let b = 0; b < prompts.length; b += batchSize) {
    const batch = prompts.slice(b, b + batchSize);
    const completions = await sample(batch, k, (samplerSeed + b) >>> 0);
    checkSamples(batch, k, completions);
    for (let j = 0; j < batch.length; j++) {
      const i = b + j;
      const prompt = batch[j]!;
      const finishedOf = new Map<string, boolean>();
      const idsOf = new Map<string, string>();
      for (const c of completions[j]!) {
        const text = typeof c === "string" ? c : c.text;
        if (typeof c !== "string") reportsFinished = true;
        if (text.trim() !== "" && !finishedOf.has(text)) {
          finishedOf.set(text, typeof c === "string" ? true : c.finished);
          // The first draw of a text stands for it (another split of it is the same text).
          if (typeof c !== "string" && c.ids) idsOf.set(text, c.ids.join(" "));
        }
      }
      const distinct = [...finishedOf.keys()];
      if (distinct.length < 2) continue;
      const rewards = Array.from(gold.scoreBatch(distinct.map(() => prompt), distinct));
      rewards.forEach((r, c) => {
        if (!Number.isFinite(r)) {
          throw new ConfigError(
            `gold reward ${show(gold.name)} returned ${r} for completion ${show(distinct[c])}`,
          );
        }
      });
      for (const label of annotator.label(rewards, new Rng(labelSeed).fork(i), pairs)) {
        const chosen = distinct[label.chosen]!, rejected = distinct[label.rejected]!;
        rows.push({
          prompt,
          chosen,
          rejected,
          gold_chosen: rewards[label.chosen]!,
          gold_rejected: rewards[label.rejected]!,
          p_correct: label.pCorrect,
          ...(annotator.nu > 0 ? { tie: label.tie } : {}),
          chosen_finished: finishedOf.get(chosen)!,
          rejected_finished: finishedOf.get(rejected)!,
          ...(idsOf.has(chosen) && idsOf.has(rejected)
            ? { chosen_ids: idsOf.get(chosen)!, rejected_ids: idsOf.get(rejected)! }
            : {}),
        });
      }
    }
  }
  if (!reportsFinished) {
    for (const row of rows) {
      delete row.chosen_finished;
      delete row.rejected_finished;
    }
  }
  return preferenceTable(rows);
}

/** The sampler must return, per prompt, a list of k strings or {@link SampledCompletion}s. */
function checkSamples(prompts: string[], k: number, completions: unknown): void {
  if (!Array.isArray(completions) || completions.length !== prompts.length) {
    throw new ConfigError(
      `sample must return one list per prompt (${prompts.length}), got ${
        Array.isArray(completions) ? `${completions.length} lists` : show(completions)
      }`,
    );
  }
  completions.forEach((list, j) => {
    const ok = (c: unknown) =>
      typeof c === "string" ||
      (typeof c === "object" && c !== null && typeof (c as SampledCompletion).text === "string" &&
        typeof (c as SampledCompletion).finished === "boolean");
    if (!Array.isArray(list) || list.length !== k || !list.every(ok)) {
      throw new ConfigError(
        `sample must return ${k} strings for prompt ${show(prompts[j])} ` +
          `(or {text, finished} objects), got ${show(list)}`,
      );
    }
  });
}
