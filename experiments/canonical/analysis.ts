/**
 * From a sweep's per-run summary to the tables its report shows: runs grouped over seeds
 * with an honest interval per group — a t-interval over seeds when a group has several
 * runs, the run's own bootstrap interval over prompts when it has one — and the share of
 * runs that passed their convergence gate.
 *
 * @module
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { summariseOverSeeds } from "../../lib/sweep/results_table.ts";
import { sortSummaryRows } from "./collect.ts";

/** Summary columns that are headline numbers, not labels of a run. */
export const SUMMARY_METRICS = [
  "reward_gold",
  "reward_proxy",
  "kl",
  "entropy",
  "distinct_2",
  "length",
] as const;

/** Columns that describe one run's measurement, not the group it belongs to. */
const PER_RUN =
  /^(run_id|seed|n_prompts|beta_trainer|gate_passed|gate_value|gate_threshold)$|_(se|ci_lo|ci_hi)$/;

/**
 * Group a sweep's summary over seeds. Every column but the run's id, seed, metrics and
 * per-run statistics identifies a group (method, β or n, any other grid axis, the KL
 * kind). Each metric gets `_mean`, `_std` and a 95% interval `_ci_lo`/`_ci_hi`:
 * Student's t over the group's runs when it has two or more (`ci_kind` "t"), else the
 * single run's bootstrap interval over prompts (`ci_kind` "bootstrap"). Also `n_seeds`,
 * `n_prompts` (per run) and `gate_pass_rate` (share of runs that passed their gate; empty
 * when the method has none). Rows are ordered as the summary's: by method in the kit's
 * order, then β or n and the other axes.
 */
export function groupRuns(summary: ColumnTable): ColumnTable {
  const cols = summary.columnNames();
  const metrics = SUMMARY_METRICS.filter((m) => cols.includes(m));
  const labels = cols.filter((c) =>
    !PER_RUN.test(c) && !(metrics as readonly string[]).includes(c)
  );
  let grouped = summariseOverSeeds(summary, { groupBy: labels, metrics });
  // One run: its bootstrap interval over prompts stands in for the missing t-interval.
  const keyOf = (row: Record<string, unknown>) => JSON.stringify(labels.map((l) => row[l] ?? null));
  const runs = summary.objects() as Record<string, unknown>[];
  const sizes = new Map<string, number>();
  for (const r of runs) sizes.set(keyOf(r), (sizes.get(keyOf(r)) ?? 0) + 1);
  const bootstrap = new Map<string, Record<string, unknown>>();
  for (const r of runs) if (sizes.get(keyOf(r)) === 1) bootstrap.set(keyOf(r), r);
  const extras = (grouped.objects() as Record<string, unknown>[]).map((g) => {
    const run = bootstrap.get(keyOf(g));
    const out: Record<string, unknown> = { ci_kind: run ? "bootstrap" : "t", ci_level: 0.95 };
    for (const m of metrics) {
      if (run && cols.includes(`${m}_ci_lo`)) {
        out[`${m}_ci_lo`] = run[`${m}_ci_lo`] ?? null;
        out[`${m}_ci_hi`] = run[`${m}_ci_hi`] ?? null;
      } else {
        out[`${m}_ci_lo`] = g[`${m}_ci_lo`] ?? null;
        out[`${m}_ci_hi`] = g[`${m}_ci_hi`] ?? null;
      }
    }
    return out;
  });
  const passRate = gateRates(runs, keyOf);
  const prompts = new Map(runs.map((r) => [keyOf(r), r.n_prompts]));
  const rows = (grouped.objects() as Record<string, unknown>[]).map((g, i) => ({
    ...g,
    ...extras[i],
    n_seeds: g.n_runs,
    n_prompts: prompts.get(keyOf(g)) ?? null,
    gate_pass_rate: passRate.get(keyOf(g)) ?? null,
  }));
  // Methods in the kit's order (as in summary.csv), so every figure's legend lists them alike.
  const axes = labels.filter((l) => !["method", "beta", "n", "kl_kind"].includes(l));
  grouped = aq.from(sortSummaryRows(rows, axes));
  return grouped.select(aq.not("n_runs"));
}

/** Share of each group's runs that passed their gate (groups without gates: absent). */
function gateRates(
  runs: readonly Record<string, unknown>[],
  keyOf: (row: Record<string, unknown>) => string,
): Map<string, number> {
  const counts = new Map<string, { passed: number; gated: number }>();
  for (const r of runs) {
    const g = r.gate_passed;
    if (g === null || g === undefined || g === "") continue;
    const k = keyOf(r);
    const c = counts.get(k) ?? { passed: 0, gated: 0 };
    c.gated++;
    if (g === true || g === "true") c.passed++;
    counts.set(k, c);
  }
  return new Map([...counts].map(([k, c]) => [k, c.passed / c.gated]));
}

/** One held-out completion of a run, as its `samples.jsonl` holds it (kind "eval"). */
export interface EvalCompletion {
  /** The run. */
  run_id: string;
  /** Its method. */
  method: string;
  /** Its label: `β=0.1` or `n=4`, and the seed. */
  label: string;
  /** The prompt. */
  prompt: string;
  /** The completion. */
  completion: string;
  /** Its gold reward. */
  gold: number;
  /** Its proxy reward (null when not scored). */
  proxy: number | null;
}

/** A completion picked by {@link exampleCompletions}, and which one it is. */
export interface ExampleCompletion extends EvalCompletion {
  /** `best`, `median` or `worst` by gold reward among the method's completions. */
  which: "best" | "median" | "worst";
}

/**
 * For each method (in order of first appearance), its best, median and worst held-out
 * completions by gold reward, over all its runs. Ties in gold are broken by run id, then
 * by position, so the pick is deterministic; the median is the lower one of an even count.
 */
export function exampleCompletions(samples: readonly EvalCompletion[]): ExampleCompletion[] {
  const methods = [...new Set(samples.map((s) => s.method))];
  return methods.flatMap((m) => {
    const mine = samples
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => s.method === m && Number.isFinite(s.gold))
      .sort((a, b) =>
        a.s.gold - b.s.gold || (a.s.run_id < b.s.run_id ? -1 : a.s.run_id > b.s.run_id ? 1 : 0) ||
        a.i - b.i
      )
      .map(({ s }) => s);
    if (!mine.length) return [];
    const pick = (which: ExampleCompletion["which"], k: number) => ({ ...mine[k]!, which });
    return [
      pick("best", mine.length - 1),
      pick("median", Math.floor((mine.length - 1) / 2)),
      pick("worst", 0),
    ];
  });
}
