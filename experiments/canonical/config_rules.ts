/**
 * Resolving a grid point's config: every field checked against the schema, then every
 * rule that ties fields together, before any work, with the fields' own names.
 *
 * @module
 */
import { checkPpoRules } from "../../lib/train/ppo_config.ts";
import { checkRlooRules } from "../../lib/train/rloo.ts";
import { ConfigError } from "../../lib/util/errors.ts";
import { resolveConfig } from "../../lib/util/schema.ts";
import { BPE_MIN_VOCAB, type CanonicalConfig } from "./config.ts";
import { CANONICAL_SCHEMA } from "./config_schema.ts";

/**
 * Merge overrides over `base` (a preset), check every field and then every rule that ties
 * fields together, so a bad point fails before any work with the fields' own names.
 * @throws ConfigError naming the field(s), the value and what is allowed.
 */
export function resolveCanonical(base: CanonicalConfig, overrides: unknown = {}): CanonicalConfig {
  const c = resolveConfig("", CANONICAL_SCHEMA, base, overrides);
  checkCanonical(c);
  return c;
}

/**
 * The cross-field rules of the canonical experiment.
 * @throws ConfigError naming the fields as the user types them (`--model.dModel`, …).
 */
export function checkCanonical(c: CanonicalConfig): void {
  const repeated = c.methods.find((m, i) => c.methods.indexOf(m) !== i);
  if (repeated) {
    throw new ConfigError(`methods lists ${repeated} twice (${c.methods.join(",")})`);
  }
  if (c.model.dModel % c.model.nHeads !== 0) {
    throw new ConfigError(
      `model.dModel (${c.model.dModel}) must be divisible by model.nHeads (${c.model.nHeads})`,
    );
  }
  if (c.data.promptMaxWords < c.data.promptMinWords) {
    throw new ConfigError(
      `data.promptMaxWords (${c.data.promptMaxWords}) must be >= data.promptMinWords (${c.data.promptMinWords})`,
    );
  }
  if (c.eval.checkpointPrompts > c.data.evalPrompts) {
    throw new ConfigError(
      `eval.checkpointPrompts (${c.eval.checkpointPrompts}) must be <= data.evalPrompts ` +
        `(${c.data.evalPrompts}): checkpoints are evaluated on the first held-out prompts`,
    );
  }
  if (c.prefs.prompts + c.prefs.spearmanSamples > c.data.trainPrompts) {
    throw new ConfigError(
      `prefs.prompts (${c.prefs.prompts}) + prefs.spearmanSamples (${c.prefs.spearmanSamples}) ` +
        `must be <= data.trainPrompts (${c.data.trainPrompts}): the reward model's Spearman ` +
        `check uses training prompts that were not labelled`,
    );
  }
  if (c.data.promptMaxTokens < c.data.promptMinWords) {
    throw new ConfigError(
      `data.promptMaxTokens (${c.data.promptMaxTokens}) must be >= data.promptMinWords ` +
        `(${c.data.promptMinWords}): every word is at least one token`,
    );
  }
  if (c.data.tokenizer === "bpe" && c.data.vocabSize < BPE_MIN_VOCAB) {
    throw new ConfigError(
      `data.vocabSize (${c.data.vocabSize}) must be >= ${BPE_MIN_VOCAB} with data.tokenizer ` +
        `"bpe": 4 special tokens and 256 byte tokens come before any merge`,
    );
  }
  // BOS + prompt + completion + the EOS the reward model reads its score at.
  const online = [
    ["grpo", c.grpo.maxNewTokens],
    ["dr_grpo", c.grpo.maxNewTokens],
    ["rloo", c.rloo.maxNewTokens],
    ["online_dpo", c.odpo.maxNewTokens],
  ] as const;
  const newTokens = Math.max(
    c.data.maxNewTokens,
    c.ppo.maxNewTokens,
    ...online.filter(([m]) => c.methods.includes(m)).map(([, n]) => n),
  );
  const longest = 2 + c.data.promptMaxTokens + newTokens;
  if (longest > c.model.context) {
    throw new ConfigError(
      `a prompt of data.promptMaxTokens ${c.data.promptMaxTokens} + BOS + ${newTokens} ` +
        `new tokens + EOS needs model.context >= ${longest}, but it is ${c.model.context}`,
    );
  }
  if (c.methods.some((m) => m === "ppo" || m === "ppo_gt")) checkPpoRules(c.ppo, "ppo");
  if (c.methods.includes("bon") && c.bon.n > c.bon.poolSize) {
    throw new ConfigError(
      `bon.n (${c.bon.n}) must be <= bon.poolSize (${c.bon.poolSize}): best-of-n takes the ` +
        `first n of a pool of bon.poolSize candidates; raise --bon.poolSize to the largest n`,
    );
  }
  if (c.methods.includes("rloo")) checkRlooRules(c.rloo, "rloo");
}
