/**
 * Prompts of the canonical task: the first few words (2–8 by default) of held-out
 * sentences, as in the DPO paper's IMDb task where prompts are prefixes of reviews. The
 * policy continues each prompt; the gold reward scores the continuation.
 *
 * @module
 */
import { ConfigError } from "../util/errors.ts";
import { checkField, type NumberSpec } from "../util/schema.ts";
import { Rng } from "../util/rng.ts";
import { joinWords } from "./detokenize.ts";

/** Options of {@link makePrompts}. */
export interface PromptOptions {
  /** Number of prompts to draw. */
  count: number;
  /** Fewest words in a prompt (default 2). */
  minWords?: number;
  /** Most words in a prompt (default 8). */
  maxWords?: number;
  /** Seed of the draw: equal seeds and sentences give equal prompts. */
  seed: number;
  /** Words a sentence must keep after its prompt, room for a continuation (default 3). */
  minContinuation?: number;
  /** Shortest usable sentence (default `minWords + minContinuation`). */
  minSentenceWords?: number;
  /**
   * Most tokens in a prompt, counted by `tokens` (default: no limit). A subword tokenizer
   * splits words into several tokens, so a model's context bounds tokens, not words: a
   * prompt is as long as `maxWords` allows and its tokens fit.
   */
  maxTokens?: number;
  /** Tokens of a prompt's words (with `maxTokens`), e.g. `(w) => tok.encode(w).length`. */
  tokens?: (words: readonly string[]) => number;
}

/**
 * Draw `count` distinct prompts, each a prefix of a sentence: sentences at least
 * `minSentenceWords` long are visited in a seeded random order, and each gives its first
 * L words with L uniform in [minWords, min(maxWords, length − minContinuation)].
 * Every sentence is used once before any is used again; further passes (new order, new
 * lengths) run only when `count` exceeds the usable sentences, and a prompt equal to an
 * earlier one is skipped, so the result has no duplicates.
 *
 * @param sentences tokenised sentences, e.g. `sentencesOf(split.test.filter(isReview))`.
 * @returns `count` word lists (fresh arrays).
 * @throws ConfigError naming the option when one is out of range, when no sentence is
 *   long enough, or when the sentences cannot give `count` distinct prompts.
 * @example
 * ```ts
 * import { makePrompts, promptText } from "./prompts.ts";
 * const s = [["the", "film", "was", "a", "quiet", "triumph", "."]];
 * const [p] = makePrompts(s, { count: 1, seed: 0 });
 * if (!p || p.length < 2 || p.length > 4) throw new Error(promptText(p ?? []));
 * ```
 */
export function makePrompts(
  sentences: readonly (readonly string[])[],
  opts: PromptOptions,
): string[][] {
  const int = (field: string, v: unknown, min: number): number => {
    const spec: NumberSpec = { type: "number", int: true, min, doc: field };
    return checkField(`makePrompts.${field}`, v, spec) as number;
  };
  const count = int("count", opts.count, 0);
  const minWords = int("minWords", opts.minWords ?? 2, 1);
  const maxWords = int("maxWords", opts.maxWords ?? 8, minWords);
  const seed = int("seed", opts.seed, Number.MIN_SAFE_INTEGER);
  const minContinuation = int("minContinuation", opts.minContinuation ?? 3, 0);
  const minSentence = int(
    "minSentenceWords",
    opts.minSentenceWords ?? minWords + minContinuation,
    minWords + minContinuation,
  );

  const maxTokens = opts.maxTokens ?? Infinity;
  const tokens = opts.tokens ?? ((w: readonly string[]) => w.length);
  // The longest prompt of a sentence: up to maxWords words, a continuation left, and at most
  // maxTokens tokens (0 when even minWords words do not fit).
  const longestOf = (s: readonly string[]) => {
    let n = Math.min(maxWords, s.length - minContinuation);
    while (n >= minWords && tokens(s.slice(0, n)) > maxTokens) n--;
    return n;
  };
  const usable = sentences.filter((s) => s.length >= minSentence && longestOf(s) >= minWords);
  if (count > 0 && usable.length === 0) {
    throw new ConfigError(
      `makePrompts: none of the ${sentences.length} sentences has the ${minSentence} words ` +
        `a ${minWords}-word prompt plus a ${minContinuation}-word continuation need` +
        (Number.isFinite(maxTokens) ? ` with the prompt in at most ${maxTokens} tokens` : ""),
    );
  }
  const longestCache = new Map<readonly string[], number>();
  const longest = (s: readonly string[]) => {
    let n = longestCache.get(s);
    if (n === undefined) longestCache.set(s, n = longestOf(s));
    return n;
  };
  if (count > usable.length) {
    // more prompts than sentences: check up front that enough distinct prefixes exist
    const all = new Set<string>();
    for (const s of usable) {
      for (let n = minWords; n <= longest(s); n++) all.add(key(s.slice(0, n)));
    }
    if (count > all.size) {
      throw new ConfigError(
        `makePrompts.count must be <= ${all.size}, the number of distinct ` +
          `${minWords}–${maxWords}-word prompts of these ${usable.length} usable sentences; ` +
          `got ${count}`,
      );
    }
  }
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const prompts: string[][] = [];
  while (prompts.length < count) {
    for (const i of rng.shuffle(usable.map((_, i) => i))) {
      if (prompts.length === count) break;
      const s = usable[i]!;
      const prompt = s.slice(0, minWords + rng.int(longest(s) - minWords + 1));
      const k = key(prompt);
      if (seen.has(k)) continue;
      seen.add(k);
      prompts.push(prompt);
    }
  }
  return prompts;
}

/** A prompt's identity for de-duplication. */
function key(words: readonly string[]): string {
  return words.join("\u0000");
}

/**
 * A prompt's words as readable text (see {@link joinWords}).
 * @example
 * ```ts
 * import { promptText } from "./prompts.ts";
 * if (promptText(["the", "film", ",", "i", "think"]) !== "the film, i think") throw new Error();
 * ```
 */
export function promptText(words: readonly string[]): string {
  return joinWords(words);
}
