/**
 * A length reward: the simplest reward to hack, used to show over-optimisation and the
 * length bias that preference-trained reward models are known to pick up.
 *
 * @module
 */
import { resolveConfig, type Schema } from "../util/schema.ts";
import { type GoldReward, goldRewardFromFn, words } from "./types.ts";

/** Options of {@link lengthReward}. */
export interface LengthOptions {
  /** Target length L* (in `unit`s). */
  target: number;
  /**
   * `distance`: r = −|L − L*| (peaked at the target);
   * `ratio`: r = min(L / L*, 1) (longer is better up to the target).
   */
  mode: "distance" | "ratio";
  /** What L counts: words (as in {@link words}) or characters. */
  unit: "words" | "chars";
}

/** Schema for {@link LengthOptions}. */
export const LENGTH_SCHEMA: Schema<LengthOptions> = {
  target: { type: "number", gt: 0, doc: "target length L* in units" },
  mode: { type: "enum", values: ["distance", "ratio"], doc: "−|L − L*| or min(L/L*, 1)" },
  unit: { type: "enum", values: ["words", "chars"], doc: "what the length counts" },
};

/** Defaults: −|words − 8|, half the ~16-token completion budget. */
export const LENGTH_DEFAULTS: LengthOptions = { target: 8, mode: "distance", unit: "words" };

/**
 * r(x, y) = −|L(y) − L*| or min(L(y)/L*, 1); the prompt is ignored.
 * @param opts partial {@link LengthOptions}; unknown keys are a ConfigError.
 * @example
 * ```ts
 * import { lengthReward } from "./length.ts";
 * if (lengthReward({ target: 3 }).score("", "one two") !== -1) throw new Error();
 * ```
 */
export function lengthReward(opts: Partial<LengthOptions> = {}): GoldReward {
  const cfg = resolveConfig("rewards.length", LENGTH_SCHEMA, LENGTH_DEFAULTS, opts);
  return goldRewardFromFn("length", (_prompt, completion) => {
    const len = cfg.unit === "words" ? words(completion).length : completion.length;
    return cfg.mode === "distance" ? -Math.abs(len - cfg.target) : Math.min(len / cfg.target, 1);
  });
}
