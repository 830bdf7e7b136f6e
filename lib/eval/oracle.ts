/**
 * Exact optima on an enumerable response space: the yardsticks PPO, DPO and IPO must hit.
 *
 * **KL-regularised RL** (the objective the kit serves; docs/architecture.md, "The exact
 * tasks"). For each prompt, max_π E_π[r] − β·KL(π‖π_ref) is solved by the Gibbs policy
 *
 *     π*_β(y) = π_ref(y)·exp(r(y)/β) / Z,   Z = Σ_y π_ref(y)·exp(r(y)/β)
 *
 * (e.g. Rafailov et al. 2023, eq. 4), computed here with a log-sum-exp. Sweeping β traces
 * the reward–KL frontier {(KL(π*_β‖π_ref), E_{π*_β}[r])}: no policy gets more reward at the
 * same KL.
 *
 * **DPO's population optimum** (Rafailov et al. 2023, §4–5). With pairs (y, y') drawn from
 * any μ with full support and labels drawn from Bradley–Terry on the TRUE reward,
 * p(y ≻ y') = σ(r(y) − r(y')), the population DPO loss is
 * E_{y,y'~μ}[−p·log σ(β·h) − (1−p)·log σ(−β·h)], h = g(y) − g(y'), g = log π − log π_ref.
 * Pointwise it is minimised at σ(β·h) = p, i.e. β·(g(y) − g(y')) = r(y) − r(y') for every
 * pair; g = r/β + const achieves this, so the minimiser is exactly π*_β, whatever μ is as
 * long as every pair has positive probability (uniform or π_ref itself both do; a μ that
 * never compares some responses leaves their relative mass undetermined). Finite samples
 * give a Bradley–Terry maximum-likelihood fit of r/β instead, so coverage matters: uniform
 * μ spends the same number of comparisons on every pair. Label smoothing ε ≠ 0 (cDPO) and
 * the hinge loss do NOT have π*_β as their optimum.
 *
 * **IPO's optimum** (Azar et al. 2023, ΨPO with Ψ = identity). With the same μ and any
 * preference probabilities p(y ≻ y'), the population IPO loss
 * E_{y,y'~μ, label}[(h_w,l − 1/(2β))²] equals, up to a constant,
 * E_{y,y'~μ}[(h(y,y') − (p(y ≻ y') − ½)/β)²] (expand p(h − c)² + (1−p)(h + c)², c = 1/(2β)).
 * This is a weighted least-squares problem in g. Setting ∂/∂g(y) = 0 and using the
 * antisymmetry of h and of p − ½ gives 4μ(y)·Σ_{y'} μ(y')(g(y) − g(y') − (p(y≻y') − ½)/β) = 0,
 * i.e. g(y) − E_μ[g] = (p(y ≻ μ) − ½)/β with p(y ≻ μ) = E_{y'~μ} p(y ≻ y'). Normalising:
 *
 *     π_IPO(y) ∝ π_ref(y)·exp(p(y ≻ μ)/β)
 *
 * which is Azar et al.'s closed form (their eq. 6 with Ψ(q) = q): the exponent is the
 * bounded win-rate against μ, not the reward, so π_IPO ≠ π*_β in general and it depends on
 * μ. The objective is convex in g with a connected comparison graph when μ has full
 * support, so this stationary point is the unique minimiser (tests/oracle_test.ts also
 * checks that the exact autodiff gradient of the population loss vanishes there).
 * Discarding ties y = y' changes nothing (their h is 0 and their target is 0).
 *
 * All arrays are [P, R] row-major Float64Array; prompts are weighted uniformly.
 *
 * @module
 */
import { logSoftmaxRows, type Tabular, tabularStats } from "../data/bandit.ts";
import { checkField } from "../util/schema.ts";

/** One point of the oracle frontier. */
export interface OracleRow {
  /** KL coefficient β. */
  beta: number;
  /** E_x E_{π*_β}[r]. */
  reward: number;
  /** E_x KL(π*_β ‖ π_ref). */
  kl: number;
}

const BETA_SPEC = { type: "number", gt: 0, doc: "KL coefficient β" } as const;

/**
 * log π*_β(y|x) = log π_ref(y|x) + r(x,y)/β − log Z(x), by a row-wise log-softmax.
 * @returns a new Float64Array [P, R].
 */
export function optimalLogPolicy(task: Tabular, beta: number): Float64Array {
  checkField("oracle.beta", beta, BETA_SPEC);
  const logits = new Float64Array(task.P * task.R);
  for (let i = 0; i < logits.length; i++) {
    logits[i] = task.refLogProbs[i]! + task.rewards[i]! / beta;
  }
  return logSoftmaxRows(logits, task.R);
}

/** Expected reward and KL(π*_β‖π_ref) of the KL-regularised optimum at β. */
export function oracleStats(task: Tabular, beta: number): OracleRow {
  const { reward, kl } = tabularStats(task, optimalLogPolicy(task, beta));
  return { beta, reward, kl };
}

/**
 * The reward–KL frontier traced by π*_β over `betas` (same order as given).
 * @example
 * ```ts
 * import { makeBanditTask } from "../data/bandit.ts";
 * import { oracleFrontier } from "./oracle.ts";
 * const rows = oracleFrontier(makeBanditTask(), [0.1, 1, 10]);
 * if (!(rows[0]!.kl > rows[2]!.kl)) throw new Error("smaller β moves further");
 * ```
 */
export function oracleFrontier(task: Tabular, betas: readonly number[]): OracleRow[] {
  return betas.map((beta) => oracleStats(task, beta));
}

/**
 * The population optimum of DPO under Bradley–Terry preferences on the true reward, with
 * pairs from any full-support μ: equal to π*_β (see the module doc). Alias of
 * {@link optimalLogPolicy}, named for readability at call sites.
 */
export const dpoOptimalLogPolicy: (task: Tabular, beta: number) => Float64Array = optimalLogPolicy;

/**
 * Bradley–Terry preference probabilities on the true reward:
 * p(y ≻ y' | x) = σ(r(x,y) − r(x,y')).
 * @returns a new Float64Array [P, R, R] row-major (index (x·R + y)·R + y').
 */
export function bradleyTerryPreferences(task: Tabular): Float64Array {
  const { P, R, rewards } = task;
  const out = new Float64Array(P * R * R);
  for (let x = 0; x < P; x++) {
    for (let y = 0; y < R; y++) {
      for (let z = 0; z < R; z++) {
        const d = rewards[x * R + y]! - rewards[x * R + z]!;
        out[(x * R + y) * R + z] = 1 / (1 + Math.exp(-d));
      }
    }
  }
  return out;
}

/** Options of {@link ipoOptimalLogPolicy}. */
export interface IpoOptimumOptions {
  /** p(y ≻ y' | x), [P, R, R]; default Bradley–Terry on the true reward. */
  preferences?: ArrayLike<number>;
  /** The pair-sampling distribution μ(y|x), [P, R] rows summing to 1; default uniform. */
  mu?: ArrayLike<number>;
}

/**
 * IPO's population optimum π_IPO(y) ∝ π_ref(y)·exp(p(y ≻ μ)/β) (derivation in the module
 * doc; Azar et al. 2023). Here β is IPO's τ, the coefficient of the target 1/(2β).
 * @returns log π_IPO, a new Float64Array [P, R].
 */
export function ipoOptimalLogPolicy(
  task: Tabular,
  beta: number,
  options: IpoOptimumOptions = {},
): Float64Array {
  checkField("oracle.beta", beta, BETA_SPEC);
  const { P, R, refLogProbs } = task;
  const pref = options.preferences ?? bradleyTerryPreferences(task);
  const mu = options.mu ?? new Float64Array(P * R).fill(1 / R);
  if (pref.length !== P * R * R) {
    throw new RangeError(`preferences must have length P·R·R = ${P * R * R}, got ${pref.length}`);
  }
  if (mu.length !== P * R) {
    throw new RangeError(`mu must have length P·R = ${P * R}, got ${mu.length}`);
  }
  const logits = new Float64Array(P * R);
  for (let x = 0; x < P; x++) {
    for (let y = 0; y < R; y++) {
      let winRate = 0; // p(y ≻ μ) = Σ_z μ(z)·p(y ≻ z)
      for (let z = 0; z < R; z++) winRate += mu[x * R + z]! * pref[(x * R + y) * R + z]!;
      logits[x * R + y] = refLogProbs[x * R + y]! + winRate / beta;
    }
  }
  return logSoftmaxRows(logits, R);
}
