/**
 * The canonical experiment's config schema: a spec per field with its doc line and what
 * it allows, so every value — from a preset, the command line or a config.json — is
 * checked with a message naming the field (lib/util/schema.ts). The trainers' own schemas
 * are spread, without the fields the experiment sets itself (each run's seed, the DPO
 * loss, the model's vocabulary).
 *
 * @module
 */
import { MODEL_CONFIG_SCHEMA } from "../../lib/models/config.ts";
import { LOOP_CONFIG_SCHEMA } from "../../lib/train/loop_config.ts";
import { REWARD_MODEL_SCHEMA } from "../../lib/train/reward_model.ts";
import { PPO_CONFIG_SCHEMA } from "../../lib/train/ppo_config.ts";
import { DPO_CONFIG_SCHEMA } from "../../lib/train/dpo.ts";
import { GRPO_CONFIG_SCHEMA } from "../../lib/train/grpo.ts";
import { RLOO_CONFIG_SCHEMA } from "../../lib/train/rloo.ts";
import { ONLINE_DPO_CONFIG_SCHEMA } from "../../lib/train/online_dpo.ts";
import { KTO_CONFIG_SCHEMA } from "../../lib/train/kto.ts";
import { BROWN_CATEGORIES } from "../../lib/data/brown.ts";
import type { Schema } from "../../lib/util/schema.ts";
import {
  type BonSection,
  type CanonicalConfig,
  type DataConfig,
  type DpoSection,
  type EvalSection,
  type KtoSection,
  MAX_SEED,
  METHODS,
  type OdpoSection,
  type PpoSection,
  type PrefsConfig,
} from "./config.ts";

const { seed: _ppoSeed, ...PPO_FIELDS } = PPO_CONFIG_SCHEMA;
const { seed: _dpoSeed, lossType: _dpoLoss, ...DPO_FIELDS } = DPO_CONFIG_SCHEMA;
const { vocabSize: _modelVocab, ...MODEL_FIELDS } = MODEL_CONFIG_SCHEMA;
const { seed: _grpoSeed, ...GRPO_FIELDS } = GRPO_CONFIG_SCHEMA;
const { seed: _rlooSeed, ...RLOO_FIELDS } = RLOO_CONFIG_SCHEMA;
const { seed: _odpoSeed, ...ODPO_FIELDS } = ONLINE_DPO_CONFIG_SCHEMA;
const { seed: _ktoSeed, ...KTO_FIELDS } = KTO_CONFIG_SCHEMA;

/** Field specs of {@link CanonicalConfig}. */
export const CANONICAL_SCHEMA: Schema<CanonicalConfig> = {
  seed: { type: "number", int: true, min: 0, max: MAX_SEED, doc: "seed of the method runs" },
  upstreamSeed: {
    type: "number",
    int: true,
    min: 0,
    max: MAX_SEED,
    doc: "seed of the preferences and the reward model",
  },
  methods: { type: "stringList", values: METHODS, nonEmpty: true, doc: "methods to run" },
  gold: { type: "enum", values: ["vader", "target_words", "length"], doc: "gold reward" },
  checkpointEvery: {
    type: "number",
    int: true,
    min: 0,
    doc: "save a method run's policy every N steps (kept if the run fails), 0 = never",
  },
  data: {
    type: "section",
    doc: "corpus, tokenizer, prompts",
    schema: {
      tokenizer: { type: "enum", values: ["bpe", "word"], doc: "tokenizer kind" },
      vocabSize: { type: "number", int: true, min: 5, doc: "vocabulary size incl. specials" },
      splitSeed: { type: "number", int: true, min: 0, max: MAX_SEED, doc: "seed of the split" },
      sftCategory: { type: "enum", values: BROWN_CATEGORIES, doc: "Brown category for SFT" },
      promptMinWords: { type: "number", int: true, min: 1, doc: "shortest prompt (words)" },
      promptMaxWords: { type: "number", int: true, min: 1, doc: "longest prompt (words)" },
      promptMaxTokens: { type: "number", int: true, min: 1, doc: "longest prompt (tokens)" },
      trainPrompts: { type: "number", int: true, min: 1, doc: "training prompts" },
      evalPrompts: { type: "number", int: true, min: 1, doc: "held-out evaluation prompts" },
      maxNewTokens: { type: "number", int: true, min: 1, doc: "new tokens per completion" },
    } satisfies Schema<DataConfig>,
  },
  model: { type: "section", doc: "transformer shape", schema: MODEL_FIELDS },
  base: {
    type: "section",
    doc: "base LM on Brown without the SFT category",
    schema: LOOP_CONFIG_SCHEMA,
  },
  sft: { type: "section", doc: "SFT on the SFT category", schema: LOOP_CONFIG_SCHEMA },
  prefs: {
    type: "section",
    doc: "simulated preference collection",
    schema: {
      // The reward model holds out at least one labelled prompt and trains on the rest.
      prompts: { type: "number", int: true, min: 2, doc: "prompts labelled (one held out)" },
      k: { type: "number", int: true, min: 2, max: 12, doc: "completions per prompt" },
      annotator: {
        type: "enum",
        values: ["bradley_terry", "plackett_luce", "noiseless"],
        doc: "annotator model",
      },
      tau: { type: "number", gt: 0, doc: "annotator temperature τ" },
      pairs: {
        type: "enum",
        values: ["all", "adjacent", "best_worst"],
        doc: "pairs from a ranking",
      },
      valFraction: { type: "number", gt: 0, lt: 1, doc: "held-out fraction of prompts" },
      nu: { type: "number", min: 0, doc: "annotator tie parameter ν (Davidson), 0 = no ties" },
      spearmanSamples: {
        type: "number",
        int: true,
        min: 3,
        doc: "fresh SFT samples: RM–gold Spearman and reward standardisation",
      },
    } satisfies Schema<PrefsConfig>,
  },
  rm: { type: "section", doc: "reward model", schema: REWARD_MODEL_SCHEMA },
  ppo: {
    type: "section",
    doc: "PPO and PPO-GT",
    schema: {
      ...PPO_FIELDS,
      valueInit: { type: "enum", values: ["reward", "sft"], doc: "value model initialisation" },
    } satisfies Schema<PpoSection>,
  },
  dpo: {
    type: "section",
    doc: "DPO family",
    schema: {
      ...DPO_FIELDS,
      cdpoEpsilon: { type: "number", gt: 0, lt: 0.5, doc: "ε of the cdpo method" },
    } satisfies Schema<DpoSection>,
  },
  grpo: { type: "section", doc: "GRPO and Dr. GRPO", schema: GRPO_FIELDS },
  rloo: { type: "section", doc: "RLOO", schema: RLOO_FIELDS },
  odpo: {
    type: "section",
    doc: "online DPO",
    schema: {
      ...ODPO_FIELDS,
      labeler: { type: "enum", values: ["rm", "annotator"], doc: "who labels the sampled pairs" },
    } satisfies Schema<OdpoSection>,
  },
  kto: {
    type: "section",
    doc: "KTO",
    schema: {
      ...KTO_FIELDS,
      labels: {
        type: "enum",
        values: ["pairs", "annotator"],
        doc: "unpaired preference pairs, or single completions labelled alone",
      },
    } satisfies Schema<KtoSection>,
  },
  bon: {
    type: "section",
    doc: "best-of-n",
    schema: {
      n: { type: "number", int: true, min: 1, doc: "candidates per prompt" },
      poolSize: {
        type: "number",
        int: true,
        min: 1,
        doc: "candidates drawn once per seed and shared by every n (the largest n)",
      },
      selectBy: { type: "enum", values: ["proxy", "gold"], doc: "what ranks the candidates" },
    } satisfies Schema<BonSection>,
  },
  eval: {
    type: "section",
    doc: "evaluation on held-out prompts",
    schema: {
      checkpointPrompts: {
        type: "number",
        int: true,
        min: 1,
        doc: "held-out prompts per checkpoint evaluation",
      },
      checkpointPairs: {
        type: "number",
        int: true,
        min: 1,
        doc: "held-out pairs per checkpoint's implicit-reward accuracy",
      },
      bootstrap: { type: "number", int: true, min: 100, doc: "bootstrap resamples per run" },
    } satisfies Schema<EvalSection>,
  },
};
