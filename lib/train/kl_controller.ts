/**
 * KL coefficient controllers for PPO with a KL-shaped reward (Ziegler et al. 2019,
 * "Fine-Tuning Language Models from Human Preferences", §2.2, arXiv:1909.08593).
 *
 * A fixed controller keeps β constant. The adaptive one steers the observed KL(π‖π_ref)
 * towards a target with a proportional controller on log β:
 *
 *     e_t = clip(KL_t / KL_target − 1, −0.2, 0.2)
 *     β_{t+1} = β_t · (1 + K_β · e_t),   K_β = n_steps / horizon
 *
 * so β grows when the policy drifts further than the target and shrinks when it stays
 * closer. (TRL's `AdaptiveKLController` is the same rule with n_steps = batch size.)
 *
 * @module
 */
import { resolveConfig, type Schema } from "../util/schema.ts";
import { checkField } from "../util/schema.ts";

/** A KL coefficient that may change with the observed KL. */
export interface KlController {
  /** The current β. */
  readonly value: number;
  /**
   * Feed the KL observed over the last `nSteps` samples (or updates).
   * @param currentKl observed KL(π‖π_ref), ≥ 0 (nats per sequence).
   * @param nSteps how many steps/samples that observation covers, ≥ 0.
   */
  update(currentKl: number, nSteps: number): void;
}

/** β that never changes; `update` only validates its input. */
export class FixedKlController implements KlController {
  readonly value: number;

  /**
   * A controller that keeps β fixed.
   * @param beta β ≥ 0.
   * @throws ConfigError when β is negative or not finite.
   */
  constructor(beta: number) {
    this.value = checkField("kl.beta", beta, {
      type: "number",
      min: 0,
      doc: "KL coefficient β",
    }) as number;
  }

  /** No-op apart from checking the arguments. */
  update(currentKl: number, nSteps: number): void {
    checkObservation(currentKl, nSteps);
  }
}

/** Settings of {@link AdaptiveKlController}. */
export interface AdaptiveKlConfig {
  /** Initial β > 0. */
  initBeta: number;
  /** Target KL(π‖π_ref) > 0 (Ziegler et al. used 6 nats for stylistic continuation). */
  target: number;
  /** Horizon H > 0 in steps: β moves by at most 20%·n_steps/H per update (10000 in the paper). */
  horizon: number;
}

const ADAPTIVE_SCHEMA: Schema<AdaptiveKlConfig> = {
  initBeta: { type: "number", gt: 0, doc: "initial KL coefficient β" },
  target: { type: "number", gt: 0, doc: "target KL in nats" },
  horizon: { type: "number", gt: 0, doc: "horizon in steps" },
};

/** Ziegler et al. (2019)'s proportional controller (formula in the module doc). */
export class AdaptiveKlController implements KlController {
  #value: number;
  /** The resolved, frozen settings. */
  readonly config: AdaptiveKlConfig;

  /**
   * A controller starting at `config.initBeta`.
   * @throws ConfigError naming the field for a non-positive or missing setting.
   */
  constructor(config: AdaptiveKlConfig) {
    this.config = resolveConfig("kl", ADAPTIVE_SCHEMA, config, {});
    this.#value = this.config.initBeta;
  }

  /** The current β. */
  get value(): number {
    return this.#value;
  }

  /** β ← β·(1 + clip(KL/target − 1, −0.2, 0.2)·nSteps/horizon). */
  update(currentKl: number, nSteps: number): void {
    checkObservation(currentKl, nSteps);
    const error = Math.min(0.2, Math.max(-0.2, currentKl / this.config.target - 1));
    this.#value *= 1 + error * nSteps / this.config.horizon;
  }
}

function checkObservation(currentKl: number, nSteps: number): void {
  checkField("kl.currentKl", currentKl, { type: "number", doc: "observed KL" });
  checkField("kl.nSteps", nSteps, { type: "number", min: 0, doc: "steps covered" });
}
