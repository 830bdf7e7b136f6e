/**
 * The gold ("human") reward interface: a hidden, fixed function of a prompt and its
 * completion that simulated annotators consult and that every evaluation reports as
 * `reward/gold`. Policies never see it directly; they see labels drawn from it
 * (lib/data/annotators.ts) or a reward model trained on those labels.
 *
 * @module
 */
import { ConfigError } from "../util/errors.ts";

/** A deterministic scalar reward r(x, y) of prompt x and completion y. */
export interface GoldReward {
  /** Registry name, e.g. `vader`; recorded in configs and plot labels. */
  readonly name: string;
  /** Score one completion of one prompt. */
  score(prompt: string, completion: string): number;
  /**
   * Score `completions[i]` as a continuation of `prompts[i]` for every i.
   * @returns a new array the caller owns, one score per pair.
   * @throws ConfigError when the two lists differ in length.
   */
  scoreBatch(prompts: readonly string[], completions: readonly string[]): Float64Array;
}

/**
 * Build a {@link GoldReward} from a per-item function; `scoreBatch` loops over it.
 * @param name registry name.
 * @param fn r(prompt, completion); must be deterministic.
 * @example
 * ```ts
 * import { goldRewardFromFn } from "./types.ts";
 * const len = goldRewardFromFn("chars", (_p, y) => y.length);
 * if (len.scoreBatch(["a", "b"], ["xy", "z"])[0] !== 2) throw new Error();
 * ```
 */
export function goldRewardFromFn(
  name: string,
  fn: (prompt: string, completion: string) => number,
): GoldReward {
  return {
    name,
    score: fn,
    scoreBatch(prompts, completions) {
      checkBatch(name, prompts, completions);
      const out = new Float64Array(completions.length);
      for (let i = 0; i < completions.length; i++) out[i] = fn(prompts[i]!, completions[i]!);
      return out;
    },
  };
}

/** Throw a ConfigError unless `prompts` and `completions` pair up one to one. */
export function checkBatch(
  name: string,
  prompts: readonly string[],
  completions: readonly string[],
): void {
  if (prompts.length !== completions.length) {
    throw new ConfigError(
      `gold reward ${JSON.stringify(name)}: scoreBatch needs one prompt per completion, ` +
        `got ${prompts.length} prompts and ${completions.length} completions`,
    );
  }
}

/**
 * Split text into lower-case words (letters, digits and inner apostrophes), the unit the
 * word-based rewards count. Punctuation and whitespace separate words.
 */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+(?:'[a-z0-9]+)*/g) ?? [];
}
