/**
 * The canonical experiment's config: positive continuations of press reviews (see
 * docs/architecture.md, "The canonical experiment"). One {@link CanonicalConfig} describes
 * one point of a grid: every field is a single value (β, n and the seed included), and
 * `methods` names the runs made at that point. Grids live in the presets and on the
 * command line (`--ppo.beta 0.05,0.1`), never inside the config.
 *
 * The defaults spread the trainers' own defaults (`PPO_DEFAULTS`, `DPO_DEFAULTS`, …), so a
 * preset states only what it changes (presets.ts).
 *
 * @module
 */
import { MODEL_CONFIG_SCHEMA, type ModelConfig, REFERENCE_MODEL } from "../../lib/models/config.ts";
import { LOOP_CONFIG_SCHEMA, type LoopConfig } from "../../lib/train/loop_config.ts";
import { SFT_DEFAULTS } from "../../lib/train/sft.ts";
import {
  REWARD_MODEL_DEFAULTS,
  REWARD_MODEL_SCHEMA,
  type RewardModelConfig,
} from "../../lib/train/reward_model.ts";
import {
  checkPpoRules,
  PPO_CONFIG_SCHEMA,
  PPO_DEFAULTS,
  type PpoConfig,
} from "../../lib/train/ppo_config.ts";
import { DPO_CONFIG_SCHEMA, DPO_DEFAULTS, type DpoConfig } from "../../lib/train/dpo.ts";
import { GRPO_CONFIG_SCHEMA, GRPO_DEFAULTS, type GrpoConfig } from "../../lib/train/grpo.ts";
import {
  checkRlooRules,
  RLOO_CONFIG_SCHEMA,
  RLOO_DEFAULTS,
  type RlooConfig,
} from "../../lib/train/rloo.ts";
import {
  ONLINE_DPO_CONFIG_SCHEMA,
  ONLINE_DPO_DEFAULTS,
  type OnlineDpoConfig,
} from "../../lib/train/online_dpo.ts";
import { KTO_CONFIG_SCHEMA, KTO_DEFAULTS, type KtoConfig } from "../../lib/train/kto.ts";
import type { DpoLossName } from "../../lib/losses/dpo.ts";
import { BROWN_CATEGORIES } from "../../lib/data/brown.ts";
import { ConfigError } from "../../lib/util/errors.ts";
import { resolveConfig, type Schema } from "../../lib/util/schema.ts";

/** Methods the experiment can run; each is one run per grid point. */
export const METHODS = [
  "ppo",
  "ppo_gt",
  "grpo",
  "dr_grpo",
  "rloo",
  "online_dpo",
  "dpo",
  "cdpo",
  "ipo",
  "hinge",
  "simpo",
  "kto",
  "bon",
] as const;
/** A method name. */
export type Method = (typeof METHODS)[number];

/** The loss of each method of the DPO family (cdpo is DPO with label smoothing ε). */
export const DPO_FAMILY: Readonly<Partial<Record<Method, DpoLossName>>> = {
  dpo: "dpo",
  cdpo: "dpo",
  ipo: "ipo",
  hinge: "hinge",
  simpo: "simpo",
};

/** The smallest BPE vocabulary: the specials and the 256 byte tokens, plus one merge. */
export const BPE_MIN_VOCAB = 4 + 256 + 1;

/** Seeds are 32-bit unsigned integers (the kit's RNG state): larger ones would alias. */
export const MAX_SEED = 2 ** 32 - 1;

/** Corpus, tokenizer and prompt settings. */
export interface DataConfig {
  /** Tokenizer: byte-level BPE (no `<unk>`) or whole words (the most frequent, then `<unk>`). */
  tokenizer: "bpe" | "word";
  /** Vocabulary size including the 4 special tokens (also the model's vocabulary). */
  vocabSize: number;
  /** Seed of the train/val/test split by document. */
  splitSeed: number;
  /** Brown category used for SFT and prompts. */
  sftCategory: string;
  /** Shortest prompt, in words. */
  promptMinWords: number;
  /** Longest prompt, in words. */
  promptMaxWords: number;
  /** Longest prompt, in tokens: prompts are cut to fit the model's context. */
  promptMaxTokens: number;
  /** Prompts drawn from training sentences (for preferences and PPO). */
  trainPrompts: number;
  /** Prompts drawn from held-out test sentences (for evaluation). */
  evalPrompts: number;
  /** New tokens per completion (preferences, evaluation, best-of-n). */
  maxNewTokens: number;
}

/** Preference collection settings. */
export interface PrefsConfig {
  /** Prompts labelled (each gives up to k(k−1)/2 pairs). */
  prompts: number;
  /** Completions sampled per prompt. */
  k: number;
  /** Simulated annotator. */
  annotator: "bradley_terry" | "plackett_luce" | "noiseless";
  /** Annotator temperature τ: P(a ≻ b) = σ((r_a − r_b)/τ). */
  tau: number;
  /** Pairs taken from a k-ranking. */
  pairs: "all" | "adjacent" | "best_worst";
  /** Fraction of prompts held out for validation. */
  valFraction: number;
  /**
   * Davidson's tie parameter ν ≥ 0: an annotator who finds two completions about equally
   * good says so, with P(tie) = ν·e^{(r_a+r_b)/2τ} / (e^{r_a/τ} + e^{r_b/τ} +
   * ν·e^{(r_a+r_b)/2τ}) — ν/(2+ν) at equal rewards. Ties are recorded, never trained on as
   * preferences; 0: no ties.
   */
  nu: number;
  /**
   * Fresh SFT samples of unlabelled prompts: the reward model's Spearman correlation with
   * gold, and the mean and spread that standardise the training rewards (one β scale).
   */
  spearmanSamples: number;
}

/** The transformer shape; its vocabulary is `data.vocabSize` (derived, see {@link modelOf}). */
export type ModelSection = Omit<ModelConfig, "vocabSize">;

/** PPO and PPO-GT: the trainer's config (its seed is the experiment's) plus the value init. */
export interface PpoSection extends Omit<PpoConfig, "seed"> {
  /** Value model initialisation: from the reward model or from the SFT model. */
  valueInit: "reward" | "sft";
}

/** The DPO family: the trainer's config (loss and seed come from the run) plus cDPO's ε. */
export interface DpoSection extends Omit<DpoConfig, "seed" | "lossType"> {
  /** ε (label smoothing) used by the `cdpo` method. */
  cdpoEpsilon: number;
}

/** GRPO and Dr. GRPO: the trainer's config (its seed is the experiment's). */
export type GrpoSection = Omit<GrpoConfig, "seed">;

/** RLOO: the trainer's config (its seed is the experiment's). */
export type RlooSection = Omit<RlooConfig, "seed">;

/** Online DPO: the trainer's config (its seed is the experiment's) plus who labels the pairs. */
export interface OdpoSection extends Omit<OnlineDpoConfig, "seed"> {
  /**
   * Who labels each sampled pair: `rm`, a Bradley–Terry draw on the reward model's own score
   * (σ(r_φ(a) − r_φ(b)), what the reward model believes; online AI feedback), or
   * `annotator`, the simulated people of the preference stage (`prefs.annotator`, `prefs.tau`,
   * `prefs.nu`) on the hidden gold reward: online human feedback.
   */
  labeler: "rm" | "annotator";
}

/** KTO: the trainer's config (its seed is the experiment's) plus where its labels come from. */
export interface KtoSection extends Omit<KtoConfig, "seed"> {
  /**
   * `pairs`: the preference pairs unpaired (chosen desirable, rejected undesirable);
   * `annotator`: each distinct completion of those pairs labelled alone by a simulated
   * person, desirable with probability σ((gold − mean SFT gold)/`prefs.tau`).
   */
  labels: "pairs" | "annotator";
}

/** Best-of-n. */
export interface BonSection {
  /** Candidates per prompt, at most `poolSize`. */
  n: number;
  /**
   * Candidates drawn and scored once per seed and shared by every n of a grid (best-of-n
   * takes the first n of each prompt's pool): set it to the grid's largest n.
   */
  poolSize: number;
  /** Rank candidates by the reward model ("proxy") or the gold reward. */
  selectBy: "proxy" | "gold";
}

/** Evaluation of the policies on held-out prompts. */
export interface EvalSection {
  /**
   * Held-out prompts of each checkpoint evaluation during training (the first of
   * `data.evalPrompts`); the final evaluation reads all of them.
   */
  checkpointPrompts: number;
  /**
   * Held-out preference pairs of each checkpoint's implicit-reward accuracy (DPO family);
   * the final accuracy reads them all.
   */
  checkpointPairs: number;
  /** Bootstrap resamples of a run's per-prompt rewards (its standard error and interval). */
  bootstrap: number;
}

/** One grid point of the canonical experiment. */
export interface CanonicalConfig {
  /** Seed of the method runs (sampling, batch order, initialisation). */
  seed: number;
  /**
   * Seed of the human feedback: which completions are labelled, the annotators' draws and
   * the reward model's initialisation and batches. A grid over it measures how much of a
   * result is the reward model's variance.
   */
  upstreamSeed: number;
  /** Which methods run at this point. */
  methods: Method[];
  /** Gold reward name (lib/rewards). */
  gold: "vader" | "target_words" | "length";
  /**
   * Save the policy of a PPO or DPO-family run every this many steps (PPO: iterations),
   * keeping weights known to give a finite loss; a failed run keeps the last one. 0: never.
   * Not part of a run's cache key: it does not change results.
   */
  checkpointEvery: number;
  /** Corpus, tokenizer, prompts. */
  data: DataConfig;
  /** Transformer shape. */
  model: ModelSection;
  /** Base LM on all of Brown. */
  base: LoopConfig;
  /** SFT on the SFT category. */
  sft: LoopConfig;
  /** Simulated preference collection. */
  prefs: PrefsConfig;
  /** Reward model. */
  rm: RewardModelConfig;
  /** PPO and PPO-GT. */
  ppo: PpoSection;
  /** The DPO family. */
  dpo: DpoSection;
  /** GRPO and Dr. GRPO. */
  grpo: GrpoSection;
  /** RLOO. */
  rloo: RlooSection;
  /** Online DPO. */
  odpo: OdpoSection;
  /** KTO. */
  kto: KtoSection;
  /** Best-of-n. */
  bon: BonSection;
  /** Evaluation on held-out prompts. */
  eval: EvalSection;
}

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
  base: { type: "section", doc: "base LM on all of Brown", schema: LOOP_CONFIG_SCHEMA },
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

const { seed: _ps, ...PPO_TRAINER_DEFAULTS } = PPO_DEFAULTS;
const { seed: _ds, lossType: _dl, ...DPO_TRAINER_DEFAULTS } = DPO_DEFAULTS;
const { vocabSize: _mv, ...MODEL_DEFAULTS } = REFERENCE_MODEL;
const { seed: _gs, ...GRPO_TRAINER_DEFAULTS } = GRPO_DEFAULTS;
const { seed: _rs, ...RLOO_TRAINER_DEFAULTS } = RLOO_DEFAULTS;
const { seed: _os, ...ODPO_TRAINER_DEFAULTS } = ONLINE_DPO_DEFAULTS;
const { seed: _ks, ...KTO_TRAINER_DEFAULTS } = KTO_DEFAULTS;

/**
 * The experiment's defaults: the trainers' defaults spread, plus the experiment's own
 * settings. Every preset is a set of differences from this (presets.ts).
 */
export const CANONICAL_DEFAULTS: CanonicalConfig = {
  seed: 1,
  upstreamSeed: 0,
  methods: ["ppo", "dpo", "bon"],
  gold: "vader",
  checkpointEvery: 0,
  data: {
    tokenizer: "bpe",
    vocabSize: REFERENCE_MODEL.vocabSize,
    splitSeed: 0,
    sftCategory: "reviews",
    promptMinWords: 2,
    promptMaxWords: 6,
    promptMaxTokens: 8,
    trainPrompts: 512,
    evalPrompts: 64,
    maxNewTokens: 10,
  },
  model: MODEL_DEFAULTS,
  base: SFT_DEFAULTS,
  sft: SFT_DEFAULTS,
  prefs: {
    prompts: 384,
    k: 4,
    annotator: "bradley_terry",
    tau: 0.1,
    pairs: "all",
    valFraction: 0.15,
    nu: 1,
    spearmanSamples: 128,
  },
  rm: REWARD_MODEL_DEFAULTS,
  ppo: { ...PPO_TRAINER_DEFAULTS, valueInit: "reward" },
  dpo: { ...DPO_TRAINER_DEFAULTS, cdpoEpsilon: 0.1 },
  grpo: GRPO_TRAINER_DEFAULTS,
  rloo: RLOO_TRAINER_DEFAULTS,
  odpo: { ...ODPO_TRAINER_DEFAULTS, labeler: "rm" },
  kto: { ...KTO_TRAINER_DEFAULTS, labels: "pairs" },
  bon: { n: 4, poolSize: 16, selectBy: "proxy" },
  eval: { checkpointPrompts: 64, checkpointPairs: 512, bootstrap: 1000 },
};

/** The full transformer config of a point: its shape with the data's vocabulary (derived). */
export function modelOf(c: CanonicalConfig): ModelConfig {
  return { ...c.model, vocabSize: c.data.vocabSize };
}

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
