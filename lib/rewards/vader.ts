/**
 * The canonical simulated human: VADER sentiment of the completion (Hutto & Gilbert 2014,
 * "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social Media Text",
 * ICWSM), via the `vader-sentiment` JavaScript port.
 *
 * The reward is the compound score in [−1, 1] of the **completion only**. The prompt is
 * fixed by the data set and the policy controls only the completion, so scoring the
 * concatenation would add a prompt-dependent offset the policy cannot change (and would
 * let a negative prompt mask a positive continuation); this is the analogue of the DPO
 * paper's IMDb task, where the sentiment classifier judges the generated review text.
 *
 * Measured speed: about 25,000 completions/s on one core of the 2-core development
 * machine (4–16-word completions), so scoring is never the bottleneck next to sampling.
 *
 * @module
 */
// The package is CommonJS (a webpack bundle that assigns `exports.SentimentIntensityAnalyzer`);
// Deno's npm compatibility layer detects that assignment and exposes it as a named ESM
// export. It ships no types, so the one call used here is typed below.
import { SentimentIntensityAnalyzer } from "vader-sentiment";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { checkBatch, type GoldReward } from "./types.ts";

/** The part of `vader-sentiment`'s analyser this module relies on. */
interface VaderAnalyzer {
  polarity_scores(text: string): { neg: number; neu: number; pos: number; compound: number };
}
const analyzer = SentimentIntensityAnalyzer as VaderAnalyzer;

/** Options of {@link vaderReward}. */
export interface VaderOptions {
  /** Multiply the compound score by this (e.g. to put it on another scale). */
  scale: number;
}

/** Schema for {@link VaderOptions}. */
export const VADER_SCHEMA: Schema<VaderOptions> = {
  scale: { type: "number", gt: 0, doc: "factor applied to the compound score in [−1, 1]" },
};

/** Defaults for {@link VaderOptions}: the raw compound score. */
export const VADER_DEFAULTS: VaderOptions = { scale: 1 };

/**
 * VADER compound sentiment of `text`, in [−1, 1] (0 for empty or neutral text).
 * Deterministic: VADER is a lexicon with fixed rules.
 * @example
 * ```ts
 * import { vaderCompound } from "./vader.ts";
 * if (!(vaderCompound("a wonderful, lovely film") > 0)) throw new Error();
 * ```
 */
export function vaderCompound(text: string): number {
  return analyzer.polarity_scores(text).compound;
}

/**
 * The gold reward r(x, y) = scale · VADER-compound(y); the prompt x is ignored (see the
 * module doc for why).
 * @param opts partial {@link VaderOptions}; unknown keys are a ConfigError.
 */
export function vaderReward(opts: Partial<VaderOptions> = {}): GoldReward {
  const { scale } = resolveConfig("rewards.vader", VADER_SCHEMA, VADER_DEFAULTS, opts);
  const score = (_prompt: string, completion: string) => scale * vaderCompound(completion);
  return {
    name: "vader",
    score,
    scoreBatch(prompts, completions) {
      checkBatch("vader", prompts, completions);
      const out = new Float64Array(completions.length);
      for (let i = 0; i < completions.length; i++) out[i] = scale * vaderCompound(completions[i]!);
      return out;
    },
  };
}
