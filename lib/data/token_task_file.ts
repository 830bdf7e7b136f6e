/**
 * User-defined token-level tasks from explicit arrays, in code or a JSON file:
 *
 * ```json
 * {
 *   "tokens": ["a", "b"],
 *   "maxLength": 2,
 *   "contexts": [
 *     {
 *       "name": "x0",
 *       "refProbs": { "": [0.5, 0.3, 0.2], "a": [0.1, 0.1, 0.8], "b": [0.3, 0.3, 0.4] },
 *       "rewards": { "": 0, "a": 1, "b": 0.5, "a a": 2, "a b": 0, "b a": 1, "b b": 0.2 }
 *     }
 *   ]
 * }
 * ```
 *
 * - `tokens`: the V ordinary tokens (distinct, non-empty, no spaces, not "EOS").
 * - `maxLength`: T, the most tokens in a sequence (lib/data/token_task.ts explains the tree).
 * - per context, π_ref as exactly one of `refProbs` (rows of V + 1 probabilities, EOS last,
 *   each > 0 and summing to 1 within 1e-6) or `refLogits` (rows of V + 1 finite numbers),
 *   one row per prefix of fewer than T tokens; and `rewards`, one finite number per
 *   sequence (strings of 0..T tokens; shorter than T means "then EOS").
 * - rows and rewards are either objects keyed by the tokens joined by spaces ("" is the
 *   empty prefix, or the completion that is EOS alone) or arrays in the tree's shortlex
 *   order (by length, then by the order of `tokens`), D rows and N rewards long.
 *
 * Every check fails with one line naming the place and what is wrong: a ConfigError for
 * in-memory specs, a FileFormatError naming the file for files.
 *
 * @module
 */
import {
  assembleTokenTask,
  MAX_TOKEN_TASK_SEQUENCES,
  nodeIndex,
  nodeTokens,
  type TokenTask,
  treeSizes,
} from "./token_task.ts";
import { ConfigError, FileFormatError, show } from "../util/errors.ts";

/** One context of a {@link TokenTaskSpec}. */
export interface TokenContextSpec {
  /** Display name (default `x<index>`). */
  name?: string;
  /** π_ref per prefix as probabilities: prefix → [V + 1], or [D][V + 1] in shortlex order. */
  refProbs?: Record<string, number[]> | number[][];
  /** π_ref per prefix as logits (same layouts as refProbs). */
  refLogits?: Record<string, number[]> | number[][];
  /** r(x, y) per sequence: sequence → number, or [N] in shortlex order. */
  rewards: Record<string, number> | number[];
}

/** A user-defined token task (the JSON file's content). */
export interface TokenTaskSpec {
  /** The V ordinary tokens. */
  tokens: string[];
  /** Most tokens per sequence, T. */
  maxLength: number;
  /** The contexts (prompts). */
  contexts: TokenContextSpec[];
}

/** Tolerance on a probability row's sum. */
export const TOKEN_PROB_TOLERANCE = 1e-6;

/** A problem found in a spec: `where` is a JSON path such as `contexts[0].rewards["a b"]`. */
class SpecProblem extends Error {}

function problem(where: string, what: string): never {
  throw new SpecProblem(`${where} ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function finite(where: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    problem(where, `must be a finite number, got ${show(v)}`);
  }
  return v;
}

/**
 * Build a task from a spec in memory.
 * @throws ConfigError with one line naming what is wrong (wrong length, a probability row
 *   that does not sum to 1, a NaN, a missing or unknown sequence, …).
 */
export function tokenTaskFromSpec(spec: unknown): TokenTask {
  try {
    return parseSpec(spec);
  } catch (e) {
    if (e instanceof SpecProblem) throw new ConfigError(`tokenTask: ${e.message}`);
    throw e;
  }
}

/**
 * Read a task from a JSON file (format in the module doc).
 * @throws FileFormatError naming the file and what is wrong, in one line.
 */
export async function loadTokenTask(path: string): Promise<TokenTask> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new FileFormatError(`${path}: file not found`);
    throw new FileFormatError(`${path}: cannot read (${(e as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(`${path}: bad JSON (${(e as Error).message})`);
  }
  try {
    return parseSpec(data);
  } catch (e) {
    if (e instanceof SpecProblem || e instanceof ConfigError) {
      throw new FileFormatError(`${path}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * A task as a spec with keyed rows (readable, and what {@link tokenTaskFromSpec} and
 * {@link loadTokenTask} read back): π_ref as logits, rewards per sequence.
 */
export function tokenTaskSpec(task: TokenTask): TokenTaskSpec {
  const { V, D, A, N } = task;
  const key = (n: number) => nodeTokens(n, V).map((a) => task.tokens[a]!).join(" ");
  return {
    tokens: [...task.tokens],
    maxLength: task.T,
    contexts: task.contexts.map((name, x) => {
      const refLogits: Record<string, number[]> = {};
      for (let n = 0; n < D; n++) {
        refLogits[key(n)] = Array.from(
          task.refLogits.subarray((x * D + n) * A, (x * D + n + 1) * A),
        );
      }
      const rewards: Record<string, number> = {};
      for (let n = 0; n < N; n++) rewards[key(n)] = task.rewards[x * N + n]!;
      return { name, refLogits, rewards };
    }),
  };
}

// ---------------------------------------------------------------------------------------

function parseSpec(spec: unknown): TokenTask {
  if (!isRecord(spec)) {
    problem("the task", `must be an object with tokens, maxLength and contexts, got ${show(spec)}`);
  }
  for (const k of Object.keys(spec)) {
    if (!["tokens", "maxLength", "contexts"].includes(k)) {
      problem(`key ${show(k)}`, "is unknown; known keys: tokens, maxLength, contexts");
    }
  }
  const tokens = parseTokens(spec.tokens);
  const V = tokens.length;
  const T = spec.maxLength;
  if (typeof T !== "number" || !Number.isInteger(T) || T < 1) {
    problem("maxLength", `must be an integer >= 1, got ${show(T)}`);
  }
  const { D, N } = treeSizes(V, T);
  if (N > MAX_TOKEN_TASK_SEQUENCES) {
    problem(
      "maxLength",
      `= ${T} with ${V} tokens gives ${N} sequences per context; at most ${MAX_TOKEN_TASK_SEQUENCES} can be enumerated`,
    );
  }
  if (!Array.isArray(spec.contexts) || spec.contexts.length === 0) {
    problem("contexts", `must be a non-empty array, got ${show(spec.contexts)}`);
  }
  const A = V + 1, P = spec.contexts.length;
  const refLogits = new Float64Array(P * D * A);
  const rewards = new Float64Array(P * N);
  const names: string[] = [];
  spec.contexts.forEach((c: unknown, x: number) => {
    const at = `contexts[${x}]`;
    if (!isRecord(c)) problem(at, `must be an object, got ${show(c)}`);
    for (const k of Object.keys(c)) {
      if (!["name", "refProbs", "refLogits", "rewards"].includes(k)) {
        problem(`${at}.${k}`, "is unknown; known keys: name, refProbs, refLogits, rewards");
      }
    }
    if (c.name !== undefined && (typeof c.name !== "string" || c.name === "")) {
      problem(`${at}.name`, `must be a non-empty string, got ${show(c.name)}`);
    }
    names.push((c.name as string | undefined) ?? `x${x}`);
    const asProbs = c.refProbs !== undefined;
    if (asProbs === (c.refLogits !== undefined)) {
      problem(at, "must give exactly one of refProbs and refLogits");
    }
    const field = asProbs ? "refProbs" : "refLogits";
    const rows = collect(
      `${at}.${field}`,
      asProbs ? c.refProbs : c.refLogits,
      D,
      T - 1,
      "prefix",
      tokens,
    );
    rows.forEach(({ value: row, where }, n) => {
      if (!Array.isArray(row) || row.length !== A) {
        problem(
          where,
          `must be an array of ${A} numbers (${V} tokens, then EOS), got ${show(row)}`,
        );
      }
      let sum = 0;
      row.forEach((v: unknown, a: number) => {
        const p = finite(`${where}[${a}]`, v);
        if (asProbs && !(p > 0)) {
          problem(
            `${where}[${a}]`,
            `must be > 0 (π_ref needs full support for a finite KL), got ${p}`,
          );
        }
        sum += p;
        refLogits[(x * D + n) * A + a] = asProbs ? Math.log(p) : p;
      });
      if (asProbs && Math.abs(sum - 1) > TOKEN_PROB_TOLERANCE) {
        problem(where, `sums to ${+sum.toPrecision(8)}, must sum to 1 (within 1e-6)`);
      }
    });
    collect(`${at}.rewards`, c.rewards, N, T, "sequence", tokens).forEach(({ value, where }, n) => {
      rewards[x * N + n] = finite(where, value);
    });
  });
  return assembleTokenTask({ V, T, contexts: names, tokens, refLogits, rewards });
}

function parseTokens(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0) {
    problem("tokens", `must be a non-empty array of token names, got ${show(v)}`);
  }
  const seen = new Set<string>();
  v.forEach((t, i) => {
    if (typeof t !== "string" || t === "" || /\s/.test(t) || t === "EOS") {
      problem(
        `tokens[${i}]`,
        `must be a non-empty name without spaces other than "EOS", got ${show(t)}`,
      );
    }
    if (seen.has(t)) problem(`tokens[${i}]`, `repeats ${show(t)}`);
    seen.add(t);
  });
  return v as string[];
}

function nameOf(n: number, tokens: readonly string[]): string {
  return nodeTokens(n, tokens.length).map((a) => tokens[a]!).join(" ");
}

/**
 * Read `count` entries (rows or numbers) laid out either as an array in node order or as an
 * object keyed by token strings of at most `maxDepth` tokens, each node exactly once.
 * @returns the entries in node order, each with its JSON path for messages.
 */
function collect(
  where: string,
  value: unknown,
  count: number,
  maxDepth: number,
  what: "prefix" | "sequence",
  tokens: readonly string[],
): { value: unknown; where: string }[] {
  if (Array.isArray(value)) {
    if (value.length !== count) {
      problem(where, `has ${value.length} entries, expected one per ${what}: ${count}`);
    }
    return value.map((v, n) => ({ value: v, where: `${where}[${n}]` }));
  }
  if (!isRecord(value)) {
    problem(
      where,
      `must be an object keyed by ${what} or an array of ${count}, got ${show(value)}`,
    );
  }
  const index = new Map(tokens.map((t, a) => [t, a]));
  const out: { value: unknown; where: string }[] = new Array(count);
  for (const [key, v] of Object.entries(value)) {
    const at = `${where}[${show(key)}]`;
    const words = key.trim() === "" ? [] : key.trim().split(/\s+/);
    const path = words.map((w) => {
      const a = index.get(w);
      if (a === undefined) {
        problem(at, `has unknown token ${show(w)} (tokens: ${tokens.join(", ")})`);
      }
      return a;
    });
    if (path.length > maxDepth) {
      problem(at, `has ${path.length} tokens; a ${what} has at most ${maxDepth}`);
    }
    const node = nodeIndex(path, tokens.length);
    const earlier = out[node];
    if (earlier !== undefined) problem(at, `names the same ${what} as ${earlier.where}`);
    out[node] = { value: v, where: at };
  }
  for (let n = 0; n < count; n++) {
    if (out[n] === undefined) problem(where, `is missing the ${what} ${show(nameOf(n, tokens))}`);
  }
  return out;
}
