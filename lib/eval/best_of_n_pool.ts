/**
 * Best-of-n for a whole grid of n from one pool of candidates: draw N completions per
 * prompt once, score them all, and take best-of-n (n ≤ N) from the first n candidates of
 * each prompt. Each n's estimate uses n i.i.d. draws from the policy, exactly as drawing
 * them afresh would; the grid costs one draw of N instead of Σ n, and the estimates for
 * different n share candidates, so their differences are less noisy.
 *
 * @module
 */
import { responseBatch } from "../data/response_batch.ts";
import type { CausalLM } from "../models/causal_lm.ts";
import type { RewardSource } from "../train/rollout.ts";
import { ConfigError, FileFormatError, show } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { bestOfNKl } from "./best_of_n.ts";
import { type EvalSample, type PolicyEval, promptBar, summariseSamples } from "./policy_eval.ts";

/** N scored candidates for each prompt. */
export interface CandidatePool {
  /** Candidates per prompt, N. */
  size: number;
  /** Prompt token ids (with BOS), [P]. */
  prompts: number[][];
  /** Candidate token ids, [P][N]. */
  responses: number[][][];
  /** The score that ranks candidates (the reward model, or gold), [P][N]. */
  select: number[][];
  /** Gold reward of every candidate, [P][N]. */
  gold: number[][];
  /** Proxy (reward-model) reward of every candidate, [P][N], when a proxy was given. */
  proxy?: number[][];
}

/** What {@link sampleCandidatePool} needs. */
export interface CandidatePoolSpec {
  /** The policy to sample from (the SFT model). */
  policy: CausalLM;
  /** Prompt token ids (with BOS). */
  prompts: readonly number[][];
  /** Candidates per prompt, N ≥ 1. */
  size: number;
  /** Maximum new tokens per candidate. */
  maxNewTokens: number;
  /** Ranks candidates (the reward model, or the gold reward). */
  select: RewardSource;
  /** Whether `select` is `proxy` (then it is not scored twice). */
  selectIsProxy?: boolean;
  /** The gold reward. */
  gold: RewardSource;
  /** The proxy reward, when reported. */
  proxy?: RewardSource;
  /** Seed of the sampling stream. */
  seed: number;
  /** Candidate rows per sampling batch (default 128). */
  chunk?: number;
  /** Label of a progress bar over the prompts (default: none). */
  progress?: string;
}

/** Draw and score N candidates per prompt. */
export async function sampleCandidatePool(s: CandidatePoolSpec): Promise<CandidatePool> {
  if (!Number.isInteger(s.size) || s.size < 1) {
    throw new ConfigError(`candidate pool size must be an integer >= 1, got ${show(s.size)}`);
  }
  const rng = new Rng(s.seed);
  const perChunk = Math.max(1, Math.floor((s.chunk ?? 128) / s.size));
  const pool: CandidatePool = {
    size: s.size,
    prompts: [],
    responses: [],
    select: [],
    gold: [],
    ...(s.proxy ? { proxy: [] } : {}),
  };
  const bar = promptBar(s.progress, s.prompts.length);
  for (let i = 0; i < s.prompts.length; i += perChunk) {
    const group = s.prompts.slice(i, i + perChunk) as number[][];
    const prompts = group.flatMap((p) => Array.from({ length: s.size }, () => p));
    const out = await s.policy.sample(prompts, { maxNewTokens: s.maxNewTokens }, rng);
    const batch = responseBatch(prompts, out.tokens, s.policy.config.context);
    const select = await s.select(prompts, out.tokens, batch);
    const gold = await s.gold(prompts, out.tokens, batch);
    const proxy = s.proxy
      ? (s.selectIsProxy ? select : await s.proxy(prompts, out.tokens, batch))
      : undefined;
    const rows = (x: ArrayLike<number>, g: number) =>
      Array.from({ length: s.size }, (_, j) => x[g * s.size + j]!);
    group.forEach((p, g) => {
      pool.prompts.push(p);
      pool.responses.push(out.tokens.slice(g * s.size, (g + 1) * s.size));
      pool.select.push(rows(select, g));
      pool.gold.push(rows(gold, g));
      if (proxy) pool.proxy!.push(rows(proxy, g));
    });
    bar.update(pool.prompts.length);
  }
  bar.finish();
  return pool;
}

/**
 * Best-of-n from a pool: for each prompt, the first n candidates' best by `select` (the
 * first of equals). KL to the sampling policy is the analytic log n − (n−1)/n.
 * @throws ConfigError when n is not an integer in [1, pool size].
 */
export function bestOfNFromPool(pool: CandidatePool, n: number): PolicyEval {
  if (!Number.isInteger(n) || n < 1 || n > pool.size) {
    throw new ConfigError(
      `best-of-n needs n in [1, ${pool.size}] (the pool's size), got ${show(n)}`,
    );
  }
  const samples: EvalSample[] = pool.prompts.map((prompt, p) => {
    let best = 0;
    for (let j = 1; j < n; j++) if (pool.select[p]![j]! > pool.select[p]![best]!) best = j;
    return {
      prompt,
      response: pool.responses[p]![best]!,
      gold: pool.gold[p]![best]!,
      ...(pool.proxy ? { proxy: pool.proxy[p]![best]! } : {}),
    };
  });
  return { metrics: summariseSamples(samples, bestOfNKl(n), NaN), samples };
}

/**
 * Check a pool read back from JSON: every prompt has `size` candidates and scores.
 * @throws FileFormatError naming `source` and what is wrong.
 */
export function checkCandidatePool(value: unknown, source: string): CandidatePool {
  const p = value as CandidatePool;
  const bad = (why: string): never => {
    throw new FileFormatError(`${source} is not a candidate pool: ${why}`);
  };
  if (typeof p !== "object" || p === null || !Number.isInteger(p.size) || p.size < 1) {
    bad("no integer size >= 1");
  }
  const P = Array.isArray(p.prompts) ? p.prompts.length : bad("no prompts");
  const keys: ("responses" | "select" | "gold" | "proxy")[] = ["responses", "select", "gold"];
  if (p.proxy) keys.push("proxy");
  for (const k of keys) {
    const rows = p[k] as unknown[][] | undefined;
    if (!Array.isArray(rows) || rows.length !== P) bad(`${k} does not have ${P} rows`);
    rows!.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== p.size) bad(`${k}[${i}] does not have ${p.size} items`);
    });
  }
  return p;
}
