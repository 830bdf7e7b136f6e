/**
 * KTO from unpaired labels against the SFT reference; knob `kto.beta`. The examples come
 * from the preference stage's training pairs, with the reference log-probabilities the
 * refs stage computed for the DPO family:
 *
 * - `kto.labels pairs`: each untied pair unpaired, chosen desirable and rejected
 *   undesirable (one pairwise label → two examples);
 * - `kto.labels annotator`: each distinct completion of those pairs shown alone to a
 *   simulated person, who calls it desirable with probability σ((gold − μ)/τ), μ the mean
 *   gold reward of SFT samples (what a person expects) and τ = `prefs.tau` (the pairwise
 *   annotators' temperature): one unary label per completion.
 *
 * One β scale. KTO's implied reward β·log(π/π_ref) sits inside a logistic value function
 * as DPO's does, in the units of the labels' Bradley–Terry scale, so KTO uses DPO's rule:
 * the trainer runs at β' = σ·β, σ the reward model's spread on SFT samples. KTO does not
 * target π*_β (its optimum saturates; the token-level exact task measures where it lands),
 * so the rule only puts its β axis on the others' footing. Its convergence gate is the
 * DPO family's: the held-out implicit-reward accuracy against the reward model's.
 *
 * @module
 */
import type { CanonicalConfig, Method } from "../config.ts";
import {
  distinctExamples,
  type KtoConfig,
  type RefCachedExamples,
  trainKto,
  unpairCachedPairs,
} from "../../../lib/train/kto.ts";
import { thumbsLabels } from "../../../lib/data/unpaired_feedback.ts";
import { responseBatch } from "../../../lib/data/response_batch.ts";
import { dpoConvergenceGate } from "../../../lib/eval/convergence.ts";
import { Rng } from "../../../lib/util/rng.ts";
import { readRefs } from "../stages/refs.ts";
import { rmSeed } from "../stages/feedback.ts";
import {
  evalConfig,
  gateNotes,
  type MethodContext,
  type MethodRunConfig,
  type MethodSpec,
  runPolicy,
} from "./types.ts";

/** The typed config of one KTO run. */
export interface KtoRunConfig extends MethodRunConfig {
  /** The method. */
  readonly method: "kto";
  /** The trainer's config at the grid's β (the trainer runs at β·σ; see the module doc). */
  readonly trainer: KtoConfig;
  /** Where the desirable/undesirable labels come from. */
  readonly labels: "pairs" | "annotator";
  /** The single-completion annotator (labels `annotator`): its τ and the seed of its draws. */
  readonly thumbs?: { tau: number; seed: number };
  /** Held-out fraction of the preference prompts (the reward model's split). */
  readonly valFraction: number;
  /** Seed of that split. */
  readonly splitSeed: number;
}

/** One grid point → the KTO run config (the trainer's seed is the point's). */
export function ktoRunConfig(c: CanonicalConfig): KtoRunConfig {
  const { labels, ...trainer } = c.kto;
  return {
    method: "kto",
    trainer: { ...trainer, seed: c.seed },
    labels,
    // Human feedback: drawn from the upstream seed, like the pairwise labels.
    ...(labels === "annotator"
      ? { thumbs: { tau: c.prefs.tau, seed: c.upstreamSeed * 1_000_003 + 101 } }
      : {}),
    valFraction: c.prefs.valFraction,
    splitSeed: rmSeed(c),
    eval: evalConfig(c),
  };
}

/**
 * The distinct completions of the training pairs, each labelled alone by the
 * single-completion annotator on the gold reward.
 */
async function thumbsExamples(
  ctx: MethodContext,
  unpaired: RefCachedExamples,
  thumbs: { tau: number; seed: number },
): Promise<RefCachedExamples> {
  const distinct = distinctExamples(unpaired);
  const gold = new Float32Array(distinct.examples.length);
  for (let i = 0; i < gold.length; i += 256) {
    const chunk = distinct.examples.slice(i, i + 256);
    const prompts = chunk.map((e) => e.prompt), completions = chunk.map((e) => e.completion);
    const batch = responseBatch(prompts, completions, ctx.sft.config.context);
    gold.set(await ctx.gold(prompts, completions, batch), i);
  }
  const threshold = ctx.scales.gold.mean;
  const labels = thumbsLabels(gold, { tau: thumbs.tau, threshold }, new Rng(thumbs.seed));
  return {
    examples: distinct.examples.map((e, i) => ({ ...e, desirable: labels[i]! })),
    refLogProbs: distinct.refLogProbs,
  };
}

/** KTO. */
export const KTO_SPEC: MethodSpec<KtoRunConfig> = {
  knob: "kto.beta",
  inputs: ["data", "sft", "prefs", "rm", "refs"],
  runConfig: (c: CanonicalConfig, method: Method) => {
    if (method !== "kto") throw new RangeError(`${method} is not KTO`);
    return ktoRunConfig(c);
  },
  train: async (ctx, run) => {
    const policy = runPolicy(ctx);
    const { prefs, refs } = ctx.upstream;
    if (!refs) throw new RangeError(`${ctx.runId} needs the refs stage, which was not run`);
    const beta = run.trainer.beta * ctx.scales.proxy.std;
    try {
      const pairs = await readRefs(ctx.experiment, ctx.data, prefs, refs);
      const unpaired = unpairCachedPairs(pairs.train);
      const train = run.thumbs ? await thumbsExamples(ctx, unpaired, run.thumbs) : unpaired;
      const res = await trainKto({
        policy,
        ref: ctx.sft,
        train,
        val: pairs.val,
        config: { ...run.trainer, beta },
        progress: ctx.label,
        onRow: (row) => ctx.record.rows.push(row),
        afterStep: (done) => ctx.record.checkpoints.afterStep(done),
        evaluate: () => ctx.evaluateCheckpoint(policy),
      });
      const gate = gateNotes(dpoConvergenceGate(res.rows, ctx.rmValAccuracy));
      return { rows: res.rows, samples: [], policy, notes: { ...gate, beta_trainer: beta } };
    } catch (e) {
      policy.dispose();
      throw e;
    }
  },
};
