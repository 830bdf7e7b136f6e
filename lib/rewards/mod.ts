/**
 * Gold ("human") reward functions and their registry.
 *
 * @example
 * ```ts
 * import { goldReward } from "./mod.ts";
 * const r = goldReward("vader");
 * if (!(r.score("the film was", "a terrible, awful mess") < 0)) throw new Error();
 * ```
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";
import { type LengthOptions, lengthReward } from "./length.ts";
import { type TargetWordsOptions, targetWordsReward } from "./target_words.ts";
import type { GoldReward } from "./types.ts";
import { type VaderOptions, vaderReward } from "./vader.ts";

export * from "./types.ts";
export * from "./vader.ts";
export * from "./target_words.ts";
export * from "./length.ts";

/** Names of the registered gold rewards. */
export const GOLD_REWARD_NAMES = ["vader", "target_words", "length"] as const;
/** A registered gold reward name. */
export type GoldRewardName = (typeof GOLD_REWARD_NAMES)[number];

/**
 * Registry: name → factory. Each factory validates its options (unknown keys and bad
 * values are ConfigErrors naming `rewards.<name>.<field>`).
 */
export const GOLD_REWARDS: Record<GoldRewardName, (opts?: Record<string, unknown>) => GoldReward> =
  {
    vader: (opts) => vaderReward(opts as Partial<VaderOptions>),
    target_words: (opts) => targetWordsReward(opts as Partial<TargetWordsOptions>),
    length: (opts) => lengthReward(opts as Partial<LengthOptions>),
  };

/**
 * Build a gold reward by name (e.g. from a config file).
 * @throws ConfigError for an unknown name, listing the known ones.
 */
export function goldReward(name: string, opts: Record<string, unknown> = {}): GoldReward {
  if (!(GOLD_REWARD_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(
      `rewards.name must be one of ${GOLD_REWARD_NAMES.map((n) => `"${n}"`).join(", ")}, ` +
        `got ${show(name)}`,
    );
  }
  return GOLD_REWARDS[name as GoldRewardName](opts);
}
