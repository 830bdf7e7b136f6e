/**
 * The DPO family straight from the preferences: DPO, cDPO (DPO with label smoothing ε),
 * IPO, hinge (SLiC) and SimPO, each against the frozen SFT reference (lib/losses/dpo.ts),
 * with the reference log-probabilities computed once per preference stage (stages/refs.ts).
 *
 * One β scale: PPO at β on a reward standardised to unit spread targets
 * π_ref·exp(r_φ/(σ·β)), and DPO at β' targets π_ref·exp(r/β') for the Bradley–Terry reward
 * r of the labels, which the reward model r_φ estimates. So a DPO-family run at the grid's
 * β trains with β' = σ·β, σ the reward model's spread on SFT samples: the same KL price as
 * PPO at β. SimPO has no reference model and keeps its own β.
 *
 * @module
 */
import { type CanonicalConfig, DPO_FAMILY, type Method } from "../config.ts";
import { type DpoConfig, trainDpo } from "../../../lib/train/dpo.ts";
import { readRefs } from "../stages/refs.ts";
import { rmSeed } from "../stages/feedback.ts";
import { dpoConvergenceGate } from "../../../lib/eval/convergence.ts";
import {
  evalConfig,
  gateNotes,
  type MethodRunConfig,
  type MethodSpec,
  runPolicy,
} from "./types.ts";

/** The typed config of one DPO-family run. */
export interface DpoRunConfig extends MethodRunConfig {
  /** The trainer's config: loss, β, label smoothing and seed included. */
  readonly trainer: DpoConfig;
  /** Held-out fraction of the preference prompts (the reward model's split). */
  readonly valFraction: number;
  /** Seed of that split (the reward model's seed, so both hold out the same prompts). */
  readonly splitSeed: number;
  /** Held-out pairs of each checkpoint's accuracy (all of them at the end). */
  readonly checkpointPairs: number;
  /**
   * How the trainer's β relates to the grid's: `proxy_std` multiplies it by the reward
   * model's spread on SFT samples (one β scale with PPO); `none` keeps it (SimPO).
   */
  readonly betaScale: "proxy_std" | "none";
}

/** One grid point → the run config of a DPO-family method (cdpo: dpo with ε). */
export function dpoRunConfig(c: CanonicalConfig, method: Method): DpoRunConfig {
  const lossType = DPO_FAMILY[method];
  if (!lossType) throw new RangeError(`${method} is not a DPO-family method`);
  const { cdpoEpsilon, ...rest } = c.dpo;
  return {
    method,
    trainer: {
      ...rest,
      seed: c.seed,
      lossType,
      labelSmoothing: method === "cdpo" ? cdpoEpsilon : rest.labelSmoothing,
    },
    valFraction: c.prefs.valFraction,
    splitSeed: rmSeed(c),
    betaScale: lossType === "simpo" ? "none" : "proxy_std",
    checkpointPairs: c.eval.checkpointPairs,
    eval: evalConfig(c),
  };
}

/** DPO, cDPO, IPO, hinge, SimPO. */
export const DPO_SPEC: MethodSpec<DpoRunConfig> = {
  knob: "dpo.beta",
  inputs: ["data", "sft", "prefs", "rm", "refs"],
  runConfig: dpoRunConfig,
  train: async (ctx, run) => {
    const policy = runPolicy(ctx);
    const { prefs, refs } = ctx.upstream;
    if (!refs) throw new RangeError(`${ctx.runId} needs the refs stage, which was not run`);
    const beta = run.trainer.beta *
      (run.betaScale === "proxy_std" ? ctx.scales.proxy.std : 1);
    try {
      const pairs = await readRefs(ctx.experiment, ctx.data, prefs, refs);
      const res = await trainDpo({
        policy,
        train: pairs.train,
        val: pairs.val,
        config: { ...run.trainer, beta },
        progress: ctx.label,
        onRow: (row) => ctx.record.rows.push(row),
        afterStep: (done) => ctx.record.checkpoints.afterStep(done),
        evaluate: () => ctx.evaluateCheckpoint(policy),
        valSubset: run.checkpointPairs,
      });
      const gate = gateNotes(dpoConvergenceGate(res.rows, ctx.rmValAccuracy));
      return { rows: res.rows, samples: [], policy, notes: { ...gate, beta_trainer: beta } };
    } catch (e) {
      policy.dispose();
      throw e;
    }
  },
};
