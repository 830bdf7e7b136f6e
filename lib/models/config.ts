/**
 * The transformer's typed config (GPT-2 shape, Radford et al. 2019), with validation that
 * names the field and the value.
 *
 * @module
 */
import { ConfigError } from "../util/errors.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";

/** Shape of a causal transformer LM. */
export interface ModelConfig {
  /** Vocabulary size V, including the special tokens. */
  vocabSize: number;
  /** Residual width D. */
  dModel: number;
  /** Number of transformer blocks L. */
  nLayers: number;
  /** Attention heads H; D must be divisible by H. */
  nHeads: number;
  /** Maximum sequence length (positions) T_max. */
  context: number;
  /** Dropout rate on attention output, MLP output and embeddings while training. */
  dropout: number;
  /** MLP hidden width as a multiple of D (4 in GPT-2). */
  mlpRatio: number;
}

/** Field specs for {@link ModelConfig}. */
export const MODEL_CONFIG_SCHEMA: Schema<ModelConfig> = {
  vocabSize: { type: "number", int: true, min: 5, doc: "vocabulary size incl. specials" },
  dModel: { type: "number", int: true, min: 1, doc: "residual width" },
  nLayers: { type: "number", int: true, min: 1, doc: "transformer blocks" },
  nHeads: { type: "number", int: true, min: 1, doc: "attention heads" },
  context: { type: "number", int: true, min: 2, doc: "maximum sequence length" },
  dropout: { type: "number", min: 0, lt: 1, doc: "dropout rate while training" },
  mlpRatio: { type: "number", int: true, min: 1, doc: "MLP width / dModel" },
};

/** The reference model of the benchmarks (vocab 2000, d 128, 2 layers, 4 heads, context 32). */
export const REFERENCE_MODEL: ModelConfig = {
  vocabSize: 2000,
  dModel: 128,
  nLayers: 2,
  nHeads: 4,
  context: 32,
  dropout: 0,
  mlpRatio: 4,
};

/** Validate a model config, merging `overrides` over {@link REFERENCE_MODEL}. */
export function modelConfig(overrides: Partial<ModelConfig> = {}, section = "model"): ModelConfig {
  const c = resolveConfig(section, MODEL_CONFIG_SCHEMA, REFERENCE_MODEL, overrides);
  if (c.dModel % c.nHeads !== 0) {
    throw new ConfigError(
      `${section}.dModel must be divisible by ${section}.nHeads, got dModel ${c.dModel} and nHeads ${c.nHeads}`,
    );
  }
  return c;
}
