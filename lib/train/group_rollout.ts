/**
 * Rollouts in groups, for the on-policy methods without a critic (GRPO, RLOO, online DPO):
 * G completions of each prompt from the current policy, sampled, read and scored by PPO's
 * one rollout path (lib/train/rollout.ts, called without a value model), so log π_old,
 * log π_ref and the per-token KL are read at the sampling temperature exactly as PPO
 * reads them. Rows are grouped by prompt: rows g·G … g·G + G − 1 are the completions of
 * prompt g, the layout `groupAdvantages`, `rlooAdvantages` and online DPO's pairing read.
 *
 * @module
 */
import { collectRollout, type Rollout, type RolloutSpec, sequenceKl } from "./rollout.ts";
import type { Rng } from "../util/rng.ts";
import { checkField } from "../util/schema.ts";

/** What {@link collectGroupRollout} needs: PPO's rollout spec without a value model. */
export interface GroupRolloutSpec extends Omit<RolloutSpec, "value" | "prompts"> {
  /** One prompt per group (token ids with BOS). */
  prompts: readonly (readonly number[])[];
  /** Completions per prompt G ≥ 1. */
  groupSize: number;
}

/** A rollout whose rows come in groups of `groupSize` completions of one prompt. */
export interface GroupRollout extends Rollout {
  /** Completions per prompt G. */
  groupSize: number;
}

/**
 * Sample G completions of every prompt and read them (no gradients): per-token log π_old
 * and log π_ref at the sampling temperature, the chosen per-token KL estimate, the
 * training reward of each completion; `values` are 0 (no critic).
 * @throws ConfigError when groupSize is not an integer ≥ 1.
 */
export async function collectGroupRollout(s: GroupRolloutSpec): Promise<GroupRollout> {
  const G = checkField("groupSize", s.groupSize, {
    type: "number",
    int: true,
    min: 1,
    doc: "completions per prompt",
  }) as number;
  const rows = s.prompts.flatMap((p) => Array.from({ length: G }, () => [...p]));
  const { groupSize: _, ...spec } = s;
  return { ...(await collectRollout({ ...spec, prompts: rows })), groupSize: G };
}

/** `count` prompts drawn uniformly with replacement from `pool` (PPO's draw). */
export function drawPrompts(pool: readonly number[][], count: number, rng: Rng): number[][] {
  if (pool.length === 0) throw new RangeError("the prompt pool is empty");
  return Array.from({ length: count }, () => pool[rng.int(pool.length)]!);
}

/**
 * The numbers every on-policy trainer logs about its rollout: the training reward's mean
 * (under `scoreName`), KL(π‖π_ref) per sequence from the samples (Σ_t k1), β and the
 * KL-regularised objective, completion length, EOS rate and throughput.
 * @param beta the KL coefficient of the objective reported as `objective/rlhf`.
 * @param seconds wall time of the whole iteration (for `perf/tokens_per_s`).
 */
export function rolloutMetrics(
  ro: Rollout,
  scoreName: string,
  beta: number,
  seconds: number,
): Record<string, number> {
  const { batch } = ro;
  const score = meanOf(ro.scores);
  const kl = meanOf(sequenceKl(ro.logProbs, ro.refLogProbs, batch));
  const tokens = batch.responseLengths.reduce((a, n) => a + n, 0);
  return {
    [scoreName]: score,
    "kl/ref": kl,
    "kl/beta": beta,
    "objective/rlhf": score - beta * kl,
    "gen/length": tokens / batch.batch,
    "gen/eos_rate": ro.finished.filter((f) => f).length / batch.batch,
    "perf/tokens_per_s": tokens / seconds,
    "perf/sample_fraction": ro.sampleSeconds / seconds,
  };
}

/** Σ_t mask·x per row of a [B, T] row-major array (e.g. Σ_t log π_ref per sequence), [B]. */
export function maskedRowSums(x: Float32Array, mask: Float32Array, T: number): Float32Array {
  const out = new Float32Array(mask.length / T);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let t = 0; t < T; t++) if (mask[r * T + t]) s += x[r * T + t]!;
    out[r] = s;
  }
  return out;
}

/** The arithmetic mean of a reward array (NaN for no values). */
export function meanOf(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return x.length ? s / x.length : NaN;
}
