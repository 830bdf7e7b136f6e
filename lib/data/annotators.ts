/**
 * Simulated annotators: given k completions of one prompt and their gold rewards, produce
 * preference labels the way noisy people would, with a known noise level.
 *
 * Noise model (Luce's choice axiom). With weights w_i = exp(r_i/τ):
 * - a pair is labelled by Bradley–Terry (Bradley & Terry 1952):
 *   P(a ≻ b) = w_a/(w_a + w_b) = σ((r_a − r_b)/τ);
 * - k > 2 completions are ranked by Plackett–Luce (Plackett 1975; Luce 1959): pick the
 *   best with probability w_i/Σw, remove it, repeat (sampling without replacement).
 *   With k = 2 this *is* Bradley–Terry, and in a full Plackett–Luce ranking every pair's
 *   marginal P(i ranked above j) is again σ((r_i − r_j)/τ) (independence of irrelevant
 *   alternatives), so the two names give one consistent model;
 * - the ranking is turned into pairs ({@link PairMode}); the default "all" takes every
 *   one of the k(k−1)/2 pairs, as InstructGPT did with its K-way rankings (Ouyang et al.
 *   2022, §3.5).
 *
 * Ties (Davidson 1970, "On extending the Bradley–Terry model to accommodate ties in paired
 * comparison experiments"). A person shown two equally good completions says "no
 * preference". With ν ≥ 0 (`nu`, 0 = never) and Δ = r_a − r_b:
 *
 *     P(a ≻ b) = e^{Δ/2τ} / Z,   P(tie) = ν / Z,   P(b ≻ a) = e^{−Δ/2τ} / Z,
 *     Z = e^{Δ/2τ} + e^{−Δ/2τ} + ν
 *
 * (Davidson's P(tie) ∝ ν·√(w_a·w_b), divided through by √(w_a·w_b)). At equal rewards
 * P(tie) = ν/(2 + ν), so ν = 2 declares half of the equal pairs ties; ties fade as the gap
 * grows. Given that the label is not a tie, P(a ≻ b | no tie) = σ(Δ/τ): the Bradley–Terry
 * label is unchanged. For k > 2 the Plackett–Luce ranking is drawn first and each pair
 * taken from it is then declared a tie with probability P(tie) above, independently of the
 * order the ranking gave it. Because that probability is symmetric in (a, b), every pair's
 * marginal over {a ≻ b, tie, b ≻ a} is exactly Davidson's, and p_correct of an untied pair
 * is what it was without ties, in every pair mode. With ν = 0 no tie is ever drawn and the
 * random stream is the one of the annotator without ties.
 *
 * p_correct. For every labelled pair the annotator also reports the probability that the
 * label agrees with the true reward order, given that the label is a preference (not a
 * tie). A reward model that scores completions one at a time can do no better on a pair
 * than to predict the true order, so the mean p_correct over a data set's untied pairs is
 * the Bayes-optimal accuracy on its labels ({@link bayesCeiling}).
 *
 * Accuracy, everywhere in the kit: over the pairs labelled with a preference (tie labels
 * carry no order to agree with and are excluded, as they are from training), a pair whose
 * two predicted scores are equal counts half. Equal rewards (r_a = r_b) have no true order:
 * p_correct = 0.5, which is what that half-counting gives. For pairs taken from a ranking:
 * - "all": the pair is always taken, so p_correct = σ(|r_a − r_b|/τ) exactly;
 * - "adjacent" / "best_worst": *which* pair is taken depends on the draw, and conditioning
 *   on it changes the odds (adjacent pairs are noisier than σ(|Δ|/τ), best-vs-worst pairs
 *   cleaner). p_correct is then computed exactly by dynamic programming over subsets
 *   (O(2^k·k) per pair), which limits those modes to k ≤ {@link MAX_K_EXACT}.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";
import type { Rng } from "../util/rng.ts";
import { checkField, resolveConfig, type Schema } from "../util/schema.ts";

/** How a ranking of k completions becomes preference pairs. */
export const PAIR_MODES = ["all", "adjacent", "best_worst"] as const;
/**
 * `all`: every pair (k(k−1)/2); `adjacent`: ranks 1–2, 2–3, … (k−1 pairs);
 * `best_worst`: the top against the bottom (1 pair).
 */
export type PairMode = (typeof PAIR_MODES)[number];

/**
 * The largest k for which "adjacent"/"best_worst" p_correct is computed (2^k states):
 * measured 0.6 ms per prompt at k = 8 and 17 ms at k = 12 on the development machine.
 */
export const MAX_K_EXACT = 12;

/** One labelled pair, as indices into the rewards given to {@link Annotator.label}. */
export interface PairLabel {
  /** Index of the preferred completion. */
  chosen: number;
  /** Index of the other completion. */
  rejected: number;
  /**
   * Probability that this label agrees with the true reward order given it is a preference
   * (0.5 at equal rewards); NaN for a tie label, which has no order.
   */
  pCorrect: number;
  /** The annotator declared no preference: `chosen`/`rejected` are then only an order of listing. */
  tie: boolean;
}

/** A simulated annotator. All methods are deterministic given the `rng` state. */
export interface Annotator {
  /** `bradley_terry`, `plackett_luce` or `noiseless`. */
  readonly name: string;
  /** Temperature τ of the Luce model; 0 for the noiseless annotator. */
  readonly tau: number;
  /** Default pair mode for k > 2 in {@link Annotator.label}. */
  readonly pairs: PairMode;
  /** Davidson's tie parameter ν ≥ 0 (0: the annotator never declares a tie). */
  readonly nu: number;
  /** A ranking of the completions, as indices best → worst. */
  rank(rewards: readonly number[], rng: Rng): number[];
  /**
   * Label one pair with one uniform draw u: a wins when u < P(a ≻ b), a tie when
   * u < P(a ≻ b) + P(tie) (see the module doc), else b wins. `aWins` is false on a tie;
   * `pCorrect` is {@link Annotator.pCorrect}(ra, rb) (NaN on a tie).
   */
  comparePair(
    ra: number,
    rb: number,
    rng: Rng,
  ): { aWins: boolean; tie: boolean; pCorrect: number };
  /**
   * Probability that an untied pair label agrees with the reward order: σ(|ra − rb|/τ),
   * 0.5 at equal rewards.
   */
  pCorrect(ra: number, rb: number): number;
  /** Probability that the pair is labelled a tie: ν/(e^{Δ/2τ} + e^{−Δ/2τ} + ν). */
  pTie(ra: number, rb: number): number;
  /**
   * Label k completions: k = 2 → one {@link Annotator.comparePair}; k > 2 → a
   * {@link Annotator.rank} turned into pairs by `pairs` (default {@link Annotator.pairs}),
   * each with its exact p_correct (see the module doc), then each pair declared a tie
   * with probability {@link Annotator.pTie} (a draw only where that is > 0). k < 2 → no
   * pairs.
   */
  label(rewards: readonly number[], rng: Rng, pairs?: PairMode): PairLabel[];
}

/** Numerically stable logistic σ(x) = 1/(1 + e^−x). */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Options of the annotator factories. */
export interface AnnotatorOptions {
  /** Pair mode for k > 2 (default "all"). */
  pairs?: PairMode;
  /** Davidson's tie parameter ν ≥ 0 (default 0: no ties); see the module doc. */
  nu?: number;
}

/**
 * Bradley–Terry annotator: P(a ≻ b) = σ((r_a − r_b)/τ), with Davidson ties when
 * `opts.nu` > 0. For k > 2 it ranks by Plackett–Luce, the ranking model whose pairwise
 * marginals are exactly these.
 * @param tau temperature τ > 0, in reward units: a reward gap of τ is labelled correctly
 *   with probability σ(1) ≈ 0.73.
 * @param opts pair mode for k > 2 (default "all") and tie parameter ν (default 0).
 * @throws ConfigError when τ is not a finite number > 0 or ν < 0 (the message names it).
 */
export function bradleyTerry(tau: number, opts: AnnotatorOptions = {}): Annotator {
  return luceAnnotator("bradley_terry", tau, opts.pairs ?? "all", opts.nu ?? 0);
}

/**
 * Plackett–Luce annotator: ranks k completions by sequential sampling without
 * replacement with weights exp(r/τ), then takes pairs by `opts.pairs` (default "all"),
 * with Davidson ties when `opts.nu` > 0. For k = 2 this equals {@link bradleyTerry}.
 * @throws ConfigError when τ is not a finite number > 0 (the message names `tau`).
 * @example
 * ```ts
 * import { plackettLuce } from "./annotators.ts";
 * import { Rng } from "../util/rng.ts";
 * const labels = plackettLuce(0.1).label([0.9, -0.5, 0.1], new Rng(0));
 * if (labels.length !== 3) throw new Error();
 * ```
 */
export function plackettLuce(tau: number, opts: AnnotatorOptions = {}): Annotator {
  return luceAnnotator("plackett_luce", tau, opts.pairs ?? "all", opts.nu ?? 0);
}

/**
 * The noiseless annotator (the τ → 0 limit): ranks by reward, equal rewards ordered by the
 * lower index first. p_correct is 1 (0.5 at equal rewards). With ν > 0 a pair of equal
 * rewards is a tie with probability ν/(2 + ν) (Davidson's τ → 0 limit; unequal rewards are
 * never tied); only those draws use `rng`, so without equal rewards or with ν = 0 labels
 * never depend on it.
 */
export function noiseless(opts: AnnotatorOptions = {}): Annotator {
  const pairs = checkPairs(opts.pairs ?? "all");
  const nu = checkNu(opts.nu ?? 0);
  const pCorrect = (ra: number, rb: number) => (ra === rb ? 0.5 : 1);
  const pTie = (ra: number, rb: number) => (ra === rb ? nu / (2 + nu) : 0);
  const annotator: Annotator = {
    name: "noiseless",
    tau: 0,
    pairs,
    nu,
    rank(rewards) {
      checkRewards(rewards);
      return rewards.map((_, i) => i).sort((i, j) => rewards[j]! - rewards[i]! || i - j);
    },
    comparePair(ra, rb, rng) {
      checkRewards([ra, rb]);
      const q = pTie(ra, rb);
      if (q > 0 && rng.next() < q) return { aWins: false, tie: true, pCorrect: NaN };
      return { aWins: ra >= rb, tie: false, pCorrect: pCorrect(ra, rb) };
    },
    pCorrect,
    pTie,
    label(rewards, rng, mode = pairs) {
      return labelWith(
        annotator,
        rewards,
        rng,
        checkPairs(mode),
        (i, j) => pCorrect(rewards[i]!, rewards[j]!),
      );
    },
  };
  return annotator;
}

function luceAnnotator(name: string, tau: number, pairs: PairMode, nu: number): Annotator {
  checkField("tau", tau, { type: "number", gt: 0, doc: "annotator temperature" });
  checkPairs(pairs);
  checkNu(nu);
  const pCorrect = (ra: number, rb: number) => (ra === rb ? 0.5 : sigmoid(Math.abs(ra - rb) / tau));
  const pTie = (ra: number, rb: number) => davidson(ra - rb, tau, nu).tie;
  const annotator: Annotator = {
    name,
    tau,
    pairs,
    nu,
    rank(rewards, rng) {
      checkRewards(rewards);
      return plackettLuceRanking(rewards, tau, rng);
    },
    comparePair(ra, rb, rng) {
      checkRewards([ra, rb]);
      if (nu === 0) { // the plain Bradley–Terry draw, bit for bit
        return {
          aWins: rng.next() < sigmoid((ra - rb) / tau),
          tie: false,
          pCorrect: pCorrect(ra, rb),
        };
      }
      const p = davidson(ra - rb, tau, nu);
      const u = rng.next();
      if (u < p.aWins) return { aWins: true, tie: false, pCorrect: pCorrect(ra, rb) };
      if (u < p.aWins + p.tie) return { aWins: false, tie: true, pCorrect: NaN };
      return { aWins: false, tie: false, pCorrect: pCorrect(ra, rb) };
    },
    pCorrect,
    pTie,
    label(rewards, rng, mode = pairs) {
      checkPairs(mode);
      if (mode === "all" || rewards.length <= 2) {
        return labelWith(
          annotator,
          rewards,
          rng,
          mode,
          (i, j) => pCorrect(rewards[i]!, rewards[j]!),
        );
      }
      if (rewards.length > MAX_K_EXACT) {
        throw new ConfigError(
          `pairs "${mode}" supports at most k = ${MAX_K_EXACT} completions per prompt ` +
            `(its p_correct is exact over 2^k subsets), got k = ${rewards.length}; use pairs "all"`,
        );
      }
      const choice = luceChoiceTable(rewards, tau); // shared by the k − 1 or 1 pairs
      return labelWith(
        annotator,
        rewards,
        rng,
        mode,
        (i, j) => luceConditionalPCorrect(rewards, tau, i, j, mode, choice),
      );
    },
  };
  return annotator;
}

/** Shared body of `label`: compare (k = 2) or rank and pair (k > 2), then attach p_correct. */
function labelWith(
  annotator: Annotator,
  rewards: readonly number[],
  rng: Rng,
  mode: PairMode,
  pCorrectOf: (winner: number, loser: number) => number,
): PairLabel[] {
  checkRewards(rewards);
  if (rewards.length < 2) return [];
  if (rewards.length === 2) {
    const { aWins, tie, pCorrect } = annotator.comparePair(rewards[0]!, rewards[1]!, rng);
    // A tie is listed in presentation order (a, b).
    const bFirst = !aWins && !tie;
    return [{ chosen: bFirst ? 1 : 0, rejected: bFirst ? 0 : 1, pCorrect, tie }];
  }
  // The ranking first, then one tie draw per taken pair, in pair order (none when P(tie) = 0,
  // so an annotator without ties consumes exactly the ranking's draws).
  return rankingToPairs(annotator.rank(rewards, rng), mode).map(([chosen, rejected]) => {
    const q = annotator.pTie(rewards[chosen]!, rewards[rejected]!);
    const tie = q > 0 && rng.next() < q;
    return { chosen, rejected, pCorrect: tie ? NaN : pCorrectOf(chosen, rejected), tie };
  });
}

/**
 * Davidson's (1970) three outcome probabilities of a pair with reward gap Δ = r_a − r_b
 * (module doc), computed with the larger exponential factored out so that nothing
 * overflows for tiny τ.
 */
export function davidson(
  delta: number,
  tau: number,
  nu: number,
): { aWins: number; tie: number; bWins: number } {
  const x = Math.abs(delta) / (2 * tau);
  const small = Math.exp(-2 * x), mid = nu * Math.exp(-x); // e^{−|Δ|/τ}, ν·e^{−|Δ|/2τ}
  const z = 1 + small + mid;
  const hi = 1 / z, lo = small / z, tie = mid / z;
  return delta >= 0 ? { aWins: hi, tie, bWins: lo } : { aWins: lo, tie, bWins: hi };
}

/**
 * Draw a Plackett–Luce ranking (indices best → worst): repeatedly pick among the remaining
 * items with probability ∝ exp(r_i/τ). Each step shifts by the remaining maximum, so the
 * weights never all underflow even for tiny τ.
 */
export function plackettLuceRanking(rewards: readonly number[], tau: number, rng: Rng): number[] {
  const remaining = rewards.map((_, i) => i);
  const ranking: number[] = [];
  const w = new Float64Array(rewards.length);
  while (remaining.length > 1) {
    let max = -Infinity;
    for (const i of remaining) max = Math.max(max, rewards[i]!);
    for (let s = 0; s < remaining.length; s++) {
      w[s] = Math.exp((rewards[remaining[s]!]! - max) / tau);
    }
    const pick = rng.categorical(w, 0, remaining.length);
    ranking.push(remaining[pick]!);
    remaining.splice(pick, 1);
  }
  ranking.push(remaining[0]!);
  return ranking;
}

/**
 * Turn a ranking (indices best → worst) into `[chosen, rejected]` pairs.
 * @example
 * ```ts
 * import { rankingToPairs } from "./annotators.ts";
 * const p = rankingToPairs([2, 0, 1], "adjacent"); // [[2, 0], [0, 1]]
 * if (p.length !== 2) throw new Error();
 * ```
 */
export function rankingToPairs(ranking: readonly number[], mode: PairMode): [number, number][] {
  const k = ranking.length;
  const out: [number, number][] = [];
  if (k < 2) return out;
  switch (mode) {
    case "all":
      for (let a = 0; a < k; a++) {
        for (let b = a + 1; b < k; b++) out.push([ranking[a]!, ranking[b]!]);
      }
      break;
    case "adjacent":
      for (let a = 0; a + 1 < k; a++) out.push([ranking[a]!, ranking[a + 1]!]);
      break;
    case "best_worst":
      out.push([ranking[0]!, ranking[k - 1]!]);
      break;
  }
  return out;
}

/**
 * Exact p_correct of a pair {a, b} taken from a Plackett–Luce ranking by `mode`:
 * P(higher-reward item first | the pair was taken). For "all" this is σ(|r_a − r_b|/τ);
 * for "adjacent" it weighs P(a immediately before b) against P(b immediately before a),
 * for "best_worst" P(a first, b last) against P(b first, a last), each summed over the
 * subsets of items ranked before them (dynamic programming over 2^k subsets).
 * @param choice a {@link luceChoiceTable} of these rewards, to share work across pairs.
 */
export function luceConditionalPCorrect(
  rewards: readonly number[],
  tau: number,
  a: number,
  b: number,
  mode: PairMode,
  choice: LuceChoice = luceChoiceTable(rewards, tau),
): number {
  const ra = rewards[a]!, rb = rewards[b]!;
  if (ra === rb) return 0.5;
  if (mode === "all" || rewards.length === 2) return sigmoid(Math.abs(ra - rb) / tau);
  const [hi, lo] = ra > rb ? [a, b] : [b, a];
  const right = pairTakenProbability(rewards.length, choice, hi, lo, mode);
  const wrong = pairTakenProbability(rewards.length, choice, lo, hi, mode);
  return right / (right + wrong);
}

/** choice(S, m): P(m is picked next | the items in bitmask S are already ranked). */
export type LuceChoice = (S: number, m: number) => number;

/**
 * Tabulate Plackett–Luce next-pick probabilities for every subset of ≤ 30 items. Each
 * subset's weights are shifted by its remaining maximum, so nothing underflows to 0/0.
 */
export function luceChoiceTable(rewards: readonly number[], tau: number): LuceChoice {
  const k = rewards.length;
  const full = (1 << k) - 1;
  const remMax = new Float64Array(1 << k);
  const remDen = new Float64Array(1 << k);
  for (let S = 0; S < full; S++) {
    let max = -Infinity;
    for (let m = 0; m < k; m++) if (!(S & (1 << m))) max = Math.max(max, rewards[m]!);
    let den = 0;
    for (let m = 0; m < k; m++) if (!(S & (1 << m))) den += Math.exp((rewards[m]! - max) / tau);
    remMax[S] = max;
    remDen[S] = den;
  }
  return (S, m) => Math.exp((rewards[m]! - remMax[S]!) / tau) / remDen[S]!;
}

/** P(`first` ranked immediately before / first and `second` immediately after / last). */
function pairTakenProbability(
  k: number,
  choice: LuceChoice,
  first: number,
  second: number,
  mode: "adjacent" | "best_worst",
): number {
  const full = (1 << k) - 1;
  // f[S]: probability that the first |S| picks are exactly the items of S (and, for
  // best_worst, that the very first pick is `first`).
  const f = new Float64Array(1 << k);
  const start = mode === "adjacent" ? 0 : 1 << first;
  f[start] = mode === "adjacent" ? 1 : choice(0, first);
  const bothBits = (1 << first) | (1 << second);
  let total = 0;
  for (let S = start; S < full; S++) {
    const fS = f[S]!;
    if (fS === 0) continue;
    if (mode === "adjacent" && !(S & bothBits)) {
      total += fS * choice(S, first) * choice(S | (1 << first), second);
    }
    for (let m = 0; m < k; m++) {
      if (!(S & (1 << m))) f[S | (1 << m)]! += fS * choice(S, m);
    }
  }
  return mode === "adjacent" ? total : f[full & ~(1 << second)]!;
}

/**
 * Bayes-optimal accuracy of any per-completion reward model on a labelled data set:
 * the mean p_correct over its untied pairs (see the module doc for what accuracy means
 * with ties). {@link PairLabel}s that are ties are skipped; plain numbers are taken as
 * the p_correct of untied pairs (for a preference table use `preferenceCeiling` in
 * preference_pairs.ts, which reads its `tie` column).
 * @param pairs p_correct values of untied pairs, or {@link PairLabel}s.
 * @throws ConfigError when there is no untied pair or a value is not in [0, 1] (a NaN is
 *   what a tie row stores).
 */
export function bayesCeiling(pairs: ArrayLike<number> | readonly PairLabel[]): number {
  let sum = 0, count = 0;
  for (let i = 0; i < pairs.length; i++) {
    const item = pairs[i]!;
    if (typeof item !== "number" && item.tie) continue;
    const p = typeof item === "number" ? item : item.pCorrect;
    if (!(p >= 0 && p <= 1)) {
      throw new ConfigError(
        `bayesCeiling: p_correct of pair ${i} must be in [0, 1], got ${p}` +
          (Number.isNaN(p) ? " (tie rows store NaN: leave them out)" : ""),
      );
    }
    sum += p;
    count++;
  }
  if (count === 0) {
    throw new ConfigError("bayesCeiling needs at least one pair that is not a tie, got 0");
  }
  return sum / count;
}

/** Which annotator a config asks for. */
export const ANNOTATOR_KINDS = ["bradley_terry", "plackett_luce", "noiseless"] as const;

/** Annotator section of an experiment config. */
export interface AnnotatorConfig {
  /** Noise model. */
  kind: (typeof ANNOTATOR_KINDS)[number];
  /** Temperature τ > 0 in reward units (ignored by `noiseless`). */
  tau: number;
  /** How k > 2 rankings become pairs. */
  pairs: PairMode;
  /** Davidson's tie parameter ν ≥ 0: P(tie) = ν/(2 + ν) at equal rewards; 0 = no ties. */
  nu: number;
}

/** Schema for {@link AnnotatorConfig}. */
export const ANNOTATOR_SCHEMA: Schema<AnnotatorConfig> = {
  kind: { type: "enum", values: ANNOTATOR_KINDS, doc: "annotator noise model" },
  tau: { type: "number", gt: 0, doc: "temperature τ in reward units" },
  pairs: { type: "enum", values: PAIR_MODES, doc: "how a ranking becomes pairs" },
  nu: { type: "number", min: 0, doc: "Davidson tie parameter ν, 0 = no ties" },
};

/**
 * Defaults: Bradley–Terry with τ = 0.2 on VADER's [−1, 1] scale, so a gap of 0.2 is
 * labelled right 73% of the time and a gap of 0.6 95%.
 */
export const ANNOTATOR_DEFAULTS: AnnotatorConfig = {
  kind: "bradley_terry",
  tau: 0.2,
  pairs: "all",
  nu: 0,
};

/** Build an annotator from a (partial) {@link AnnotatorConfig}; fields are validated. */
export function annotatorFromConfig(overrides: Partial<AnnotatorConfig> = {}): Annotator {
  const cfg = resolveConfig("annotator", ANNOTATOR_SCHEMA, ANNOTATOR_DEFAULTS, overrides);
  switch (cfg.kind) {
    case "bradley_terry":
      return bradleyTerry(cfg.tau, { pairs: cfg.pairs, nu: cfg.nu });
    case "plackett_luce":
      return plackettLuce(cfg.tau, { pairs: cfg.pairs, nu: cfg.nu });
    case "noiseless":
      return noiseless({ pairs: cfg.pairs, nu: cfg.nu });
  }
}

function checkPairs(mode: string): PairMode {
  if (!(PAIR_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(
      `pairs must be one of ${PAIR_MODES.map((m) => `"${m}"`).join(", ")}, got ${show(mode)}`,
    );
  }
  return mode as PairMode;
}

function checkNu(nu: number): number {
  return checkField("nu", nu, { type: "number", min: 0, doc: "Davidson tie parameter" }) as number;
}

function checkRewards(rewards: readonly number[]): void {
  for (let i = 0; i < rewards.length; i++) {
    if (!Number.isFinite(rewards[i])) {
      throw new ConfigError(
        `annotator rewards must be finite numbers, got rewards[${i}] = ${show(rewards[i])}`,
      );
    }
  }
}
