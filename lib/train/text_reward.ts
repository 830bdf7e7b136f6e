/**
 * A reward source that reads text: completions are decoded and scored by a function of
 * (prompt, completion) strings, as a person (or the hidden gold reward) reads them.
 *
 * @module
 */
import type { RewardSource } from "./rollout.ts";

/** Scores decoded (prompt, completion) texts, one number each. */
export interface TextScorer {
  /** Score each completion given its prompt. */
  scoreBatch(prompts: readonly string[], completions: readonly string[]): ArrayLike<number>;
}

/**
 * A {@link RewardSource} that decodes prompts and completions with `decode` and scores the
 * texts with `scorer` (e.g. the gold VADER reward of lib/rewards).
 * @param decode token ids → text (e.g. a tokenizer's `decode`).
 * @param scorer the text reward.
 * @example
 * ```ts
 * import { textRewardSource } from "./text_reward.ts";
 * import { responseBatch } from "../data/response_batch.ts";
 * const src = textRewardSource((ids) => ids.join(" "), {
 *   scoreBatch: (_p, ys) => ys.map((y) => y.length),
 * });
 * const r = await src([[1]], [[7, 8]], responseBatch([[1]], [[7, 8]], 8));
 * if (r[0] !== 3) throw new Error();
 * ```
 */
export function textRewardSource(
  decode: (ids: readonly number[]) => string,
  scorer: TextScorer,
): RewardSource {
  return (prompts, responses) => {
    const p = prompts.map((ids) => decode(ids));
    const y = responses.map((ids) => decode(ids));
    return Promise.resolve(Float32Array.from(scorer.scoreBatch(p, y)));
  };
}
