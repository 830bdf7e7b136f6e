/**
 * Shared fixtures of the online trainers' tests (GRPO, RLOO, online DPO, KTO): a tiny
 * causal LM, a reward that counts one token, prompts, and parameter snapshots.
 *
 * @module
 */
import { CausalLM } from "../lib/models/causal_lm.ts";
import type { RewardSource } from "../lib/train/rollout.ts";

/** A model small enough for the cpu backend. */
export const TINY = { vocabSize: 20, dModel: 16, nLayers: 1, nHeads: 2, context: 12, dropout: 0 };

/** The token the reward counts. */
export const GOOD = 7;

/** Reward: the fraction of response tokens equal to GOOD. */
export const countGood: RewardSource = (_p, responses) =>
  Promise.resolve(
    Float32Array.from(responses, (r) => r.filter((t) => t === GOOD).length / r.length),
  );

/** The same reward for every completion: every group's rewards are equal. */
export const constant: RewardSource = (p) => Promise.resolve(new Float32Array(p.length).fill(0.3));

/** A NaN reward. */
export const nanReward: RewardSource = (p) => Promise.resolve(new Float32Array(p.length).fill(NaN));

/** Eight prompts [BOS, token]. */
export const PROMPTS: number[][] = Array.from({ length: 8 }, (_, i) => [1, 4 + i]);

/** A policy and its frozen reference, equal at the start. */
export function policyAndRef(seed = 1): { policy: CausalLM; ref: CausalLM } {
  const policy = CausalLM.create(TINY, seed);
  return { policy, ref: policy.clone(false) };
}

/** Every parameter's values, by name. */
export function snapshot(lm: CausalLM): Map<string, Float32Array> {
  return new Map([...lm.params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

/** Names of the parameters whose values differ between two snapshots. */
export function changed(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  return [...a.keys()].filter((k) => a.get(k)!.some((x, i) => x !== b.get(k)![i]));
}

/** The mean of a metric over rows that have it. */
export function meanOf(rows: readonly Record<string, number>[], key: string): number {
  const xs = rows.map((r) => r[key]).filter((x): x is number => x !== undefined);
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
