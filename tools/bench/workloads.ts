/**
 * What the benchmark measures: the models, the workload sizes and the training step's
 * optimiser settings. The deno sections and the PyTorch peer both read them from here,
 * so the two sides cannot drift apart.
 *
 * @module
 */
import { type ModelConfig, modelConfig, REFERENCE_MODEL } from "../../lib/models/config.ts";

/** Sizes of the benchmark workloads. */
export interface Workload {
  /** Training batch B. */
  trainBatch: number;
  /** Training sequence length T (tokens per row, all real). */
  trainLength: number;
  /** Sampling batch. */
  sampleBatch: number;
  /** Prompt length, BOS included. */
  promptLength: number;
  /** New tokens per row (no early stop). */
  newTokens: number;
}

/** The reference workload: batch 32 × 32 tokens; sampling 64 rows, 8-token prompts, 16 new. */
export const REFERENCE_WORKLOAD: Workload = {
  trainBatch: 32,
  trainLength: 32,
  sampleBatch: 64,
  promptLength: 8,
  newTokens: 16,
};

/**
 * The timed training step's AdamW (lib/train/adamw.ts): decoupled weight decay on matrices
 * only, global-norm clipping, the kit's default betas. Sent to the PyTorch peer as is.
 */
export const TRAIN_STEP = {
  lr: 1e-4,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.01,
  gradClip: 1,
} as const;

/** A model and the workload run on it. */
export interface BenchModel {
  /** The model's shape. */
  model: ModelConfig;
  /** Workload sizes. */
  workload: Workload;
}

/** Models the bench can run: the reference one, GPU sizes, and a tiny one for smoke tests. */
export const BENCH_MODELS: Record<string, BenchModel> = {
  reference: { model: REFERENCE_MODEL, workload: REFERENCE_WORKLOAD },
  /** The reference model at batch 256: the GPU figure of the speed issue. */
  "reference-b256": {
    model: REFERENCE_MODEL,
    workload: { ...REFERENCE_WORKLOAD, trainBatch: 256 },
  },
  /** A larger model for GPUs: d_model 512, 6 layers, context 64. */
  large: {
    model: modelConfig({ vocabSize: 2000, dModel: 512, nLayers: 6, nHeads: 8, context: 64 }),
    workload: { ...REFERENCE_WORKLOAD, trainLength: 64 },
  },
  tiny: {
    model: modelConfig({ vocabSize: 64, dModel: 16, nLayers: 1, nHeads: 2, context: 16 }),
    workload: { trainBatch: 4, trainLength: 8, sampleBatch: 4, promptLength: 3, newTokens: 4 },
  },
};
