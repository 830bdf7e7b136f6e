/**
 * From a preference table to what trainers read: token pairs, and the Bayes ceiling of
 * the labels. Two rules make the training data what a sampler could have produced and an
 * annotator could have said:
 *
 * - EOS only where the sampler emitted it. A completion cut at the length limit is
 *   encoded without EOS, so a reward model reads it at its last token (as PPO and
 *   best-of-n read a truncated rollout) and DPO never learns an EOS the sampler could not
 *   produce there. Tables without `chosen_finished`/`rejected_finished` columns (written
 *   before they existed) are read as finished, which is how they were used then.
 * - Ties are not preferences. A tie row has no chosen side; it is left out of training and
 *   of every accuracy (see lib/data/annotator_p_correct.ts), as TRL users expect: TRL's reward and
 *   DPO trainers have no tie likelihood, and the usual binarised preference sets (e.g.
 *   UltraFeedback's) drop ties before training.
 *
 * @module
 */
import type * as aq from "arquero";
import { bayesCeiling } from "./annotator_p_correct.ts";
import { EOS_ID } from "./special_tokens.ts";
import { IDS_PATTERN } from "./preference_columns.ts";
import type { TokenPair } from "./response_batch.ts";
import { ConfigError, show } from "../util/errors.ts";

/** How {@link tokenPairs} turns text into ids. */
export interface PairEncoder {
  /** Prompt text → token ids starting with BOS (as prompts are sampled from). */
  prompt(text: string): readonly number[];
  /** Completion text → token ids, without EOS. */
  completion(text: string): readonly number[];
}

/** Options of {@link tokenPairs}. */
export interface TokenPairOptions {
  /** "skip" (default): leave tie rows out; "keep": return them with `tie: true`. */
  ties?: "skip" | "keep";
}

/**
 * A preference table's rows as token pairs: the prompt encoded once per distinct text,
 * each completion encoded and followed by EOS only when its `*_finished` column says the
 * sampler emitted EOS (missing column: finished). Tie rows are skipped unless
 * `opts.ties` is "keep".
 * @throws ConfigError when the table lacks prompt/chosen/rejected or `opts.ties` is unknown.
 * @example
 * ```ts
 * import { preferenceTable } from "./preference_table.ts";
 * import { tokenPairs } from "./preference_pairs.ts";
 * const t = preferenceTable([
 *   { prompt: "a", chosen: "b c", rejected: "d", chosen_finished: true, rejected_finished: false },
 * ]);
 * const ids = (s: string) => s.split(" ").map((w) => w.charCodeAt(0));
 * const [pair] = tokenPairs(t, { prompt: (p) => [1, ...ids(p)], completion: ids });
 * // pair.chosen = [98, 99, EOS], pair.rejected = [100]
 * if (pair!.chosen.length !== 3 || pair!.rejected.length !== 1) throw new Error();
 * ```
 */
export function tokenPairs(
  table: aq.ColumnTable,
  encoder: PairEncoder,
  opts: TokenPairOptions = {},
): TokenPair[] {
  const ties = opts.ties ?? "skip";
  if (ties !== "skip" && ties !== "keep") {
    throw new ConfigError(`ties must be "skip" or "keep", got ${show(ties)}`);
  }
  const prompt = column<string>(table, "prompt");
  const chosen = column<string>(table, "chosen");
  const rejected = column<string>(table, "rejected");
  const tie = booleans(table, "tie", false);
  const chosenFinished = booleans(table, "chosen_finished", true);
  const rejectedFinished = booleans(table, "rejected_finished", true);
  const chosenIds = idColumn(table, "chosen_ids");
  const rejectedIds = idColumn(table, "rejected_ids");
  const prompts = new Map<string, readonly number[]>();
  const out: TokenPair[] = [];
  for (let i = 0; i < prompt.length; i++) {
    if (tie[i] && ties === "skip") continue;
    const p = prompt[i]!;
    if (!prompts.has(p)) prompts.set(p, encoder.prompt(p));
    // The sampled ids when recorded, else the text re-encoded.
    const encode = (text: string, sampled: readonly number[] | undefined, finished: boolean) => {
      const ids = sampled ?? encoder.completion(text);
      return finished ? [...ids, EOS_ID] : [...ids];
    };
    out.push({
      prompt: prompts.get(p)!,
      chosen: encode(chosen[i]!, chosenIds?.[i], chosenFinished[i]!),
      rejected: encode(rejected[i]!, rejectedIds?.[i], rejectedFinished[i]!),
      ...(tie[i] ? { tie: true } : {}),
    });
  }
  return out;
}

/** A token-id column as id arrays (undefined without the column; a blank cell: undefined). */
function idColumn(
  table: aq.ColumnTable,
  name: string,
): (readonly number[] | undefined)[] | undefined {
  if (!table.columnNames().includes(name)) return undefined;
  return Array.from(table.array(name) as ArrayLike<unknown>, (v) => {
    if (v === null || v === undefined || v === "") return undefined;
    const text = String(v);
    if (!IDS_PATTERN.test(text)) {
      throw new ConfigError(`${name} must hold token ids separated by spaces, got ${show(v)}`);
    }
    return text.split(" ").map(Number);
  });
}

/** Counts and ceiling of a preference table (see {@link preferenceStats}). */
export interface PreferenceStats {
  /** Rows. */
  pairs: number;
  /** Rows labelled a tie. */
  ties: number;
  /** Mean p_correct over untied rows: the Bayes-optimal accuracy (NaN without p_correct). */
  bayesCeiling: number;
  /** Share of the rows' completions (chosen and rejected) that ended with EOS. */
  finishedFraction: number;
}

/**
 * Pairs, ties, the Bayes ceiling over untied pairs and the share of finished completions
 * of a preference table. Accuracy is over untied pairs (lib/data/annotator_p_correct.ts), so the
 * ceiling is too.
 * @throws ConfigError when an untied row's p_correct is outside [0, 1] (or NaN while
 *   other rows have one), or every row is a tie.
 */
export function preferenceStats(table: aq.ColumnTable): PreferenceStats {
  const n = table.numRows();
  const tie = booleans(table, "tie", false);
  const ties = tie.filter((t) => t).length;
  let ceiling = NaN;
  if (table.columnNames().includes("p_correct")) {
    const p = table.array("p_correct") as ArrayLike<number>;
    const untied: number[] = [];
    for (let i = 0; i < n; i++) if (!tie[i]) untied.push(p[i]!);
    if (!untied.every(Number.isNaN)) ceiling = bayesCeiling(untied);
  }
  const chosen = booleans(table, "chosen_finished", true);
  const rejected = booleans(table, "rejected_finished", true);
  let finished = 0;
  for (let i = 0; i < n; i++) finished += (chosen[i] ? 1 : 0) + (rejected[i] ? 1 : 0);
  return { pairs: n, ties, bayesCeiling: ceiling, finishedFraction: n ? finished / (2 * n) : NaN };
}

function column<T>(table: aq.ColumnTable, name: string): ArrayLike<T> {
  if (!table.columnNames().includes(name)) {
    throw new ConfigError(`preference table lacks column ${show(name)}`);
  }
  return table.array(name) as unknown as ArrayLike<T>;
}

/** A boolean column, or `fallback` for every row when the table has none. */
function booleans(table: aq.ColumnTable, name: string, fallback: boolean): boolean[] {
  if (!table.columnNames().includes(name)) return new Array(table.numRows()).fill(fallback);
  return Array.from(table.array(name) as ArrayLike<unknown>, (v) => (v == null ? fallback : !!v));
}
