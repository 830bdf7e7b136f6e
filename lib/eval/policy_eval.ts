/**
 * Evaluation of a policy on held-out prompts, from its own samples: gold reward, proxy
 * (reward-model) reward, KL(π‖π_ref) estimated as the mean over samples of
 * Σ_t (log π(y_t) − log π_ref(y_t)), per-token entropy estimated as the mean of
 * −log π(y_t), distinct-2, mean length, and the samples themselves. At a sampling
 * temperature τ ≠ 1, π and π_ref are the tempered models softmax(logits/τ), the
 * distribution the samples come from (as in PPO's rollouts).
 *
 * @module
 */
import type { CausalLM } from "../models/causal_lm.ts";
import { responseBatch } from "../data/response_batch.ts";
import { sequenceKl } from "../train/rollout.ts";
import type { RewardSource } from "../train/rollout.ts";
import { batchTensors, responseLogProbs } from "../train/response_log_probs.ts";
import { distinctN } from "./text_metrics.ts";
import { bestOfNKl } from "./best_of_n.ts";
import { Rng } from "../util/rng.ts";
import { Progress } from "../util/progress.ts";
import * as tf from "@tensorflow/tfjs";

/** One evaluated completion. */
export interface EvalSample {
  /** Prompt token ids (with BOS). */
  prompt: number[];
  /** Sampled response token ids (ending with EOS when the row finished). */
  response: number[];
  /** Gold reward of the completion. */
  gold: number;
  /** Proxy (reward-model) score of the completion, when a proxy was given. */
  proxy?: number;
  /**
   * Σ_t log π(y_t) − log π_ref(y_t) of this completion: one sample of KL(π‖π_ref), whose
   * mean over samples is the reported KL (absent for best-of-n, whose KL is analytic).
   */
  kl?: number;
}

/** Metrics of a policy on a prompt set, with the samples they came from. */
export interface PolicyEval {
  /** Metric name → value (`reward/gold`, `reward/proxy`, `kl/ref`, `policy/entropy`, …). */
  metrics: Record<string, number>;
  /** Every evaluated completion, in prompt order. */
  samples: EvalSample[];
}

/** What {@link evaluatePolicy} needs. */
export interface PolicyEvalSpec {
  /** The policy to evaluate (sampled from). */
  policy: CausalLM;
  /** The reference policy of KL(π‖π_ref) (the SFT model). */
  ref: CausalLM;
  /** Prompt token ids (with BOS), one completion each. */
  prompts: readonly number[][];
  /** Maximum new tokens per completion. */
  maxNewTokens: number;
  /** The gold ("human") reward. */
  gold: RewardSource;
  /** The proxy reward (the reward model), reported as `reward/proxy` when given. */
  proxy?: RewardSource;
  /** Seed of the sampling stream: equal seeds give equal samples. */
  seed: number;
  /**
   * Sampling temperature τ (default 1: the policy's own distribution); KL and entropy are
   * those of the tempered models softmax(logits/τ), the distribution sampled.
   */
  temperature?: number;
  /** Prompts per sampling batch (memory bound). */
  chunk?: number;
  /** Label of a progress bar over the prompts (default: none). */
  progress?: string;
}

/** A bar over `total` prompts when a label is given, else a silent one. */
export function promptBar(label: string | undefined, total: number): Progress {
  return new Progress({ label: label ?? "", total, quiet: label === undefined });
}

/** Sample one completion per prompt and measure it. */
export async function evaluatePolicy(s: PolicyEvalSpec): Promise<PolicyEval> {
  const rng = new Rng(s.seed);
  const chunk = s.chunk ?? 64;
  const temperature = s.temperature ?? 1;
  const samples: EvalSample[] = [];
  let klSum = 0, nllSum = 0, tokenCount = 0;
  const bar = promptBar(s.progress, s.prompts.length);
  for (let i = 0; i < s.prompts.length; i += chunk) {
    const prompts = s.prompts.slice(i, i + chunk) as number[][];
    const out = await s.policy.sample(prompts, {
      maxNewTokens: s.maxNewTokens,
      temperature,
    }, rng);
    const batch = responseBatch(prompts, out.tokens, s.policy.config.context);
    const readouts = tf.tidy(() => {
      const { tokens, mask } = batchTensors(batch);
      return [
        responseLogProbs(s.policy, tokens, mask, {}, temperature),
        responseLogProbs(s.ref, tokens, mask, {}, temperature),
      ];
    });
    const [logProbs, refLogProbs] = await Promise.all(
      readouts.map(async (t) => (await t.data()) as Float32Array),
    );
    tf.dispose(readouts);
    const kl = sequenceKl(logProbs!, refLogProbs!, batch);
    for (let r = 0; r < kl.length; r++) klSum += kl[r]!;
    for (let j = 0; j < logProbs!.length; j++) nllSum -= logProbs![j]!;
    tokenCount += batch.responseLengths.reduce((a, n) => a + n, 0);
    const gold = await s.gold(prompts, out.tokens, batch);
    const proxy = s.proxy ? await s.proxy(prompts, out.tokens, batch) : undefined;
    prompts.forEach((p, r) =>
      samples.push({
        prompt: p,
        response: out.tokens[r]!,
        gold: gold[r]!,
        ...(proxy ? { proxy: proxy[r]! } : {}),
        kl: kl[r]!,
      })
    );
    bar.update(samples.length);
  }
  bar.finish();
  return {
    metrics: summariseSamples(samples, klSum / samples.length, nllSum / tokenCount),
    samples,
  };
}

/** What {@link bestOfN} needs. */
export interface BestOfNSpec {
  /** The policy to sample from (the SFT model). */
  policy: CausalLM;
  /** Prompt token ids (with BOS). */
  prompts: readonly number[][];
  /** Candidates per prompt, n ≥ 1. */
  n: number;
  /** Maximum new tokens per candidate. */
  maxNewTokens: number;
  /** Ranks the n candidates (the reward model, or the gold reward). */
  select: RewardSource;
  /** The gold ("human") reward of the kept completions. */
  gold: RewardSource;
  /** The proxy reward of the kept completions, reported as `reward/proxy` when given. */
  proxy?: RewardSource;
  /** Seed of the sampling stream. */
  seed: number;
  /** Candidate rows per sampling batch. */
  chunk?: number;
  /** Label of a progress bar over the prompts (default: none). */
  progress?: string;
}

/**
 * Best-of-n: for each prompt draw n completions, keep the one `select` ranks first.
 * Its KL to the sampling policy is the analytic log n − (n−1)/n (reported as `kl/ref`);
 * the kept completions' gold and proxy rewards are measured.
 */
export async function bestOfN(s: BestOfNSpec): Promise<PolicyEval> {
  const rng = new Rng(s.seed);
  const perChunk = Math.max(1, Math.floor((s.chunk ?? 128) / s.n));
  const samples: EvalSample[] = [];
  const bar = promptBar(s.progress, s.prompts.length);
  for (let i = 0; i < s.prompts.length; i += perChunk) {
    const group = s.prompts.slice(i, i + perChunk) as number[][];
    const prompts = group.flatMap((p) => Array.from({ length: s.n }, () => p));
    const out = await s.policy.sample(prompts, { maxNewTokens: s.maxNewTokens }, rng);
    const batch = responseBatch(prompts, out.tokens, s.policy.config.context);
    const scores = await s.select(prompts, out.tokens, batch);
    const keptPrompts: number[][] = [], kept: number[][] = [];
    group.forEach((p, g) => {
      let best = g * s.n;
      for (let j = g * s.n + 1; j < (g + 1) * s.n; j++) if (scores[j]! > scores[best]!) best = j;
      keptPrompts.push(p);
      kept.push(out.tokens[best]!);
    });
    const keptBatch = responseBatch(keptPrompts, kept, s.policy.config.context);
    const gold = await s.gold(keptPrompts, kept, keptBatch);
    const proxy = s.proxy ? await s.proxy(keptPrompts, kept, keptBatch) : undefined;
    keptPrompts.forEach((p, r) =>
      samples.push({
        prompt: p,
        response: kept[r]!,
        gold: gold[r]!,
        ...(proxy ? { proxy: proxy[r]! } : {}),
      })
    );
    bar.update(samples.length);
  }
  bar.finish();
  return { metrics: summariseSamples(samples, bestOfNKl(s.n), NaN), samples };
}

/**
 * The metrics of evaluated samples: mean gold (and proxy, when every sample has one),
 * distinct-2, mean length, the given KL and, when finite, entropy.
 * @param kl KL(π‖π_ref): a mean over samples, or an analytic value (best-of-n).
 * @param entropy per-token entropy estimate, NaN when there is none (best-of-n).
 */
export function summariseSamples(
  samples: readonly EvalSample[],
  kl: number,
  entropy: number,
): Record<string, number> {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  const m: Record<string, number> = {
    "reward/gold": mean(samples.map((x) => x.gold)),
    "kl/ref": kl,
    "gen/distinct2": distinctN(samples.map((x) => x.response), 2),
    "gen/length": mean(samples.map((x) => x.response.length)),
  };
  if (Number.isFinite(entropy)) m["policy/entropy"] = entropy;
  if (samples.every((x) => x.proxy !== undefined)) {
    m["reward/proxy"] = mean(samples.map((x) => x.proxy!));
  }
  return m;
}
