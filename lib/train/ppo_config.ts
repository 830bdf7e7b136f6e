/**
 * PPO's hyper-parameters: the config type with a doc line per field, its schema, the
 * defaults for the canonical task, and the rule that ties fields together
 * ({@link checkPpoRules}), so a bad setting fails with one line before any work.
 *
 * @module
 */
import { KL_ESTIMATORS, type KlEstimator } from "../losses/kl.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";
import { ConfigError } from "../util/errors.ts";

/** PPO hyper-parameters (names follow TRL's PPOConfig where they coincide). */
export interface PpoConfig {
  /** PPO iterations (rollout + update). */
  iterations: number;
  /** Prompts per rollout. */
  rolloutBatch: number;
  /** Maximum new tokens per completion. */
  maxNewTokens: number;
  /**
   * Sampling temperature τ of rollouts. The trained policy is the tempered π_τ =
   * softmax(logits/τ): log π_old, log π_θ in the clipped ratio, log π_ref in the KL and
   * the entropy are all read at τ (as TRL does).
   */
  temperature: number;
  /** Passes over each rollout. */
  epochs: number;
  /** Rows per minibatch. */
  minibatchSize: number;
  /** Policy learning rate (constant). */
  lr: number;
  /** Value-model learning rate (constant). */
  valueLr: number;
  /** Global gradient-norm clip. */
  gradClip: number;
  /** ε of the clipped surrogate. */
  clipRange: number;
  /** ε_v of the clipped value loss. */
  clipRangeValue: number;
  /** Entropy bonus coefficient (0: off). */
  entCoef: number;
  /** Discount γ. */
  gamma: number;
  /** GAE λ. */
  lambda: number;
  /** KL coefficient β (initial β when adaptive). */
  beta: number;
  /** Per-token KL estimator in the shaped reward. */
  klEstimator: KlEstimator;
  /**
   * Target KL(π‖π_ref) (nats per sequence) of the adaptive β controller (Ziegler et al.
   * 2019); null: β stays fixed. Not to be confused with {@link PpoConfig.earlyStopKl}.
   */
  adaptiveKlTarget: number | null;
  /** Horizon of the adaptive controller, in samples. */
  klHorizon: number;
  /** Whiten the sequence scores over each rollout batch. */
  whitenRewards: boolean;
  /** Clip scores to ±this (null: off). */
  rewardClip: number | null;
  /** Subtract this from the score of completions that hit the length limit without EOS. */
  noEosPenalty: number | null;
  /**
   * Stop an iteration's remaining epochs when the minibatch approx KL(π_old‖π) exceeds this
   * (TRL's and CleanRL's `target_kl`); null: never.
   */
  earlyStopKl: number | null;
  /** Emit sample texts every this many iterations (0: never). */
  sampleEvery: number;
  /**
   * Call the run's `evaluate` after every this many iterations and after the last one
   * (0: never), e.g. to measure checkpoints on held-out prompts through training.
   */
  evalEvery: number;
  /** Seed of prompt order and sampling. */
  seed: number;
}

/** Field specs for {@link PpoConfig}. */
export const PPO_CONFIG_SCHEMA: Schema<PpoConfig> = {
  iterations: { type: "number", int: true, min: 1, doc: "PPO iterations" },
  rolloutBatch: { type: "number", int: true, min: 2, doc: "prompts per rollout" },
  maxNewTokens: { type: "number", int: true, min: 1, doc: "max new tokens per completion" },
  temperature: { type: "number", gt: 0, doc: "rollout sampling temperature" },
  epochs: { type: "number", int: true, min: 1, doc: "passes over each rollout" },
  minibatchSize: { type: "number", int: true, min: 1, doc: "rows per minibatch" },
  lr: { type: "number", gt: 0, doc: "policy learning rate" },
  valueLr: { type: "number", gt: 0, doc: "value learning rate" },
  gradClip: { type: "number", min: 0, doc: "global gradient-norm clip, 0 = off" },
  clipRange: { type: "number", gt: 0, doc: "PPO ratio clip ε" },
  clipRangeValue: { type: "number", gt: 0, doc: "value clip ε_v" },
  entCoef: { type: "number", min: 0, doc: "entropy bonus coefficient" },
  gamma: { type: "number", min: 0, max: 1, doc: "discount γ" },
  lambda: { type: "number", min: 0, max: 1, doc: "GAE λ" },
  beta: { type: "number", min: 0, doc: "KL coefficient β" },
  klEstimator: { type: "enum", values: KL_ESTIMATORS, doc: "per-token KL estimator" },
  adaptiveKlTarget: {
    type: "number",
    gt: 0,
    nullable: true,
    doc: "KL(π‖π_ref) the adaptive β controller steers to, null = fixed β",
  },
  klHorizon: { type: "number", gt: 0, doc: "adaptive KL horizon in samples" },
  whitenRewards: { type: "boolean", doc: "whiten sequence scores per rollout" },
  rewardClip: { type: "number", gt: 0, nullable: true, doc: "clip scores to ±c, null = off" },
  noEosPenalty: { type: "number", min: 0, nullable: true, doc: "penalty for no EOS, null = off" },
  earlyStopKl: {
    type: "number",
    gt: 0,
    nullable: true,
    doc: "approx KL(π_old‖π) that stops an iteration's epochs, null = off",
  },
  sampleEvery: { type: "number", int: true, min: 0, doc: "emit samples every N iterations" },
  evalEvery: { type: "number", int: true, min: 0, doc: "evaluate every N iterations, 0 = never" },
  seed: { type: "number", int: true, doc: "seed of prompts and sampling" },
};

/** Defaults for the canonical task on 2 cores. */
export const PPO_DEFAULTS: PpoConfig = {
  iterations: 30,
  rolloutBatch: 64,
  maxNewTokens: 12,
  temperature: 1,
  epochs: 4,
  minibatchSize: 16,
  lr: 3e-4,
  valueLr: 1e-3,
  gradClip: 1,
  clipRange: 0.2,
  clipRangeValue: 0.2,
  entCoef: 0,
  gamma: 1,
  lambda: 0.95,
  beta: 0.1,
  klEstimator: "k1",
  adaptiveKlTarget: null,
  klHorizon: 10000,
  whitenRewards: false,
  rewardClip: null,
  noEosPenalty: null,
  earlyStopKl: 0.1,
  sampleEvery: 10,
  evalEvery: 0,
  seed: 0,
};

/** Validate a PPO config over {@link PPO_DEFAULTS}, field by field and across fields. */
export function ppoConfig(overrides: Partial<PpoConfig> = {}, section = "ppo"): PpoConfig {
  const c = resolveConfig(section, PPO_CONFIG_SCHEMA, PPO_DEFAULTS, overrides);
  checkPpoRules(c, section);
  return c;
}

/**
 * The rules that tie PPO fields together, checked before any work so the message names
 * the fields as the user typed them (`section` is their prefix, e.g. `ppo`).
 * @throws ConfigError when adaptive KL control has β = 0 (the controller scales β
 *   multiplicatively, so it could never leave 0).
 */
export function checkPpoRules(
  c: Pick<PpoConfig, "beta" | "adaptiveKlTarget">,
  section = "ppo",
): void {
  if (c.adaptiveKlTarget !== null && !(c.beta > 0)) {
    throw new ConfigError(
      `${section}.beta must be > 0 when ${section}.adaptiveKlTarget is set ` +
        `(${c.adaptiveKlTarget}): the adaptive controller scales β multiplicatively, so ` +
        `from ${c.beta} it could never move; give ${section}.beta > 0 or ` +
        `${section}.adaptiveKlTarget null`,
    );
  }
}
