/**
 * The canonical experiment's presets. Each states only what it changes — from the
 * experiment's defaults (config.ts, which spread the trainers' defaults) or from the
 * preset it extends — and the grid it sweeps. `deno task sweep canonical --help` prints
 * them.
 *
 * - `tiny`: seconds; tests of the sweep machinery (resume, shards, faults);
 * - `quick`: a few minutes on 2 cores; notebooks and smoke runs;
 * - `default`: `deno task reproduce`;
 * - `full`: a bigger model, more steps and three seeds: a GPU or a long night.
 *
 * @module
 */
import type { GridAxis } from "../../lib/sweep/grid.ts";
import { ConfigError } from "../../lib/util/errors.ts";
import { type CanonicalConfig, METHODS } from "./config.ts";
import { CANONICAL_DEFAULTS } from "./config_defaults.ts";
import { resolveCanonical } from "./config_rules.ts";

/** Nested partial of a config: every section optional, and every field in it. */
export type ConfigPatch<T> = {
  [K in keyof T]?: T[K] extends unknown[] ? T[K] : ConfigPatch<T[K]> | T[K];
};

/** A named preset: what it changes and which grid it sweeps. */
export interface Preset {
  /** One line: what the preset is for. */
  doc: string;
  /** The preset this one builds on (none: the experiment's defaults). */
  extends?: string;
  /** Fields changed (from the parent preset, or the defaults). */
  set: ConfigPatch<CanonicalConfig>;
  /**
   * Grid axes: dotted field → values, one run per combination (methods pick which axes
   * apply). Replaces the parent's axis of the same field.
   */
  grid: Record<string, unknown[]>;
}

/** The named presets, in the order `--help` lists them. */
export const CANONICAL_PRESETS: Readonly<Record<string, Preset>> = {
  quick: {
    doc: "a few minutes on 2 cores: notebooks and smoke runs (the default's recipe, smaller)",
    set: {
      methods: ["ppo", "grpo", "rloo", "dpo", "bon"],
      checkpointEvery: 10,
      // 16-token completions, as the default's: at 10, 81% of SFT samples had no sentiment
      // word (gold exactly 0) and the reward model learned nothing (held-out accuracy 0.49).
      data: { vocabSize: 4000, trainPrompts: 1000, evalPrompts: 128, maxNewTokens: 16 },
      model: { dModel: 64, context: 28 },
      base: { steps: 600, warmupSteps: 20, evalEvery: 0 },
      // Early stopping keeps the step that reads held-out reviews best (stages/lm.ts).
      sft: { steps: 100, lr: 3e-4, minLr: 3e-5, warmupSteps: 5, evalEvery: 10 },
      prefs: { prompts: 400, k: 8 },
      // About one epoch of the ~7k untied training pairs.
      rm: { steps: 300, warmupSteps: 5, evalEvery: 0 },
      ppo: {
        iterations: 12,
        rolloutBatch: 32,
        maxNewTokens: 16,
        epochs: 2,
        lr: 5e-4,
        sampleEvery: 4,
        evalEvery: 3,
      },
      // One epoch of the reward model's pairs, at a rate that ends at half its peak.
      dpo: { steps: 150, warmupSteps: 5, minLr: 2.5e-4, evalEvery: 50 },
      // The online methods sample as many completions per iteration as PPO (32).
      grpo: {
        iterations: 12,
        promptsPerIteration: 4,
        maxNewTokens: 16,
        lr: 5e-4,
        sampleEvery: 4,
        evalEvery: 3,
      },
      rloo: {
        iterations: 12,
        promptsPerIteration: 8,
        maxNewTokens: 16,
        lr: 5e-4,
        sampleEvery: 4,
        evalEvery: 3,
      },
      odpo: {
        iterations: 16,
        promptsPerIteration: 16,
        epochs: 2,
        minibatchSize: 8,
        maxNewTokens: 16,
        sampleEvery: 4,
      },
      kto: { steps: 150, warmupSteps: 5, minLr: 2.5e-4 },
    },
    grid: {
      "ppo.beta": [0.05, 0.3],
      "dpo.beta": [0.05, 0.3],
      "bon.n": [1, 4, 16],
      "grpo.beta": [0.05, 0.3],
      "rloo.beta": [0.05, 0.3],
      "odpo.beta": [0.05, 0.3],
      "kto.beta": [0.05, 0.3],
    },
  },
  default: {
    doc: "deno task reproduce: the canonical experiment, three seeds",
    extends: "quick",
    set: {
      methods: ["ppo", "ppo_gt", "grpo", "rloo", "dpo", "bon"],
      data: { trainPrompts: 2000, evalPrompts: 512, maxNewTokens: 16 },
      model: { context: 28 },
      base: { steps: 1600, warmupSteps: 50, evalEvery: 800 },
      sft: { steps: 150 },
      // k = 8 gives 28 pairs a prompt: ~17k untied pairs after the annotators' ties.
      prefs: { prompts: 800, k: 8, spearmanSamples: 256 },
      // About one epoch of the untied training pairs: train accuracy stays near the ceiling.
      rm: { steps: 450, evalEvery: 150 },
      ppo: { iterations: 24, rolloutBatch: 48, epochs: 4, maxNewTokens: 16, evalEvery: 6 },
      // The reward model's label budget: one epoch of the same training pairs.
      dpo: { steps: 450, evalEvery: 150 },
      // 48 completions per iteration and 4 passes, as PPO's rollouts.
      grpo: {
        iterations: 24,
        promptsPerIteration: 6,
        epochs: 4,
        maxNewTokens: 16,
        evalEvery: 6,
      },
      rloo: {
        iterations: 24,
        promptsPerIteration: 12,
        epochs: 4,
        maxNewTokens: 16,
        evalEvery: 6,
      },
      odpo: { iterations: 48, promptsPerIteration: 24, maxNewTokens: 16 },
      kto: { steps: 450 },
      bon: { poolSize: 64 },
    },
    grid: {
      seed: [1, 2, 3],
      "ppo.beta": [0.05, 0.3],
      "dpo.beta": [0.05, 0.3],
      "bon.n": [1, 4, 16, 64],
      "grpo.beta": [0.05, 0.3],
      "rloo.beta": [0.05, 0.3],
      "odpo.beta": [0.05, 0.3],
      "kto.beta": [0.05, 0.3],
    },
  },
  full: {
    doc: "bigger model, more steps, three seeds: a GPU or a long night",
    extends: "default",
    set: {
      methods: [...METHODS], // every method the experiment has
      checkpointEvery: 50,
      data: { vocabSize: 4000, trainPrompts: 5000, evalPrompts: 512 },
      model: { dModel: 256, nLayers: 4, nHeads: 8, context: 32, dropout: 0.1 },
      base: { steps: 5000, batchSize: 64 },
      sft: { steps: 1000, batchSize: 64 },
      prefs: { prompts: 4000, k: 4 },
      rm: { steps: 2000, batchSize: 64 },
      ppo: { iterations: 200, rolloutBatch: 128, minibatchSize: 32 },
      dpo: { steps: 1000, batchSize: 64 },
      grpo: { iterations: 200, promptsPerIteration: 16, minibatchSize: 32 },
      rloo: { iterations: 200, promptsPerIteration: 32, minibatchSize: 32 },
      odpo: { iterations: 400, promptsPerIteration: 64, minibatchSize: 32 },
      kto: { steps: 1000, batchSize: 64 },
    },
    grid: {
      seed: [1, 2, 3],
      "ppo.beta": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
      "dpo.beta": [0.01, 0.05, 0.1, 0.3, 1, 3],
      "bon.n": [1, 2, 4, 8, 16, 32, 64],
      "grpo.beta": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
      "rloo.beta": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
      "odpo.beta": [0.01, 0.05, 0.1, 0.3, 1, 3],
      "kto.beta": [0.01, 0.05, 0.1, 0.3, 1, 3],
    },
  },
  tiny: {
    doc: "seconds: tests of the sweep machinery (resume, shards, faults)",
    extends: "quick",
    set: {
      methods: ["ppo", "dpo", "bon"],
      checkpointEvery: 2,
      // Whole words: a 300-token BPE vocabulary spells text out nearly letter by letter.
      data: {
        tokenizer: "word",
        vocabSize: 300,
        trainPrompts: 64,
        evalPrompts: 8,
        maxNewTokens: 6,
      },
      model: { dModel: 16, nLayers: 1, nHeads: 2, context: 16, mlpRatio: 2 },
      base: { steps: 8, batchSize: 8, logEvery: 4 },
      sft: { steps: 4, batchSize: 8, logEvery: 2 },
      prefs: { prompts: 16, k: 3, spearmanSamples: 8 },
      rm: { steps: 4, batchSize: 8, logEvery: 2 },
      ppo: { iterations: 2, rolloutBatch: 8, minibatchSize: 8, epochs: 1, maxNewTokens: 6 },
      dpo: { steps: 4, batchSize: 8, logEvery: 2 },
      grpo: { iterations: 2, promptsPerIteration: 2, groupSize: 4, epochs: 1, maxNewTokens: 6 },
      rloo: { iterations: 2, promptsPerIteration: 4, k: 2, epochs: 1, maxNewTokens: 6 },
      odpo: { iterations: 2, promptsPerIteration: 8, minibatchSize: 8, maxNewTokens: 6 },
      kto: { steps: 4, batchSize: 8, logEvery: 2 },
      eval: { checkpointPrompts: 8, bootstrap: 100 },
      bon: { poolSize: 4 },
    },
    grid: {
      "ppo.beta": [0.1, 1],
      "dpo.beta": [0.1, 1],
      "bon.n": [1, 4],
      "grpo.beta": [0.1, 1],
      "rloo.beta": [0.1, 1],
      "odpo.beta": [0.1, 1],
      "kto.beta": [0.1, 1],
    },
  },
};

/** A preset resolved: its full config (one point) and its grid axes. */
export interface ResolvedPreset {
  /** The preset's name. */
  name: string;
  /** Every field, validated (the first value of each grid axis is not applied). */
  config: CanonicalConfig;
  /** The preset's grid, in declaration order (parents' axes first). */
  grid: GridAxis[];
}

/**
 * Resolve a preset through its `extends` chain.
 * @throws ConfigError naming the preset when it is unknown.
 */
export function resolvePreset(name: string): ResolvedPreset {
  const chain: Preset[] = [];
  for (let n: string | undefined = name; n !== undefined; n = chain[0]!.extends) {
    const p = CANONICAL_PRESETS[n];
    if (!p) {
      throw new ConfigError(
        `unknown preset ${JSON.stringify(n)}; allowed: ${
          Object.keys(CANONICAL_PRESETS).join(", ")
        }`,
      );
    }
    chain.unshift(p);
  }
  let config = CANONICAL_DEFAULTS;
  const grid = new Map<string, unknown[]>();
  for (const p of chain) {
    config = resolveCanonical(config, p.set);
    for (const [path, values] of Object.entries(p.grid)) grid.set(path, values);
  }
  return { name, config, grid: [...grid].map(([path, values]) => ({ path, values })) };
}
