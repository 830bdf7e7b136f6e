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
 * The draws are in luce_model.ts, the pair modes in annotator_pairs.ts.
 *
 * Ties (Davidson 1970; the formulas are in davidson_ties.ts). A person shown two equally
 * good completions says "no preference". With ν ≥ 0 (`nu`, 0 = never) a pair is a tie with
 * Davidson's probability ({@link Annotator.pTie}): ν/(2 + ν) at equal rewards, fading as
 * the gap grows. Given that the label is not a tie, P(a ≻ b | no tie) = σ(Δ/τ): the
 * Bradley–Terry label is unchanged. For k > 2 the Plackett–Luce ranking is drawn first and
 * each pair taken from it is then declared a tie with probability P(tie), independently of
 * the order the ranking gave it. Because that probability is symmetric in (a, b), every
 * pair's marginal over {a ≻ b, tie, b ≻ a} is exactly Davidson's, and p_correct of an
 * untied pair is what it was without ties, in every pair mode. With ν = 0 no tie is ever
 * drawn and the random stream is the one of the annotator without ties.
 *
 * p_correct. For every labelled pair the annotator also reports the probability that the
 * label agrees with the true reward order, given that the label is a preference (not a
 * tie); its mean over a data set's untied pairs is the Bayes-optimal accuracy on its labels
 * ({@link bayesCeiling}). How it is computed in each pair mode, and what accuracy means
 * with ties: annotator_p_correct.ts.
 *
 * @module
 */
import { ConfigError, show } from "../util/errors.ts";
import type { Rng } from "../util/rng.ts";
import { checkField } from "../util/schema.ts";
import { PAIR_MODES, type PairLabel, type PairMode, rankingToPairs } from "./annotator_pairs.ts";
import { luceChoiceTable, luceConditionalPCorrect, MAX_K_EXACT } from "./annotator_p_correct.ts";
import { davidson } from "./davidson_ties.ts";
import { plackettLuceRanking, sigmoid } from "./luce_model.ts";

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
