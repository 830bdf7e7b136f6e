/**
 * The optimisation fields every gradient trainer shares (SFT, reward model, DPO), with
 * their schema, so each trainer's config spreads them instead of repeating them.
 *
 * @module
 */
import type { Schema } from "../util/schema.ts";

/** Steps, batch, AdamW and schedule settings, logging cadence and seed. */
export interface LoopConfig {
  /** Optimiser steps. */
  steps: number;
  /** Examples (sequences or pairs) per batch. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Final learning rate of the cosine decay. */
  minLr: number;
  /** Linear warmup steps. */
  warmupSteps: number;
  /** Decoupled weight decay λ (matrices only). */
  weightDecay: number;
  /** Global gradient-norm clip (0: off). */
  gradClip: number;
  /** Evaluate every this many steps (0: only at the end). */
  evalEvery: number;
  /** Log a metric row every this many steps. */
  logEvery: number;
  /** Seed of the batch order and dropout. */
  seed: number;
}

/** Field specs for {@link LoopConfig}. */
export const LOOP_CONFIG_SCHEMA: Schema<LoopConfig> = {
  steps: { type: "number", int: true, min: 1, doc: "optimiser steps" },
  batchSize: { type: "number", int: true, min: 1, doc: "examples per batch" },
  lr: { type: "number", gt: 0, doc: "peak learning rate" },
  minLr: { type: "number", min: 0, doc: "final learning rate" },
  warmupSteps: { type: "number", int: true, min: 0, doc: "linear warmup steps" },
  weightDecay: { type: "number", min: 0, doc: "AdamW weight decay" },
  gradClip: { type: "number", min: 0, doc: "global gradient-norm clip, 0 = off" },
  evalEvery: { type: "number", int: true, min: 0, doc: "evaluate every N steps, 0 = at the end" },
  logEvery: { type: "number", int: true, min: 1, doc: "log a metric row every N steps" },
  seed: { type: "number", int: true, doc: "seed of batch order and dropout" },
};
