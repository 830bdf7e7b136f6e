/**
 * The DPO family straight from the preferences: DPO, cDPO (DPO with label smoothing ε),
 * IPO, hinge (SLiC) and SimPO, each against the frozen SFT reference (lib/losses/dpo.ts).
 *
 * @module
 */
import type { CanonicalConfig, Method } from "../config.ts";
import type { DpoLossName } from "../../../lib/losses/dpo.ts";
import { type DpoConfig, trainDpo } from "../../../lib/train/dpo.ts";
import { saveCheckpoint } from "../../../lib/models/checkpoint.ts";
import { preferencePairs, tokenPairs } from "../stages/feedback.ts";
import { evalConfig, type MethodRunConfig, type MethodSpec } from "./types.ts";

/** The loss of each method of the family (cdpo is DPO with label smoothing). */
export const DPO_FAMILY: Readonly<Partial<Record<Method, DpoLossName>>> = {
  dpo: "dpo",
  cdpo: "dpo",
  ipo: "ipo",
  hinge: "hinge",
  simpo: "simpo",
};

/** The typed config of one DPO-family run. */
export interface DpoRunConfig extends MethodRunConfig {
  /** The trainer's config: loss, β, label smoothing and seed included. */
  readonly trainer: DpoConfig;
  /** Held-out fraction of the preference prompts (the reward model's split). */
  readonly valFraction: number;
  /** Seed of that split (the reward model's seed, so both hold out the same prompts). */
  readonly splitSeed: number;
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
    splitSeed: c.rm.seed,
    eval: evalConfig(c),
  };
}

/** DPO, cDPO, IPO, hinge, SimPO. */
export const DPO_SPEC: MethodSpec<DpoRunConfig> = {
  knob: "dpo.beta",
  inputs: ["data", "sft", "prefs", "rm"],
  runConfig: dpoRunConfig,
  train: async (ctx, run) => {
    const policy = ctx.sft.clone(true);
    ctx.record.checkpoints.save = (path, step) =>
      saveCheckpoint(path, policy, {
        tokenizer: ctx.data.tokenizer.toJSON(),
        meta: { stage: "run", run: ctx.runId, step },
      });
    try {
      const { train, val } = await preferencePairs(
        ctx.upstream.prefs,
        run.valFraction,
        run.splitSeed,
      );
      const res = await trainDpo({
        policy,
        ref: ctx.sft,
        train: tokenPairs(ctx.data, train),
        val: tokenPairs(ctx.data, val),
        config: run.trainer,
        progress: ctx.label,
        onRow: (row) => ctx.record.rows.push(row),
        afterStep: (done) => ctx.record.checkpoints.afterStep(done),
      });
      return { rows: res.rows, samples: [], policy };
    } catch (e) {
      policy.dispose();
      throw e;
    }
  },
};
