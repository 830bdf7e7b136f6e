/**
 * The token-level exact task: an autoregressive tabular policy over a small vocabulary,
 * short enough that every sequence can be listed, so π*_β and the exact reward and KL of
 * any policy are finite sums (lib/eval/token_oracle.ts).
 *
 * **Sequences.** V ordinary tokens plus EOS; a completion is generated token by token and
 * ends at EOS, or after T ordinary tokens without one. EOS may come first (the empty
 * completion). A sequence is therefore named by its ordinary tokens alone, a string of
 * length 0..T: shorter than T means "then EOS". Its token count (what a language model
 * scores and a loss sums over) is k + 1 with EOS, T without.
 *
 * **One tree.** The strings of length ≤ T form the complete V-ary tree in breadth-first
 * ("shortlex": by length, then token order) numbering: node n has children n·V + 1 + a
 * for tokens a = 0..V−1, so node indices double as
 * - sequence indices, N = Σ_{k=0..T} V^k per context (node n is "n's tokens, then EOS"
 *   when its depth is < T, and the full-length sequence when it is T), and
 * - decision prefixes (states), the D = Σ_{k=0..T−1} V^k nodes of depth < T, which come
 *   first in that numbering (0..D−1). At a prefix the policy picks one of A = V + 1
 *   actions, EOS being action V.
 *
 * Arrays: π_ref is log π_ref(a | x, prefix) laid out [P, D, A] row-major; rewards r(x, y)
 * are [P, N]. Float64 throughout for exact sums.
 *
 * Seeded tasks ({@link makeTokenTask}) draw reference logits refScale·N(0, 1) and give
 * each context's N sequences the rewards rewardScale·k/(N − 1), k = 0..N−1, in a seeded
 * random order (distinct, spread over [0, rewardScale], independent of π_ref), as the
 * bandit does. User tasks come from explicit arrays (lib/data/token_task_file.ts).
 *
 * @module
 */
import { logSoftmaxRows, type Tabular, type TabularStats, tabularStats } from "./bandit.ts";
import { ConfigError } from "../util/errors.ts";
import { Rng } from "../util/rng.ts";
import { resolveConfig, type Schema } from "../util/schema.ts";

/** The largest number of sequences per context a task may have (N). */
export const MAX_TOKEN_TASK_SEQUENCES = 100_000;

/** A token-level task: the shapes, π_ref per prefix and the reward per sequence. */
export interface TokenTask {
  /** Number of contexts (prompts) P. */
  readonly P: number;
  /** Ordinary vocabulary size V (EOS excluded). */
  readonly V: number;
  /** Most tokens in a sequence, T ≥ 1. */
  readonly T: number;
  /** Actions per prefix, A = V + 1; EOS is action V. */
  readonly A: number;
  /** Decision prefixes per context, D = Σ_{k<T} V^k. */
  readonly D: number;
  /** Sequences per context, N = Σ_{k≤T} V^k. */
  readonly N: number;
  /** log π_ref(a | x, prefix), [P, D, A] row-major; each row log-sums to 0. */
  readonly logRef: Float64Array;
  /** π_ref's logits, [P, D, A]; a tabular policy starts here (equal to logRef for files given as probabilities). */
  readonly refLogits: Float64Array;
  /** r(x, y), [P, N] row-major in sequence (node) order. */
  readonly rewards: Float64Array;
  /** Names of the P contexts. */
  readonly contexts: readonly string[];
  /** Names of the V ordinary tokens. */
  readonly tokens: readonly string[];
  /** Token count of each sequence (ordinary tokens plus EOS when it has one), [N]. */
  readonly seqLength: Int32Array;
  /**
   * The (prefix, action) steps of each sequence as flat indices prefix·A + action, [N, T]
   * row-major, −1 after the last step.
   */
  readonly seqSteps: Int32Array;
}

/** The tree's sizes for V tokens and depth T: D prefixes and N sequences. */
export function treeSizes(V: number, T: number): { D: number; N: number } {
  let D = 0, level = 1;
  for (let k = 0; k < T; k++) {
    D += level;
    level *= V;
  }
  return { D, N: D + level };
}

/** Depth (number of ordinary tokens) of every node of the tree, [N]. */
export function nodeDepths(V: number, T: number): Int32Array {
  const { N } = treeSizes(V, T);
  const depth = new Int32Array(N);
  for (let n = 1; n < N; n++) depth[n] = depth[Math.floor((n - 1) / V)]! + 1;
  return depth;
}

/**
 * The ordinary tokens of node (sequence or prefix) n, root first.
 * @example
 * ```ts
 * import { nodeTokens } from "./token_task.ts";
 * // V = 4: node 6 is the second child (token 1) of node 1 (token 0)
 * if (nodeTokens(6, 4).join(",") !== "0,1") throw new Error();
 * ```
 */
export function nodeTokens(n: number, V: number): number[] {
  const out: number[] = [];
  while (n > 0) {
    const parent = Math.floor((n - 1) / V);
    out.push(n - 1 - parent * V);
    n = parent;
  }
  return out.reverse();
}

/** The node index of a string of ordinary tokens (the inverse of {@link nodeTokens}). */
export function nodeIndex(tokens: readonly number[], V: number): number {
  let n = 0;
  for (const a of tokens) n = n * V + 1 + a;
  return n;
}

/**
 * A readable name for sequence n: its tokens joined by spaces, then "EOS" when it has one
 * (e.g. "b a EOS", "EOS" for the empty completion, "a b c" at full length T = 3).
 */
export function sequenceName(task: TokenTask, n: number): string {
  const words = nodeTokens(n, task.V).map((a) => task.tokens[a]!);
  if (n < task.D) words.push("EOS");
  return words.join(" ");
}

/** What {@link assembleTokenTask} needs: validated shapes and arrays. */
export interface TokenTaskParts {
  /** Ordinary vocabulary size V. */
  V: number;
  /** Most tokens per sequence T. */
  T: number;
  /** Names of the P contexts. */
  contexts: readonly string[];
  /** Names of the V tokens. */
  tokens: readonly string[];
  /** π_ref's logits (or log-probabilities), [P, D, A]. */
  refLogits: Float64Array;
  /** r(x, y), [P, N]. */
  rewards: Float64Array;
}

/**
 * Build a {@link TokenTask} from validated parts: normalises π_ref's rows and derives the
 * sequence tables.
 * @throws ConfigError when the array lengths do not match the shapes or the tree is too big.
 */
export function assembleTokenTask(parts: TokenTaskParts): TokenTask {
  const { V, T, contexts, tokens, refLogits, rewards } = parts;
  const P = contexts.length, A = V + 1;
  if (tokens.length !== V) throw new ConfigError(`tokens must have V = ${V} names`);
  const { D, N } = treeSizes(V, T);
  if (N > MAX_TOKEN_TASK_SEQUENCES) {
    throw new ConfigError(
      `a token task with V = ${V} and T = ${T} has ${N} sequences per context; ` +
        `at most ${MAX_TOKEN_TASK_SEQUENCES} can be enumerated`,
    );
  }
  if (refLogits.length !== P * D * A) {
    throw new ConfigError(
      `refLogits must have P·D·A = ${P * D * A} entries, got ${refLogits.length}`,
    );
  }
  if (rewards.length !== P * N) {
    throw new ConfigError(`rewards must have P·N = ${P * N} entries, got ${rewards.length}`);
  }
  const depth = nodeDepths(V, T);
  const seqLength = new Int32Array(N);
  const seqSteps = new Int32Array(N * T).fill(-1);
  for (let n = 0; n < N; n++) {
    const path = nodeTokens(n, V);
    let node = 0;
    path.forEach((a, t) => {
      seqSteps[n * T + t] = node * A + a;
      node = node * V + 1 + a;
    });
    if (depth[n]! < T) seqSteps[n * T + path.length] = n * A + V; // EOS at node n
    seqLength[n] = depth[n]! < T ? path.length + 1 : T;
  }
  return {
    P,
    V,
    T,
    A,
    D,
    N,
    logRef: logSoftmaxRows(refLogits, A),
    refLogits,
    rewards,
    contexts,
    tokens,
    seqLength,
    seqSteps,
  };
}

/**
 * log π(y | x) of every sequence under a tabular policy: the sum of log π(a_t | x, s_t) over
 * its steps.
 * @param logPolicy log π(a | x, prefix), [P, D, A] (normalised rows).
 * @returns a new Float64Array [P, N].
 */
export function tokenSequenceLogProbs(task: TokenTask, logPolicy: ArrayLike<number>): Float64Array {
  const { P, D, A, N, T, seqSteps } = task;
  if (logPolicy.length !== P * D * A) {
    throw new RangeError(
      `logPolicy must have length P·D·A = ${P * D * A}, got ${logPolicy.length}`,
    );
  }
  const out = new Float64Array(P * N);
  for (let x = 0; x < P; x++) {
    const base = x * D * A;
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let t = 0; t < T; t++) {
        const step = seqSteps[n * T + t]!;
        if (step < 0) break;
        s += logPolicy[base + step]!;
      }
      out[x * N + n] = s;
    }
  }
  return out;
}

/**
 * The task seen as a bandit over whole sequences (R = N responses per prompt), with
 * π_ref(y|x) the product of its per-prefix probabilities: the form lib/eval/oracle.ts and
 * {@link tabularStats} work on.
 */
export function sequenceTabular(task: TokenTask): Tabular {
  return {
    P: task.P,
    R: task.N,
    refLogProbs: tokenSequenceLogProbs(task, task.logRef),
    rewards: task.rewards,
  };
}

/** Exact statistics of a tabular token policy. */
export interface TokenPolicyStats extends TabularStats {
  /** E_x E_{y~π}[|y|], tokens per sequence counting EOS. */
  length: number;
  /** log π(y|x) of every sequence, [P, N]. */
  seqLogProbs: Float64Array;
}

/**
 * Expected reward, KL(π‖π_ref) over whole sequences and expected length of a tabular
 * token policy, by enumerating every sequence. KL over sequences equals the expected sum of
 * per-prefix KLs along the way (the chain rule), which is what a per-token k1 sums to.
 * @param logPolicy log π(a | x, prefix), [P, D, A] (normalised rows).
 */
export function tokenPolicyStats(task: TokenTask, logPolicy: ArrayLike<number>): TokenPolicyStats {
  const seqLogProbs = tokenSequenceLogProbs(task, logPolicy);
  const stats = tabularStats(sequenceTabular(task), seqLogProbs);
  let length = 0;
  for (let x = 0; x < task.P; x++) {
    for (let n = 0; n < task.N; n++) {
      length += Math.exp(seqLogProbs[x * task.N + n]!) * task.seqLength[n]!;
    }
  }
  return { ...stats, length: length / task.P, seqLogProbs };
}

// ---------------------------------------------------------------------------------------
// Seeded random tasks.

/** Settings of {@link makeTokenTask}. */
export interface TokenTaskConfig {
  /** Number of contexts P. */
  contexts: number;
  /** Ordinary vocabulary size V (EOS is added). */
  vocab: number;
  /** Most tokens in a sequence, T. */
  maxLength: number;
  /** Seed of the reference logits and the reward order. */
  seed: number;
  /** Standard deviation of π_ref's logits. */
  refScale: number;
  /** Rewards are evenly spaced over [0, rewardScale]. */
  rewardScale: number;
}

/**
 * Defaults: 3 contexts, V = 4, T = 3 (21 prefixes and 85 sequences per context, lengths 1
 * to 3 tokens), unit logit scale, rewards over [0, 2].
 */
export const TOKEN_TASK_DEFAULTS: TokenTaskConfig = {
  contexts: 3,
  vocab: 4,
  maxLength: 3,
  seed: 0,
  refScale: 1,
  rewardScale: 2,
};

const TOKEN_TASK_SCHEMA: Schema<TokenTaskConfig> = {
  contexts: { type: "number", int: true, min: 1, doc: "number of contexts P" },
  vocab: { type: "number", int: true, min: 1, doc: "ordinary vocabulary size V" },
  maxLength: { type: "number", int: true, min: 1, doc: "most tokens per sequence T" },
  seed: { type: "number", int: true, doc: "seed of logits and rewards" },
  refScale: { type: "number", min: 0, doc: "std of reference logits" },
  rewardScale: { type: "number", gt: 0, doc: "reward range [0, rewardScale]" },
};

/**
 * Build a seeded token-level task.
 * @param overrides fields of {@link TokenTaskConfig} to change from {@link TOKEN_TASK_DEFAULTS}.
 * @throws ConfigError naming the field for a bad setting, or when the tree is too big.
 * @example
 * ```ts
 * import { makeTokenTask } from "./token_task.ts";
 * const task = makeTokenTask({ seed: 1 });
 * if (task.N !== 85 || task.D !== 21) throw new Error();
 * ```
 */
export function makeTokenTask(overrides: Partial<TokenTaskConfig> = {}): TokenTask {
  const config = resolveConfig("tokenTask", TOKEN_TASK_SCHEMA, TOKEN_TASK_DEFAULTS, overrides);
  const { contexts: P, vocab: V, maxLength: T } = config;
  const { D, N } = treeSizes(V, T);
  if (N > MAX_TOKEN_TASK_SEQUENCES) {
    throw new ConfigError(
      `tokenTask.vocab = ${V} with tokenTask.maxLength = ${T} gives ${N} sequences per ` +
        `context; at most ${MAX_TOKEN_TASK_SEQUENCES} can be enumerated`,
    );
  }
  const A = V + 1;
  const rng = new Rng(config.seed);
  const refLogits = new Float64Array(P * D * A);
  for (let i = 0; i < refLogits.length; i++) refLogits[i] = config.refScale * rng.normal();
  const rewards = new Float64Array(P * N);
  for (let x = 0; x < P; x++) {
    const order = rng.shuffle(Array.from({ length: N }, (_, k) => k));
    for (let n = 0; n < N; n++) rewards[x * N + n] = config.rewardScale * order[n]! / (N - 1);
  }
  return assembleTokenTask({
    V,
    T,
    contexts: Array.from({ length: P }, (_, x) => `x${x}`),
    tokens: Array.from(
      { length: V },
      (_, a) => String.fromCharCode(97 + (a % 26)) + (a >= 26 ? String(Math.floor(a / 26)) : ""),
    ),
    refLogits,
    rewards,
  });
}
