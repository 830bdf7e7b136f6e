/**
 * The columns of preference data, one row per labelled pair:
 *
 * | column        | type   | required | meaning                                          |
 * |---------------|--------|----------|--------------------------------------------------|
 * | prompt        | string | yes      | the prompt x                                     |
 * | chosen        | string | yes      | the preferred completion y_w                     |
 * | rejected      | string | yes      | the other completion y_l                         |
 * | gold_chosen   | number | no       | gold reward r(x, y_w)                            |
 * | gold_rejected | number | no       | gold reward r(x, y_l)                            |
 * | p_correct     | number | no       | P(label agrees with the gold order), see annotator_p_correct.ts |
 * | tie           | boolean| no       | the annotator declared no preference (default false) |
 * | chosen_finished   | boolean | no   | y_w ended with EOS, not at the length limit (default true) |
 * | rejected_finished | boolean | no   | y_l ended with EOS (default true)                |
 * | chosen_ids    | string | no       | the token ids the sampler drew for y_w, space-separated, no EOS |
 * | rejected_ids  | string | no       | the same for y_l                                 |
 *
 * The ids matter for subword tokenizers: a model may sample a split of a word that
 * re-encoding its text would not give back (and that may even be longer), so training on
 * the ids trains on exactly what was sampled.
 *
 * A tie row lists its two completions in an arbitrary order and has p_correct NaN. The
 * defaults are how files written before these columns existed are read: no ties, and
 * every completion taken as finished (which is how they were then used).
 * Booleans are written `true`/`false` in CSV; the reader also takes 1/0 and empty (the
 * default).
 *
 * @module
 */

/** One preference pair. Optional numbers may be NaN when unknown. */
export interface PreferenceRow {
  /** The prompt text the two completions continue. */
  prompt: string;
  /** The completion the annotator preferred (y_w). */
  chosen: string;
  /** The completion the annotator rejected (y_l). */
  rejected: string;
  /** Hidden gold reward of `chosen` (for analysis only; never trained on). */
  gold_chosen?: number;
  /** Hidden gold reward of `rejected`. */
  gold_rejected?: number;
  /** Probability that the label agrees with the gold reward order (see `annotator_p_correct.ts`). */
  p_correct?: number;
  /** The annotator declared no preference (default false). */
  tie?: boolean;
  /** `chosen` ended with EOS rather than at the length limit (default true). */
  chosen_finished?: boolean;
  /** `rejected` ended with EOS rather than at the length limit (default true). */
  rejected_finished?: boolean;
  /** The token ids sampled for `chosen`, space-separated, without EOS. */
  chosen_ids?: string;
  /** The token ids sampled for `rejected`, space-separated, without EOS. */
  rejected_ids?: string;
}

/** Columns every preference table and file must have (non-empty strings). */
export const REQUIRED_COLUMNS = ["prompt", "chosen", "rejected"] as const;
/** Optional numeric columns, kept when present. */
export const OPTIONAL_COLUMNS = ["gold_chosen", "gold_rejected", "p_correct"] as const;
/** Optional token-id columns (space-separated non-negative integers), kept when present. */
export const ID_COLUMNS = ["chosen_ids", "rejected_ids"] as const;
/** Token ids as written in an {@link ID_COLUMNS} cell. */
export const IDS_PATTERN: RegExp = /^\d+( \d+)*$/;

/** Optional boolean columns, kept when present; their value where missing. */
export const BOOLEAN_COLUMNS = {
  tie: false,
  chosen_finished: true,
  rejected_finished: true,
} as const;
