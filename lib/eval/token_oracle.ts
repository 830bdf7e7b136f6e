/**
 * Exact yardsticks on the token-level task (lib/data/token_task.ts, which also holds the
 * exact reward and KL of any tabular policy, `tokenPolicyStats`): the KL-regularised
 * optimum π*_β in two equivalent forms, its reward and KL, and the frontier.
 *
 * **Sequence form.** Over whole sequences the task is a bandit with N responses per
 * context, so π*_β(y|x) = π_ref(y|x)·exp(r(x,y)/β)/Z(x) (lib/eval/oracle.ts).
 *
 * **Token form (soft Bellman).** The reward arrives once, at the end; define on prefixes s
 * (Ziebart 2010, maximum-entropy RL; Rafailov et al. 2024, "From r to Q*")
 *
 *     Q(s, a) = r(x, s·EOS)       if a = EOS
 *             = r(x, s·a)         if s·a has T tokens (the sequence ends there)
 *             = V(s·a)            otherwise
 *     V(s)    = β·log Σ_a π_ref(a|s)·exp(Q(s, a)/β)
 *     π*(a|s) = π_ref(a|s)·exp((Q(s, a) − V(s))/β).
 *
 * Unrolling, the product of π* along a sequence telescopes to
 * π_ref(y)·exp(r(y)/β)/exp(V(root)/β), so the two forms agree and V(root) = β·log Z(x)
 * (tests/token_task_test.ts checks this to 1e-12). The token form is what a per-token
 * policy must learn; it also gives the soft value a PPO critic converges to.
 *
 * Prompts are weighted uniformly; all arrays are row-major Float64Array.
 *
 * @module
 */
import { tabularStats } from "../data/bandit.ts";
import { sequenceTabular, type TokenTask } from "../data/token_task.ts";
import { checkField } from "../util/schema.ts";
import { optimalLogPolicy, type OracleRow } from "./oracle.ts";

const BETA_SPEC = { type: "number", gt: 0, doc: "KL coefficient β" } as const;

/** log π*_β(y|x) over whole sequences, [P, N]. */
export function optimalSequenceLogProbs(task: TokenTask, beta: number): Float64Array {
  return optimalLogPolicy(sequenceTabular(task), beta);
}

/** Expected reward and KL(π*_β‖π_ref) of the KL-regularised optimum at β. */
export function tokenOracleStats(task: TokenTask, beta: number): OracleRow {
  const { reward, kl } = tabularStats(sequenceTabular(task), optimalSequenceLogProbs(task, beta));
  return { beta, reward, kl };
}

/** The reward–KL frontier traced by π*_β over `betas` (same order). */
export function tokenOracleFrontier(task: TokenTask, betas: readonly number[]): OracleRow[] {
  return betas.map((beta) => tokenOracleStats(task, beta));
}

/** The token form of π*_β. */
export interface SoftBellmanSolution {
  /** log π*(a | x, prefix), [P, D, A]. */
  logPolicy: Float64Array;
  /** Soft values V(x, prefix), [P, D]; V(x, root) = β·log Z(x). */
  values: Float64Array;
  /** Soft action values Q(x, prefix, a), [P, D, A]. */
  q: Float64Array;
}

/**
 * π*_β per prefix by the soft Bellman backup (formulas in the module doc), computed from
 * the deepest prefixes up. Children of node n are n·V + 1 + a, so a backwards sweep over
 * prefix indices visits every child before its parent.
 * @example
 * ```ts
 * import { makeTokenTask } from "../data/token_task.ts";
 * import { softBellman } from "./token_oracle.ts";
 * const task = makeTokenTask();
 * const { logPolicy } = softBellman(task, 0.5);
 * if (logPolicy.length !== task.P * task.D * task.A) throw new Error();
 * ```
 */
export function softBellman(task: TokenTask, beta: number): SoftBellmanSolution {
  checkField("oracle.beta", beta, BETA_SPEC);
  const { P, V, D, A, N, logRef, rewards } = task;
  const logPolicy = new Float64Array(P * D * A);
  const values = new Float64Array(P * D);
  const q = new Float64Array(P * D * A);
  for (let x = 0; x < P; x++) {
    for (let n = D - 1; n >= 0; n--) {
      const row = (x * D + n) * A;
      for (let a = 0; a < V; a++) {
        const child = n * V + 1 + a;
        q[row + a] = child < D ? values[x * D + child]! : rewards[x * N + child]!;
      }
      q[row + V] = rewards[x * N + n]!; // EOS: the sequence is the prefix itself
      let m = -Infinity;
      for (let a = 0; a < A; a++) m = Math.max(m, logRef[row + a]! + q[row + a]! / beta);
      let s = 0;
      for (let a = 0; a < A; a++) s += Math.exp(logRef[row + a]! + q[row + a]! / beta - m);
      const logZ = m + Math.log(s); // V(s)/β
      values[x * D + n] = beta * logZ;
      for (let a = 0; a < A; a++) logPolicy[row + a] = logRef[row + a]! + q[row + a]! / beta - logZ;
    }
  }
  return { logPolicy, values, q };
}
