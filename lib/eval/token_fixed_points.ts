/**
 * Where a sampled-gradient trainer settles when it does not optimise r − β·KL: the zero of
 * its *expected* update, computed exactly on the token-level task by enumerating every
 * sequence, then solved for by iteration. This turns a measured gap to π*_β into a
 * predicted one.
 *
 * **The expected update.** On fresh samples (π_old = π_θ, the first epoch), a loss whose
 * per-row weight is w(y) has expected gradient, per context x,
 *
 *     ∇L = Σ_y π(y)·w(y)·Σ_t [ −c(y) + β_loss·k'(s_t, a_t) ]·∇log π(a_t | s_t)
 *
 * with ∇log π(a|s) = onehot(a) − π(·|s) on row s of the tabular logits, c(y) the expected
 * advantage of y and k' = ∂k/∂log π the slope of the in-loss KL estimator (k1: 1, k2:
 * log π/π_ref, k3: 1 − π_ref/π). A group baseline that includes the sample itself
 * (GRPO's mean) gives c(y) = (G − 1)/G·(R(y) − E_π R) exactly: the baseline's own share
 * scales the policy-gradient term, not the in-loss KL term. Weights: w = 1 for
 * `dr_grpo` (a constant normaliser) and, up to the batch's random token count, for
 * `token_mean`; w = 1/|y| for `sequence_mean`.
 *
 * **What it predicts** (the derivations the tests check):
 * - KL as k1 in the reward (R = r − β·log π/π_ref, no loss term): the zero is π*_β.
 * - k3 in the loss, w = 1: per prefix, (G−1)/G·π(a|s)·A(s,a) = β·(π(a|s) − π_ref(a|s)), i.e.
 *   π(a|s) = π_ref(a|s)/(1 − (G−1)/G·A(s,a)/β) with A the *unregularised* advantage under π
 *   itself. It is π*'s exp(A_soft/β) replaced by the first-order 1/(1 − A/β) (the gradient of
 *   KL(π_ref‖π), mass-covering; Tang & Munos 2025, arXiv:2506.09477; Liu et al. 2025,
 *   arXiv:2510.01555), with no KL charged for the tokens that follow, and β inflated by
 *   G/(G−1).
 * - k2 in the loss, w = 1: π(a|s) ∝ π_ref(a|s)·exp((G−1)/G·A(s,a)/β): the per-prefix reverse
 *   KL, again blind to the KL of later tokens.
 * - `scaleRewards` (GRPO's std division) is modelled at G → ∞: c(y) is divided by the
 *   population std of R under π(·|x). It is an approximation for finite G (E[1/std] is not
 *   1/E[std]).
 *
 * KTO's expected loss is written the same way (see {@link ktoFixedPoint}).
 *
 * **The solver.** Sign-based iteration (iRprop−) from π_ref until every component of ∇L,
 * divided by the reach probability d(s) of its prefix, is below `tol`.
 *
 * @module
 */
import { logSoftmaxRows } from "../data/bandit.ts";
import { tokenPolicyStats, type TokenTask } from "../data/token_task.ts";
import type { GrpoAggregation } from "../losses/grpo.ts";
import type { SampleKlEstimator } from "../losses/kl.ts";
import { ConfigError } from "../util/errors.ts";

/** A solved fixed point: the policy and its exact statistics. */
export interface FixedPoint {
  /** log π(a | x, prefix), [P, D, A]. */
  logPolicy: Float64Array;
  /** Exact E[r]. */
  reward: number;
  /** Exact KL(π‖π_ref) over sequences. */
  kl: number;
  /** Exact expected tokens per sequence. */
  length: number;
  /** Iterations used. */
  iterations: number;
  /** Largest preconditioned gradient component at the end. */
  residual: number;
}

/** Options of the solver. */
export interface SolverOptions {
  /** Stop when the largest gradient component over its prefix's reach is below this; default 1e-9. */
  tol?: number;
  /** Give up after this many iterations; default 20 000. */
  maxIterations?: number;
}

/**
 * The expected gradient at a policy: per-sequence coefficients on Σ_t ∇log π(a_t|s_t), per
 * token extra coefficients, and the reach probabilities d(s) to precondition with.
 */
interface ExpectedGradient {
  /** Coefficient of every sequence, [P, N]. */
  seqCoef: Float64Array;
  /** Extra coefficient of step t of sequence n in context x, [P, N, T] (or undefined). */
  tokenCoef?: Float64Array;
  /** Reach probability of every prefix under the sampling distribution, [P, D]. */
  reach: Float64Array;
}

/** Probability of reaching each prefix under a policy, [P, D]. */
function reachOf(task: TokenTask, logPolicy: Float64Array): Float64Array {
  const { P, V, D, A } = task;
  const reach = new Float64Array(P * D);
  for (let x = 0; x < P; x++) {
    reach[x * D] = 1;
    for (let n = 0; n < D; n++) {
      for (let a = 0; a < V; a++) {
        const child = n * V + 1 + a;
        if (child < D) {
          reach[x * D + child] = reach[x * D + n]! * Math.exp(logPolicy[(x * D + n) * A + a]!);
        }
      }
    }
  }
  return reach;
}

/** Σ_y coef(y)·Σ_t ∇log π(a_t|s_t) on the tabular logits, [P, D, A]. */
function chainRule(task: TokenTask, logPolicy: Float64Array, g: ExpectedGradient): Float64Array {
  const { P, D, A, N, T, seqSteps } = task;
  const out = new Float64Array(P * D * A);
  for (let x = 0; x < P; x++) {
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < T; t++) {
        const step = seqSteps[n * T + t]!;
        if (step < 0) break;
        const coef = g.seqCoef[x * N + n]! + (g.tokenCoef?.[(x * N + n) * T + t] ?? 0);
        if (coef === 0) continue;
        const row = (x * D + Math.floor(step / A)) * A;
        for (let b = 0; b < A; b++) {
          out[row + b] = out[row + b]! - coef * Math.exp(logPolicy[row + b]!);
        }
        out[x * D * A + step] = out[x * D * A + step]! + coef;
      }
    }
  }
  return out;
}

/**
 * Find θ where the expected gradient vanishes, from π_ref, by iRprop− (Igel & Hüsken 2000):
 * each logit moves by its own step against the sign of its gradient component; the step
 * grows ×1.2 while the sign holds and halves when it flips. Sign-based steps are
 * indifferent to how badly the field is scaled (rare prefixes, unlikely tokens, the stiff
 * 1 − π_ref/π of k3), and a deterministic field converges to its zero. The residual is the
 * largest gradient component divided by its prefix's reach probability d(s).
 */
function solve(
  task: TokenTask,
  gradient: (logPolicy: Float64Array) => ExpectedGradient,
  options: SolverOptions,
): FixedPoint {
  const tol = options.tol ?? 1e-9;
  const maxIterations = options.maxIterations ?? 20_000;
  const { A } = task;
  const theta = Float64Array.from(task.logRef);
  const stepSize = new Float64Array(theta.length).fill(0.1);
  let previous: Float64Array = new Float64Array(theta.length);
  let residual = Infinity, iterations = 0;
  while (iterations < maxIterations && residual >= tol) {
    const logPolicy = logSoftmaxRows(theta, A);
    const g = gradient(logPolicy);
    const grad = chainRule(task, logPolicy, g);
    residual = 0;
    for (let i = 0; i < grad.length; i++) {
      residual = Math.max(
        residual,
        Math.abs(grad[i]!) / Math.max(g.reach[Math.floor(i / A)]!, 1e-300),
      );
      const agree = grad[i]! * previous[i]!;
      if (agree > 0) stepSize[i] = Math.min(stepSize[i]! * 1.2, 1);
      else if (agree < 0) {
        stepSize[i] = Math.max(stepSize[i]! * 0.5, 1e-15);
        grad[i] = 0; // iRprop−: no move, and no sign to compare next time
      }
      theta[i] = theta[i]! - Math.sign(grad[i]!) * stepSize[i]!;
    }
    previous = grad;
    iterations++;
    if (!Number.isFinite(residual)) break;
  }
  const logPolicy = logSoftmaxRows(theta, A);
  return { logPolicy, ...tokenPolicyStats(task, logPolicy), iterations, residual };
}

/** Options of {@link grpoFixedPoint} (names as in lib/train/token_grpo.ts). */
export interface GrpoFixedPointOptions extends SolverOptions {
  /** KL coefficient β ≥ 0. */
  beta: number;
  /** Group size G (the (G−1)/G factor of the mean baseline). */
  groupSize: number;
  /** "loss" or "reward". */
  klPlacement: "loss" | "reward";
  /** Per-token estimator (in the loss: its slope k'; in the reward: its value). */
  klEstimator: SampleKlEstimator;
  /** Token aggregation (sets w(y)). */
  aggregation: GrpoAggregation;
  /** Divide by the group std, modelled at G → ∞ (an approximation). */
  scaleRewards: boolean;
}

/**
 * The zero of GRPO's expected first-epoch update (module doc), solved from π_ref.
 * @throws ConfigError when the iteration does not converge (no fixed point reachable).
 */
export function grpoFixedPoint(task: TokenTask, options: GrpoFixedPointOptions): FixedPoint {
  const { beta, groupSize: G, klPlacement, klEstimator, aggregation, scaleRewards } = options;
  const { P, D, A, N, T, seqSteps, seqLength, logRef, rewards } = task;
  const shrink = (G - 1) / G;
  const estimate = (lp: number, lq: number): number =>
    klEstimator === "k1"
      ? lp - lq
      : klEstimator === "k2"
      ? 0.5 * (lp - lq) ** 2
      : Math.expm1(lq - lp) - (lq - lp);
  const slope = (lp: number, lq: number): number =>
    klEstimator === "k1" ? 1 : klEstimator === "k2" ? lp - lq : 1 - Math.exp(lq - lp);
  const result = solve(
    task,
    (logPolicy) => {
      const seq = tokenPolicyStats(task, logPolicy).seqLogProbs;
      const seqCoef = new Float64Array(P * N);
      const tokenCoef = klPlacement === "loss" && beta > 0
        ? new Float64Array(P * N * T)
        : undefined;
      for (let x = 0; x < P; x++) {
        // R(y): the reward, with the summed per-token estimate inside when KL is in the reward.
        const R = new Float64Array(N);
        let mean = 0;
        for (let n = 0; n < N; n++) {
          let r = rewards[x * N + n]!;
          if (klPlacement === "reward") {
            for (let t = 0; t < T; t++) {
              const step = seqSteps[n * T + t]!;
              if (step < 0) break;
              const i = x * D * A + step;
              r -= beta * estimate(logPolicy[i]!, logRef[i]!);
            }
          }
          R[n] = r;
          mean += Math.exp(seq[x * N + n]!) * r;
        }
        let variance = 0;
        for (let n = 0; n < N; n++) variance += Math.exp(seq[x * N + n]!) * (R[n]! - mean) ** 2;
        const scale = scaleRewards ? 1 / (Math.sqrt(variance) + 1e-4) : 1; // ε as groupAdvantages
        for (let n = 0; n < N; n++) {
          const p = Math.exp(seq[x * N + n]!) / P;
          const w = aggregation === "sequence_mean" ? 1 / seqLength[n]! : 1;
          seqCoef[x * N + n] = -p * w * shrink * scale * (R[n]! - mean);
          if (tokenCoef) {
            for (let t = 0; t < T; t++) {
              const step = seqSteps[n * T + t]!;
              if (step < 0) break;
              const i = x * D * A + step;
              tokenCoef[(x * N + n) * T + t] = p * w * beta * slope(logPolicy[i]!, logRef[i]!);
            }
          }
        }
      }
      return { seqCoef, tokenCoef, reach: scaleReach(reachOf(task, logPolicy), 1 / P) };
    },
    options,
  );
  if (!(result.residual < (options.tol ?? 1e-9))) {
    throw new ConfigError(
      `grpoFixedPoint did not converge (residual ${result.residual} after ${result.iterations} iterations)`,
    );
  }
  return result;
}

function scaleReach(reach: Float64Array, s: number): Float64Array {
  for (let i = 0; i < reach.length; i++) reach[i] = reach[i]! * s;
  return reach;
}

/** Options of {@link ktoFixedPoint} (names as in lib/train/token_kto.ts). */
export interface KtoFixedPointOptions extends SolverOptions {
  /** β of the loss. */
  beta: number;
  /** Where completions come from: "policy" (online, μ = π, not differentiated) or "ref". */
  sampling: "policy" | "ref";
  /** λ_D; default 1. */
  desirableWeight?: number;
  /** λ_U; default 1. */
  undesirableWeight?: number;
}

/**
 * The zero of KTO's expected update when each pair y, y' ~ μ(·|x) is labelled by a
 * Bradley–Terry draw on the true reward and split into a desirable winner and an
 * undesirable loser (lib/train/token_kto.ts). A row is then (y, desirable) with
 * probability μ(y)·W(y) and (y, undesirable) with μ(y)·(1 − W(y)), W(y) = Σ_{y'} μ(y')·σ(r(y) − r(y'))
 * the win rate of y against μ, so the expected loss per context is
 *
 *     Σ_y μ(y)·[ W(y)·λ_D·σ(−u(y)) + (1 − W(y))·λ_U·σ(u(y)) ],   u = β·(log π(y)/π_ref(y) − z0),
 *
 * with z0 = max(0, mean over contexts of E_{y~μ(·|x)}[log π(y|x+1)/π_ref(y|x+1)]), the
 * mismatched-pair estimate, held fixed in the gradient. Each sequence's log-ratio is pulled
 * up where λ_D·W(y) > λ_U·(1 − W(y)) and down otherwise, with a force β·σ(u)·σ(−u) that
 * fades as |u| grows: KTO's optimum depends on the reward only through the win rates W,
 * and its logit moves saturate, so it is not π*_β.
 * @throws ConfigError when the iteration does not converge.
 */
export function ktoFixedPoint(task: TokenTask, options: KtoFixedPointOptions): FixedPoint {
  const { beta, sampling } = options;
  const lambdaD = options.desirableWeight ?? 1, lambdaU = options.undesirableWeight ?? 1;
  const { P, N, logRef, rewards } = task;
  const refSeq = tokenPolicyStats(task, logRef).seqLogProbs;
  const refReach = reachOf(task, logRef);
  const result = solve(task, (logPolicy) => {
    const seq = tokenPolicyStats(task, logPolicy).seqLogProbs;
    const mu = sampling === "policy" ? seq : refSeq; // log μ(y|x), [P, N]
    let z0 = 0;
    for (let x = 0; x < P; x++) {
      const other = (x + 1) % P;
      for (let n = 0; n < N; n++) {
        z0 += Math.exp(mu[x * N + n]!) * (seq[other * N + n]! - refSeq[other * N + n]!) / P;
      }
    }
    z0 = Math.max(0, z0);
    const seqCoef = new Float64Array(P * N);
    for (let x = 0; x < P; x++) {
      for (let n = 0; n < N; n++) {
        let win = 0;
        for (let m = 0; m < N; m++) {
          const d = rewards[x * N + n]! - rewards[x * N + m]!;
          win += Math.exp(mu[x * N + m]!) / (1 + Math.exp(-d));
        }
        const u = beta * (seq[x * N + n]! - refSeq[x * N + n]! - z0);
        const slope = beta / ((1 + Math.exp(-u)) * (1 + Math.exp(u))); // β·σ(u)·σ(−u)
        seqCoef[x * N + n] = (Math.exp(mu[x * N + n]!) / P) * slope *
          (lambdaU * (1 - win) - lambdaD * win);
      }
    }
    const reach = sampling === "policy" ? reachOf(task, logPolicy) : refReach;
    return { seqCoef, reach: scaleReach(Float64Array.from(reach), 1 / P) };
  }, options);
  if (!(result.residual < (options.tol ?? 1e-9))) {
    throw new ConfigError(
      `ktoFixedPoint did not converge (residual ${result.residual} after ${result.iterations} iterations)`,
    );
  }
  return result;
}
