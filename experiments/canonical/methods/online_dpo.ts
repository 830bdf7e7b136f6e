/**
 * Online DPO: pairs sampled from the policy being trained, labelled each iteration by the
 * reward model or by the simulated people, DPO loss against the SFT reference; knob
 * `odpo.beta`.
 *
 * Labels and one β scale. With `odpo.labeler rm` a pair is labelled by a Bradley–Terry draw
 * on the reward model's score, P(a ≻ b) = σ(r_φ(a) − r_φ(b)): the probability the reward
 * model was trained to predict. DPO on such labels at β' targets π_ref·exp(r_φ/β'), and PPO
 * at β on the standardised r̃ = (r_φ − μ)/σ targets π_ref·exp(r_φ/(σ·β)), so the trainer runs
 * at β' = σ·β — the rule methods/dpo.ts applies to offline DPO, here exact. With `annotator`
 * the labels are the preference stage's people on the gold reward, whose Bradley–Terry
 * scale the reward model's σ estimates, as it does for offline DPO.
 *
 * @module
 */
import type { CanonicalConfig, Method } from "../config.ts";
import { type OnlineDpoConfig, trainOnlineDpo } from "../../../lib/train/online_dpo.ts";
import { annotatorFromConfig } from "../../../lib/data/annotator_config.ts";
import { bradleyTerry } from "../../../lib/data/annotators.ts";
import { evalConfig, type MethodRunConfig, type MethodSpec } from "./types.ts";
import { trainOnlineMethod } from "./online.ts";

/** The typed config of one online DPO run. */
export interface OnlineDpoRunConfig extends MethodRunConfig {
  /** The method. */
  readonly method: "online_dpo";
  /** The trainer's config at the grid's β (the trainer runs at β·σ; see the module doc). */
  readonly trainer: OnlineDpoConfig;
  /** `rm`: Bradley–Terry draws on the reward model's score; `annotator`: the people on gold. */
  readonly labeler: "rm" | "annotator";
  /** The people's settings when `labeler` is `annotator` (they change the labels). */
  readonly annotator?: { kind: CanonicalConfig["prefs"]["annotator"]; tau: number; nu: number };
}

/** One grid point → the online DPO run config (the trainer's seed is the point's). */
export function onlineDpoRunConfig(c: CanonicalConfig): OnlineDpoRunConfig {
  const { labeler, ...trainer } = c.odpo;
  return {
    method: "online_dpo",
    trainer: { ...trainer, seed: c.seed },
    labeler,
    ...(labeler === "annotator"
      ? { annotator: { kind: c.prefs.annotator, tau: c.prefs.tau, nu: c.prefs.nu } }
      : {}),
    eval: evalConfig(c),
  };
}

/** Online DPO. */
export const ONLINE_DPO_SPEC: MethodSpec<OnlineDpoRunConfig> = {
  knob: "odpo.beta",
  inputs: ["data", "sft", "rm"],
  runConfig: (c: CanonicalConfig, method: Method) => {
    if (method !== "online_dpo") throw new RangeError(`${method} is not online DPO`);
    return onlineDpoRunConfig(c);
  },
  train: (ctx, run) => {
    const beta = run.trainer.beta * ctx.scales.proxy.std;
    const people = run.annotator;
    return trainOnlineMethod(
      ctx,
      (parts) =>
        trainOnlineDpo({
          ...parts,
          reward: people ? ctx.gold : ctx.proxy,
          annotator: people ? annotatorFromConfig(people) : bradleyTerry(1),
          rewardMetric: "reward/score",
          config: { ...run.trainer, beta },
        }),
      { beta_trainer: beta },
    );
  },
};
