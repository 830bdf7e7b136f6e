/**
 * Unpaired (binary) feedback, what KTO learns from (Ethayarajh et al. 2024): single
 * completions labelled desirable or undesirable, no pairs. Two sources:
 *
 * - **Preference pairs, unpaired** ({@link unpairPreferences}): each untied pair gives its
 *   chosen completion as desirable and its rejected one as undesirable, as the KTO paper
 *   turns paired data into binary feedback and TRL's `unpair_preference_dataset` does.
 *   n_D = n_U, so λ_D = λ_U = 1 meets the paper's advice λ_D·n_D/(λ_U·n_U) ∈ [1, 4/3].
 * - **A thumbs-up annotator** ({@link thumbsLabels}): a person shown one completion says
 *   whether it is good. The kit's simulated people are Bradley–Terry on the hidden reward
 *   (lib/data/annotators.ts); for one completion the natural counterpart compares it with
 *   what the person expects, a reference level r₀ (e.g. the mean reward of the SFT
 *   model's completions): P(desirable | y) = σ((r(y) − r₀)/τ), the Bradley–Terry
 *   probability that y beats a completion of reward r₀, at the pairwise annotators' τ.
 *
 * @module
 */
import type { TokenPair } from "./response_batch.ts";
import { sigmoid } from "./luce_model.ts";
import type { Rng } from "../util/rng.ts";
import { checkField } from "../util/schema.ts";

/** One unpaired example: a completion of a prompt, labelled. */
export interface KtoExample {
  /** Prompt token ids, starting with BOS. */
  prompt: readonly number[];
  /** Completion token ids (with EOS where the sampler emitted it). */
  completion: readonly number[];
  /** Whether the completion is labelled desirable. */
  desirable: boolean;
}

/**
 * Preference pairs as unpaired examples: for each untied pair, its chosen completion
 * (desirable) then its rejected one (undesirable), in pair order; ties are skipped (they
 * state no preference).
 * @example
 * ```ts
 * import { unpairPreferences } from "./unpaired_feedback.ts";
 * const ex = unpairPreferences([{ prompt: [1], chosen: [5, 2], rejected: [6] }]);
 * if (ex.length !== 2 || !ex[0]!.desirable || ex[1]!.desirable) throw new Error();
 * ```
 */
export function unpairPreferences(pairs: readonly TokenPair[]): KtoExample[] {
  return pairs.flatMap((p) =>
    p.tie ? [] : [
      { prompt: p.prompt, completion: p.chosen, desirable: true },
      { prompt: p.prompt, completion: p.rejected, desirable: false },
    ]
  );
}

/** Options of {@link thumbsLabels}. */
export interface ThumbsOptions {
  /** τ > 0, in reward units: the pairwise annotators' temperature. */
  tau: number;
  /** r₀: the reward of the completion the person compares with. */
  threshold: number;
}

/**
 * One thumbs-up/down label per completion: desirable with probability σ((r − r₀)/τ), one
 * uniform draw each, in order.
 * @param rewards the hidden reward of each completion.
 * @throws ConfigError when τ is not a finite number > 0 or r₀ is not finite.
 * @example
 * ```ts
 * import { thumbsLabels } from "./unpaired_feedback.ts";
 * import { Rng } from "../util/rng.ts";
 * // 50 τ above r₀ is desirable and 50 τ below undesirable, up to 2e-22.
 * const labels = thumbsLabels([5, -5], { tau: 0.1, threshold: 0 }, new Rng(0));
 * if (!labels[0] || labels[1]) throw new Error();
 * ```
 */
export function thumbsLabels(
  rewards: ArrayLike<number>,
  opts: ThumbsOptions,
  rng: Rng,
): boolean[] {
  const tau = checkField("tau", opts.tau, {
    type: "number",
    gt: 0,
    doc: "annotator temperature",
  }) as number;
  const r0 = checkField("threshold", opts.threshold, { type: "number", doc: "reference reward" });
  return Array.from(rewards, (r) => rng.next() < sigmoid((r - (r0 as number)) / tau));
}
