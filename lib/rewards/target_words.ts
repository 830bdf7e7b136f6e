/**
 * A transparent gold reward: how many target words the completion contains. Useful as a
 * sanity task (the optimum is obvious by reading samples) and as a reward that is easy to
 * over-optimise by repetition, unlike VADER's saturating compound score.
 *
 * @module
 */
import { resolveConfig, type Schema } from "../util/schema.ts";
import { type GoldReward, goldRewardFromFn, words } from "./types.ts";

/** A default list of plainly positive words, all present in the Brown corpus. */
export const POSITIVE_WORDS: readonly string[] = [
  "good",
  "great",
  "best",
  "better",
  "excellent",
  "wonderful",
  "beautiful",
  "lovely",
  "fine",
  "happy",
  "pleasant",
  "delightful",
  "brilliant",
  "superb",
  "perfect",
  "charming",
  "enjoy",
  "enjoyed",
  "love",
  "loved",
  "nice",
  "success",
  "successful",
  "remarkable",
  "admirable",
  "fascinating",
  "magnificent",
  "splendid",
  "warm",
  "rich",
];

/** Options of {@link targetWordsReward}. */
export interface TargetWordsOptions {
  /** Words that count (matched case-insensitively, as whole words). */
  words: string[];
  /** Divide the count by the completion's word count (0 for an empty completion). */
  normalise: boolean;
}

/** Schema for {@link TargetWordsOptions}. */
export const TARGET_WORDS_SCHEMA: Schema<TargetWordsOptions> = {
  words: { type: "stringList", nonEmpty: true, doc: "target words, matched as whole words" },
  normalise: { type: "boolean", doc: "divide the count by the number of words" },
};

/** Defaults: {@link POSITIVE_WORDS}, raw counts. */
export const TARGET_WORDS_DEFAULTS: TargetWordsOptions = {
  words: [...POSITIVE_WORDS],
  normalise: false,
};

/**
 * r(x, y) = #{words of y in the target set}, or that count / #words(y) when normalised.
 * Words are lower-case runs of letters, digits and inner apostrophes.
 * @param opts partial {@link TargetWordsOptions}; unknown keys are a ConfigError.
 * @example
 * ```ts
 * import { targetWordsReward } from "./target_words.ts";
 * const r = targetWordsReward({ words: ["good"] });
 * if (r.score("", "Good, good film") !== 2) throw new Error();
 * ```
 */
export function targetWordsReward(opts: Partial<TargetWordsOptions> = {}): GoldReward {
  const cfg = resolveConfig(
    "rewards.target_words",
    TARGET_WORDS_SCHEMA,
    TARGET_WORDS_DEFAULTS,
    opts,
  );
  const target = new Set(cfg.words.map((w) => w.toLowerCase()));
  return goldRewardFromFn("target_words", (_prompt, completion) => {
    const ws = words(completion);
    let count = 0;
    for (const w of ws) if (target.has(w)) count++;
    return cfg.normalise ? (ws.length === 0 ? 0 : count / ws.length) : count;
  });
}
