/**
 * Diversity and length of generated texts.
 *
 * distinct-n (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural
 * Conversation Models"): the number of unique n-grams divided by the total number of
 * n-grams, pooled over a set of token sequences. 1 means no n-gram repeats; mode collapse
 * (a common symptom of over-optimisation) drives it down.
 *
 * @module
 */
import { checkField } from "../util/schema.ts";

/** A token sequence: token ids or word strings. */
export type Tokens = readonly (number | string)[];

/**
 * distinct-n over a set of sequences: |unique n-grams| / |n-grams|, pooled.
 * Sequences shorter than n contribute nothing; with no n-gram at all the result is 0.
 * @param seqs token sequences. @param n n-gram order, ≥ 1.
 * @example
 * ```ts
 * import { distinctN } from "./text_metrics.ts";
 * // bigrams: (a b) (b a) (a b) → 2 unique of 3
 * if (distinctN([["a", "b", "a", "b"]], 2) !== 2 / 3) throw new Error();
 * ```
 */
export function distinctN(seqs: readonly Tokens[], n: number): number {
  checkField("distinctN.n", n, { type: "number", int: true, min: 1, doc: "n-gram order" });
  const seen = new Set<string>();
  let total = 0;
  for (const seq of seqs) {
    for (let i = 0; i + n <= seq.length; i++) {
      // JSON keeps 1 and "1" apart and cannot be confused by separators inside tokens.
      const key = JSON.stringify(seq.slice(i, i + n));
      seen.add(key);
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

/** Mean number of tokens per sequence; 0 for an empty set. */
export function meanLength(seqs: readonly Tokens[]): number {
  if (seqs.length === 0) return 0;
  let s = 0;
  for (const seq of seqs) s += seq.length;
  return s / seqs.length;
}
