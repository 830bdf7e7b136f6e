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
import type { ModelConfig } from "../../lib/models/config.ts";
import type { LoopConfig } from "../../lib/train/loop_config.ts";
import type { RewardModelConfig } from "../../lib/train/reward_model.ts";
import type { PpoConfig } from "../../lib/train/ppo_config.ts";
import type { DpoConfig } from "../../lib/train/dpo.ts";
import type { GrpoConfig } from "../../lib/train/grpo.ts";
import type { RlooConfig } from "../../lib/train/rloo.ts";
import type { OnlineDpoConfig } from "../../lib/train/online_dpo.ts";
import type { KtoConfig } from "../../lib/train/kto.ts";
import type { DpoLossName } from "../../lib/losses/dpo.ts";

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
  /** Base LM on Brown without the SFT category (`data.sftCategory`). */
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

/** The full transformer config of a point: its shape with the data's vocabulary (derived). */
export function modelOf(c: CanonicalConfig): ModelConfig {
  return { ...c.model, vocabSize: c.data.vocabSize };
}
