/**
 * The annotator section of an experiment config: which noise model, its temperature τ,
 * its pair mode and its tie parameter ν, with schema and defaults, and the factory that
 * builds the annotator from it ({@link annotatorFromConfig}).
 *
 * @module
 */
import { resolveConfig, type Schema } from "../util/schema.ts";
import { PAIR_MODES, type PairMode } from "./annotator_pairs.ts";
import { type Annotator, bradleyTerry, noiseless, plackettLuce } from "./annotators.ts";

/** Which annotator a config asks for. */
export const ANNOTATOR_KINDS = ["bradley_terry", "plackett_luce", "noiseless"] as const;

/** Annotator section of an experiment config. */
export interface AnnotatorConfig {
  /** Noise model. */
  kind: (typeof ANNOTATOR_KINDS)[number];
  /** Temperature τ > 0 in reward units (ignored by `noiseless`). */
  tau: number;
  /** How k > 2 rankings become pairs. */
  pairs: PairMode;
  /** Davidson's tie parameter ν ≥ 0: P(tie) = ν/(2 + ν) at equal rewards; 0 = no ties. */
  nu: number;
}

/** Schema for {@link AnnotatorConfig}. */
export const ANNOTATOR_SCHEMA: Schema<AnnotatorConfig> = {
  kind: { type: "enum", values: ANNOTATOR_KINDS, doc: "annotator noise model" },
  tau: { type: "number", gt: 0, doc: "temperature τ in reward units" },
  pairs: { type: "enum", values: PAIR_MODES, doc: "how a ranking becomes pairs" },
  nu: { type: "number", min: 0, doc: "Davidson tie parameter ν, 0 = no ties" },
};

/**
 * Defaults: Bradley–Terry with τ = 0.2 on VADER's [−1, 1] scale, so a gap of 0.2 is
 * labelled right 73% of the time and a gap of 0.6 95%.
 */
export const ANNOTATOR_DEFAULTS: AnnotatorConfig = {
  kind: "bradley_terry",
  tau: 0.2,
  pairs: "all",
  nu: 0,
};

/** Build an annotator from a (partial) {@link AnnotatorConfig}; fields are validated. */
export function annotatorFromConfig(overrides: Partial<AnnotatorConfig> = {}): Annotator {
  const cfg = resolveConfig("annotator", ANNOTATOR_SCHEMA, ANNOTATOR_DEFAULTS, overrides);
  switch (cfg.kind) {
    case "bradley_terry":
      return bradleyTerry(cfg.tau, { pairs: cfg.pairs, nu: cfg.nu });
    case "plackett_luce":
      return plackettLuce(cfg.tau, { pairs: cfg.pairs, nu: cfg.nu });
    case "noiseless":
      return noiseless({ pairs: cfg.pairs, nu: cfg.nu });
  }
}
