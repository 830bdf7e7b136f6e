/**
 * What the on-policy methods (PPO and PPO-GT; GRPO, Dr. GRPO, RLOO and online DPO, which have
 * no critic) share in a run: the policy starts as a copy of the SFT model, checkpoints save
 * it, training samples go to samples.jsonl, every rollout is also scored by the gold reward
 * and the reward model (`reward/gold`, `reward/proxy`), checkpoints are evaluated on held-out
 * prompts, and the run is gated on `reward/gold` being flat over its last fifth of iterations.
 *
 * @module
 */
import type { MetricRow } from "../../../lib/train/metrics.ts";
import type { OnlineRun } from "../../../lib/train/online_loop.ts";
import { ppoConvergenceGate } from "../../../lib/eval/convergence.ts";
import { gateNotes, type MethodContext, runPolicy, type Trained } from "./types.ts";

/** The parts of a trainer's run every online method fills the same way. */
export type OnlineRunParts = Omit<OnlineRun, "reward" | "rewardMetric">;

/**
 * Train an online method: `train` receives the run's common parts (policy, reference,
 * monitors, prompts, sinks, checkpoint evaluation) and returns its rows.
 * @param notes extra summary columns (e.g. the β the trainer used).
 */
export async function trainOnlineMethod(
  ctx: MethodContext,
  train: (parts: OnlineRunParts) => Promise<MetricRow[]>,
  notes: Record<string, number | string | boolean | null> = {},
): Promise<Trained> {
  const policy = runPolicy(ctx);
  const tok = ctx.data.tokenizer;
  const samples: Record<string, unknown>[] = [];
  try {
    const rows = await train({
      policy,
      ref: ctx.sft,
      monitors: { "reward/gold": ctx.gold, "reward/proxy": ctx.proxy },
      prompts: ctx.data.trainPrompts,
      onSamples: (ss) =>
        ss.forEach((s) =>
          samples.push({
            kind: "train",
            step: s.step,
            prompt: tok.decode(s.prompt),
            completion: tok.decode(s.response),
            score: s.score,
          })
        ),
      progress: ctx.label,
      onRow: (row) => ctx.record.rows.push(row),
      afterStep: (done) => ctx.record.checkpoints.afterStep(done),
      evaluate: () => ctx.evaluateCheckpoint(policy),
    });
    return { rows, samples, policy, notes: { ...gateNotes(ppoConvergenceGate(rows)), ...notes } };
  } catch (e) {
    policy.dispose();
    throw e;
  }
}
