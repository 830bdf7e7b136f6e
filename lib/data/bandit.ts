/**
 * The exact bandit task (docs/architecture.md, "The exact tasks"): a contextual bandit small
 * enough to enumerate. P prompts × R responses, a fixed reference policy
 * π_ref(y|x) = softmax(refLogits[x]) and a true reward r(x, y). Because every response can
 * be listed, expected reward and KL(π‖π_ref) of any tabular policy are exact sums, and the
 * KL-regularised optimum π*_β ∝ π_ref·exp(r/β) is known in closed form (lib/eval/oracle.ts).
 *
 * Construction (seeded by {@link Rng}): reference logits are refScale·N(0, 1); each
 * prompt's rewards are the R evenly spaced levels rewardScale·k/(R − 1), k = 0..R−1, in a
 * seeded random order, so rewards are distinct, spread over [0, rewardScale] and
 * independent of π_ref's preferences.
 *
 * Arrays are row-major [P, R] (index x·R + y), in Float64Array for exact sums.
 *
 * @module
 */
import { Rng } from "../util/rng.ts";
import { checkField, resolveConfig, type Schema } from "../util/schema.ts";

/** A tabular problem: what the oracle and the exact statistics need. */
export interface Tabular {
  /** Number of prompts P. */
  readonly P: number;
  /** Number of responses per prompt R. */
  readonly R: number;
  /** log π_ref(y|x), [P, R] row-major; each row log-sums to 0. */
  readonly refLogProbs: Float64Array;
  /** r(x, y), [P, R] row-major. */
  readonly rewards: Float64Array;
}

/** Settings of {@link makeBanditTask}. */
export interface BanditConfig {
  /** Number of prompts P. */
  prompts: number;
  /** Number of responses R per prompt. */
  responses: number;
  /** Seed of the reference logits and the reward order. */
  seed: number;
  /** Standard deviation of π_ref's logits. */
  refScale: number;
  /** Rewards are evenly spaced over [0, rewardScale]. */
  rewardScale: number;
}

/**
 * Defaults: 4 prompts × 8 responses, unit logit scale, rewards over [0, 2]: π_ref earns
 * E[r] ≈ 1.06 while π*_β earns 1.38 at β = 1 and 1.98 at β = 0.1, so relative errors on
 * E[r] and KL are meaningful (tests/bandit_test.ts).
 */
export const BANDIT_DEFAULTS: BanditConfig = {
  prompts: 4,
  responses: 8,
  seed: 0,
  refScale: 1,
  rewardScale: 2,
};

const BANDIT_SCHEMA: Schema<BanditConfig> = {
  prompts: { type: "number", int: true, min: 1, doc: "number of prompts P" },
  responses: { type: "number", int: true, min: 2, doc: "responses per prompt R" },
  seed: { type: "number", int: true, doc: "seed of logits and rewards" },
  refScale: { type: "number", min: 0, doc: "std of reference logits" },
  rewardScale: { type: "number", gt: 0, doc: "reward range [0, rewardScale]" },
};

/** A bandit instance: a {@link Tabular} plus π_ref's logits and its config. */
export interface BanditTask extends Tabular {
  /** π_ref's logits, [P, R]; a tabular policy starts here. */
  readonly refLogits: Float64Array;
  /** The resolved config. */
  readonly config: BanditConfig;
}

/**
 * Build a seeded bandit task.
 * @param overrides fields of {@link BanditConfig} to change from {@link BANDIT_DEFAULTS}.
 * @throws ConfigError naming the field for a bad setting.
 * @example
 * ```ts
 * import { makeBanditTask } from "./bandit.ts";
 * const task = makeBanditTask({ seed: 1 });
 * if (task.rewards.length !== 4 * 8) throw new Error();
 * ```
 */
export function makeBanditTask(overrides: Partial<BanditConfig> = {}): BanditTask {
  const config = resolveConfig("bandit", BANDIT_SCHEMA, BANDIT_DEFAULTS, overrides);
  const { prompts: P, responses: R } = config;
  const rng = new Rng(config.seed);
  const refLogits = new Float64Array(P * R);
  for (let i = 0; i < P * R; i++) refLogits[i] = config.refScale * rng.normal();
  const rewards = new Float64Array(P * R);
  for (let x = 0; x < P; x++) {
    const order = rng.shuffle(Array.from({ length: R }, (_, k) => k));
    for (let y = 0; y < R; y++) rewards[x * R + y] = config.rewardScale * order[y]! / (R - 1);
  }
  return { P, R, refLogits, refLogProbs: logSoftmaxRows(refLogits, R), rewards, config };
}

/**
 * Row-wise log-softmax of a [P, R] row-major array (max-shifted).
 * @returns a new Float64Array of the same length.
 */
export function logSoftmaxRows(logits: ArrayLike<number>, R: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let o = 0; o < logits.length; o += R) {
    let m = -Infinity;
    for (let y = 0; y < R; y++) m = Math.max(m, logits[o + y]!);
    let s = 0;
    for (let y = 0; y < R; y++) s += Math.exp(logits[o + y]! - m);
    const lz = m + Math.log(s);
    for (let y = 0; y < R; y++) out[o + y] = logits[o + y]! - lz;
  }
  return out;
}

/** Sampling distributions μ for the two responses of a comparison. */
export const PAIR_SAMPLING = ["uniform", "ref"] as const;
/** "uniform" over responses, or "ref": π_ref(·|x). */
export type PairSampling = (typeof PAIR_SAMPLING)[number];

/** Preference data aggregated by distinct ordered (x, y_w, y_l). */
export interface BanditPairs {
  /** Flat index x·R + y_w of each distinct labelled pair, [M]. */
  chosen: number[];
  /** Flat index x·R + y_l, [M]. */
  rejected: number[];
  /** How many times that pair was drawn with that label, [M]; sums to `pairs`. */
  counts: number[];
}

/**
 * Simulated annotators for the bandit: draw `pairs` comparisons with x uniform and
 * y1, y2 ~ μ(·|x) independently, redrawing y2 until y2 ≠ y1 (a tie carries no signal),
 * then label y1 the winner with probability σ(r(x,y1) − r(x,y2)) (Bradley–Terry on the
 * true reward). Identical labelled pairs are merged into counts, so a loss weighted by
 * counts over the M ≤ P·R·(R−1) distinct pairs equals the mean loss over all draws.
 * @throws ConfigError naming the field for a bad setting.
 */
export function drawBanditPreferences(
  task: Tabular,
  options: { pairs: number; sampling: PairSampling; seed: number },
): BanditPairs {
  const pairs = checkField("bandit.pairs", options.pairs, {
    type: "number",
    int: true,
    min: 1,
    doc: "pairs",
  }) as number;
  const sampling = checkField("bandit.sampling", options.sampling, {
    type: "enum",
    values: PAIR_SAMPLING,
    doc: "pair sampling",
  });
  const { P, R, rewards, refLogProbs } = task;
  const rng = new Rng(options.seed);
  const mu = new Float64Array(P * R);
  for (let i = 0; i < P * R; i++) mu[i] = sampling === "uniform" ? 1 : Math.exp(refLogProbs[i]!);
  const tally = new Map<number, number>(); // key w·P·R + l
  for (let k = 0; k < pairs; k++) {
    const x = rng.int(P);
    const y1 = rng.categorical(mu, x * R, R);
    let y2 = rng.categorical(mu, x * R, R);
    while (y2 === y1) y2 = rng.categorical(mu, x * R, R);
    const a = x * R + y1, b = x * R + y2;
    const y1Wins = rng.bernoulli(1 / (1 + Math.exp(-(rewards[a]! - rewards[b]!))));
    const key = y1Wins ? a * P * R + b : b * P * R + a;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const out: BanditPairs = { chosen: [], rejected: [], counts: [] };
  for (const [key, count] of [...tally.entries()].sort((u, v) => u[0] - v[0])) {
    out.chosen.push(Math.floor(key / (P * R)));
    out.rejected.push(key % (P * R));
    out.counts.push(count);
  }
  return out;
}

/** Exact statistics of a tabular policy, averaged over prompts (uniform prompt weights). */
export interface TabularStats {
  /** E_x E_{y~π}[r(x, y)]. */
  reward: number;
  /** E_x KL(π(·|x) ‖ π_ref(·|x)) in nats. */
  kl: number;
  /** Per-prompt expected reward, [P]. */
  rewardPerPrompt: Float64Array;
  /** Per-prompt KL, [P]. */
  klPerPrompt: Float64Array;
}

/**
 * Expected reward and KL(π‖π_ref) of a tabular policy by enumeration:
 * E_π[r] = Σ_y π(y)·r(y), KL = Σ_y π(y)·(log π(y) − log π_ref(y)), then the mean over prompts.
 * @param task the problem. @param logProbs log π(y|x), [P, R] row-major (normalised rows).
 */
export function tabularStats(task: Tabular, logProbs: ArrayLike<number>): TabularStats {
  const { P, R, refLogProbs, rewards } = task;
  if (logProbs.length !== P * R) {
    throw new RangeError(`logProbs must have length P·R = ${P * R}, got ${logProbs.length}`);
  }
  const rewardPerPrompt = new Float64Array(P);
  const klPerPrompt = new Float64Array(P);
  for (let x = 0; x < P; x++) {
    let er = 0, kl = 0;
    for (let y = 0; y < R; y++) {
      const i = x * R + y;
      const p = Math.exp(logProbs[i]!);
      if (p === 0) continue; // 0·log 0 = 0
      er += p * rewards[i]!;
      kl += p * (logProbs[i]! - refLogProbs[i]!);
    }
    rewardPerPrompt[x] = er;
    klPerPrompt[x] = kl;
  }
  return { reward: mean(rewardPerPrompt), kl: mean(klPerPrompt), rewardPerPrompt, klPerPrompt };
}

function mean(xs: Float64Array): number {
  let s = 0;
  for (const v of xs) s += v;
  return s / xs.length;
}
