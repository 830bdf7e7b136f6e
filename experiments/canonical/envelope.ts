/**
 * The checkpoint envelope of the reward–KL frontier: every method run evaluates its policy
 * at checkpoints through training (metric rows with `eval/gold`, `eval/proxy`, `eval/kl`,
 * every `ppo.evalEvery` / `dpo.evalEvery` steps and at the end), and a method's envelope is
 * the upper hull of gold reward against KL over all its checkpoints, at every β.
 *
 * Why the hull: a mixture λ·π₁ + (1 − λ)·π₂ of two checkpoints has expected reward
 * λ·r₁ + (1 − λ)·r₂ and, KL being convex, KL ≤ λ·KL₁ + (1 − λ)·KL₂; so every point on the
 * segment between two checkpoints is reached or beaten, and the upper concave hull is the
 * best gold reward the method's checkpoints reach at each KL. It is kept from the lowest
 * KL up to the highest gold reward: beyond that, more KL buys nothing.
 *
 * @module
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";

/** A point of the reward–KL plane. */
export interface KlRewardPoint {
  /** KL(π ‖ π_ref), nats. */
  kl: number;
  /** Gold reward. */
  reward: number;
}

/**
 * The upper concave hull of `points` from the lowest KL to the highest reward (see the
 * module doc), in order of KL. Points with a non-finite coordinate are ignored; of points
 * at the same KL only the best counts.
 * @example
 * ```ts
 * import { upperEnvelope } from "./envelope.ts";
 * const hull = upperEnvelope([
 *   { kl: 0, reward: 0 }, { kl: 1, reward: 0.2 }, { kl: 2, reward: 1 }, { kl: 3, reward: 0.5 },
 * ]);
 * if (hull.map((p) => p.kl).join() !== "0,2") throw new Error(); // (1, 0.2) lies below
 * ```
 */
export function upperEnvelope<T extends KlRewardPoint>(points: readonly T[]): T[] {
  const sorted = points
    .filter((p) => Number.isFinite(p.kl) && Number.isFinite(p.reward))
    .sort((a, b) => a.kl - b.kl || b.reward - a.reward);
  const hull: T[] = [];
  for (const p of sorted) {
    if (hull.length && hull[hull.length - 1]!.kl === p.kl) continue; // a worse point at this KL
    while (hull.length >= 2) {
      const a = hull[hull.length - 2]!, b = hull[hull.length - 1]!;
      // b on or below the segment a → p: not a vertex of the upper hull
      const cross = (b.kl - a.kl) * (p.reward - a.reward) - (b.reward - a.reward) * (p.kl - a.kl);
      if (cross >= 0) hull.pop();
      else break;
    }
    hull.push(p);
  }
  let best = 0;
  hull.forEach((p, i) => {
    if (p.reward > hull[best]!.reward) best = i;
  });
  return hull.slice(0, best + 1);
}

/** Row of {@link checkpointPoints}. */
export interface CheckpointRow {
  /** The run. */
  run_id: string;
  /** Its method. */
  method: string;
  /** Its β (null for best-of-n). */
  beta: number | null;
  /** Its seed. */
  seed: number | null;
  /** Training step (PPO: iteration) of the checkpoint. */
  step: number;
  /** KL(π ‖ π_ref) estimated at the checkpoint. */
  kl: number;
  /** Gold reward at the checkpoint. */
  reward_gold: number;
  /** Proxy reward at the checkpoint (null when not logged). */
  reward_proxy: number | null;
}

const num = (v: unknown): number | null => typeof v === "number" && Number.isFinite(v) ? v : null;

/**
 * The checkpoint evaluations of a sweep's runs: one row per metric row that has `eval/gold`
 * and `eval/kl`, labelled with its run's method, β and seed from the summary.
 * @param metrics step metrics of the runs, stacked, with a `run_id` column.
 * @param summary one row per run (`run_id`, `method`, `beta`, `seed`).
 * @returns rows ordered as the metrics are (runs in the order stacked, steps ascending).
 */
export function checkpointPoints(metrics: ColumnTable, summary: ColumnTable): CheckpointRow[] {
  const names = metrics.columnNames();
  if (!["run_id", "eval/gold", "eval/kl"].every((c) => names.includes(c))) return [];
  const runs = new Map(
    (summary.objects() as Record<string, unknown>[]).map((r) => [String(r.run_id), r]),
  );
  const ids = metrics.array("run_id") as ArrayLike<unknown>;
  const steps = metrics.array("step") as ArrayLike<unknown>;
  const golds = metrics.array("eval/gold") as ArrayLike<unknown>;
  const kls = metrics.array("eval/kl") as ArrayLike<unknown>;
  const proxies = names.includes("eval/proxy")
    ? metrics.array("eval/proxy") as ArrayLike<unknown>
    : undefined;
  const out: CheckpointRow[] = [];
  for (let i = 0; i < metrics.numRows(); i++) {
    const gold = num(golds[i]), kl = num(kls[i]);
    const run = runs.get(String(ids[i]));
    if (gold === null || kl === null || !run) continue;
    out.push({
      run_id: String(ids[i]),
      method: String(run.method),
      beta: num(run.beta),
      seed: num(run.seed),
      step: num(steps[i]) ?? 0,
      kl,
      reward_gold: gold,
      reward_proxy: proxies ? num(proxies[i]) : null,
    });
  }
  return out;
}

/**
 * Each method's checkpoint envelope ({@link upperEnvelope} over all its checkpoints, every
 * β): rows `method, kl, reward_gold` in order of method (first appearance) and KL.
 */
export function checkpointEnvelopes(points: readonly CheckpointRow[]): ColumnTable {
  const methods = [...new Set(points.map((p) => p.method))];
  const rows = methods.flatMap((m) =>
    upperEnvelope(
      points.filter((p) => p.method === m).map((p) => ({ kl: p.kl, reward: p.reward_gold })),
    ).map((p) => ({ method: m, kl: p.kl, reward_gold: p.reward }))
  );
  return aq.from(rows, ["method", "kl", "reward_gold"]);
}

/**
 * Gold reward at matched KL: each method's envelope read at the given KL values (linear
 * between its hull's vertices; empty outside the KL range it reached). The envelope is the
 * hull of its checkpoints (every β, every seed) and, for a method without checkpoints
 * (best-of-n), of its runs' final points. One row per method, one column per KL
 * (`gold_at_kl_<k>`), plus `kl_max`, the largest KL its envelope reaches.
 * @param points checkpoint points ({@link checkpointPoints}).
 * @param finals the runs' final points (`method`, `kl`, `reward_gold`), for methods
 *   without checkpoints.
 * @param kls the KL values to read, nats.
 */
export function matchedKl(
  points: readonly CheckpointRow[],
  finals: readonly { method: string; kl: number; reward_gold: number }[],
  kls: readonly number[],
): ColumnTable {
  const methods = [...new Set([...finals.map((p) => p.method), ...points.map((p) => p.method)])];
  const rows = methods.map((m) => {
    const own = points.filter((p) => p.method === m);
    const hull = upperEnvelope(
      (own.length ? own : finals.filter((p) => p.method === m))
        .map((p) => ({ kl: p.kl, reward: p.reward_gold })),
    );
    const row: Record<string, unknown> = { method: m, kl_max: hull.at(-1)?.kl ?? null };
    for (const k of kls) row[`gold_at_kl_${k}`] = readHull(hull, k);
    return row;
  });
  return aq.from(rows, ["method", "kl_max", ...kls.map((k) => `gold_at_kl_${k}`)]);
}

/** The hull's reward at `kl`, linear between vertices; null outside its KL range. */
function readHull(hull: readonly KlRewardPoint[], kl: number): number | null {
  if (!hull.length || kl < hull[0]!.kl || kl > hull.at(-1)!.kl) return null;
  for (let i = 1; i < hull.length; i++) {
    const a = hull[i - 1]!, b = hull[i]!;
    if (kl <= b.kl) return a.reward + (b.reward - a.reward) * (kl - a.kl) / (b.kl - a.kl);
  }
  return hull.at(-1)!.reward;
}
