/**
 * Prompts of the canonical task: the first 2–8 words of sentences, drawn
 * deterministically from a seed; sentences too short to leave a continuation are skipped.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { ConfigError } from "../util/errors.ts";
import { joinWords } from "./tokenizer.ts";

/** How to draw prompts. */
export interface PromptOptions {
  count: number;
  minWords: number;
  maxWords: number;
  seed: number;
  /** Words a sentence must have beyond the prompt (default 3). */
  minContinuation?: number;
}

/**
 * Draw `count` prompts (word lists), each a prefix of a distinct sentence when there are
 * enough sentences (sentences are reused in order otherwise).
 */
export function makePrompts(
  sentences: readonly (readonly string[])[],
  o: PromptOptions,
): string[][] {
  if (!(o.minWords >= 1 && o.maxWords >= o.minWords)) {
    throw new ConfigError(
      `prompt lengths must satisfy 1 <= minWords <= maxWords, got ${o.minWords} and ${o.maxWords}`,
    );
  }
  const cont = o.minContinuation ?? 3;
  const rng = new Rng(o.seed);
  const usable = sentences.filter((s) => s.length >= o.minWords + cont);
  if (usable.length === 0) {
    throw new ConfigError(`no sentence is long enough for a ${o.minWords}-word prompt`);
  }
  const order = rng.shuffle(usable.map((_, i) => i));
  return Array.from({ length: o.count }, (_, i) => {
    const s = usable[order[i % order.length]!]!;
    const longest = Math.min(o.maxWords, s.length - cont);
    const len = o.minWords + rng.int(longest - o.minWords + 1);
    return s.slice(0, len);
  });
}

/** A prompt's words as text. */
export function promptText(words: readonly string[]): string {
  return joinWords(words);
}
