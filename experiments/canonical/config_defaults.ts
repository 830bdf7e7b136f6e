/**
 * The canonical experiment's defaults: the trainers' own defaults spread, plus the
 * experiment's settings. Every preset is a set of differences from these (presets.ts).
 *
 * @module
 */
import { REFERENCE_MODEL } from "../../lib/models/config.ts";
import { SFT_DEFAULTS } from "../../lib/train/sft.ts";
import { REWARD_MODEL_DEFAULTS } from "../../lib/train/reward_model.ts";
import { PPO_DEFAULTS } from "../../lib/train/ppo_config.ts";
import { DPO_DEFAULTS } from "../../lib/train/dpo.ts";
import { GRPO_DEFAULTS } from "../../lib/train/grpo.ts";
import { RLOO_DEFAULTS } from "../../lib/train/rloo.ts";
import { ONLINE_DPO_DEFAULTS } from "../../lib/train/online_dpo.ts";
import { KTO_DEFAULTS } from "../../lib/train/kto.ts";
import type { CanonicalConfig } from "./config.ts";

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
