/**
 * The summary of a results directory, rebuilt from every run directory that belongs to the
 * sweep — not only the runs this process made, so two sweeps with different β grids into
 * one directory (at once or one after the other) both end up in `summary.csv`.
 *
 * A published run belongs to a sweep when the sweep's base config, set to the run's labels
 * (its β or n, its seed, and every other axis value that tells it apart), gives exactly
 * that run: the same method and the same key. So rows that share their labels are true
 * replicates of one config, and a run left by another config (an older preset, a pinned
 * `--prefs.tau`, another kit version) is never averaged with them: it is left out, and the
 * sweep says which and why. Unfinished and failed run directories are left out too.
 *
 * Rows are ordered by method (in `METHODS` order), β or n, the other axes, the seed and the
 * run id, so the summary does not depend on which sweep wrote it.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import { type CanonicalConfig, type Method, METHODS } from "./config.ts";
import { resolveCanonical } from "./config_rules.ts";
import { METHOD_SPECS } from "./methods/mod.ts";
import { planRun, type SweepPlan } from "./plan.ts";
import { applyPoint } from "../../lib/sweep/grid.ts";
import { readJson } from "../../lib/sweep/json_file.ts";
import { isRunId } from "../../lib/sweep/paths.ts";
import { readFailure } from "../../lib/sweep/run_failure.ts";
import { readRunSummary } from "../../lib/sweep/run_record.ts";
import { flattenConfig } from "../../lib/sweep/run_tables.ts";

/** What {@link collectSummary} found. */
export interface CollectedSummary {
  /** One row per run that belongs, ordered (see the module doc). */
  table: aq.ColumnTable;
  /** Run directories of `root` left out, with why. */
  dropped: { id: string; reason: string }[];
}

/** What a published run's config.json holds (as written by run.ts). */
interface SavedRun {
  run?: { id?: unknown; method?: unknown; labels?: Record<string, unknown> };
  experimentConfig?: unknown;
}

/** Directories of a results root that are never runs. */
const NOT_RUNS = new Set(["plots"]);

/**
 * Every finished run of `root` that belongs to `plan` (see the module doc), as a summary
 * table, and the run directories left out.
 * @param root an experiment's results directory.
 * @param plan the sweep: its base config decides what belongs; its runs belong by plan.
 */
export async function collectSummary(root: string, plan: SweepPlan): Promise<CollectedSummary> {
  const planned = new Set(plan.runs.map((r) => r.id));
  const rows: LabelledRow[] = [];
  const dropped: CollectedSummary["dropped"] = [];
  const entries: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (e.isDirectory && !e.name.startsWith(".") && !NOT_RUNS.has(e.name)) entries.push(e.name);
  }
  for (const id of entries.sort()) {
    const dir = join(root, id);
    if (!isRunId(id)) {
      dropped.push({ id, reason: "its name is not a run id" });
      continue;
    }
    let row: Record<string, unknown>;
    try {
      row = await readRunSummary(dir);
    } catch (e) {
      // a failed run of this sweep is reported with the sweep's failures
      if (!(planned.has(id) && await readFailure(dir))) {
        dropped.push({ id, reason: (e as Error).message.replace(`${dir} `, "") });
      }
      continue;
    }
    let saved: SavedRun;
    try {
      saved = await readJson<SavedRun>(join(dir, "config.json"));
    } catch (e) {
      dropped.push({ id, reason: (e as Error).message });
      continue;
    }
    const labels = saved.run?.labels ?? {};
    if (row.run_id !== id || saved.run?.id !== id) {
      dropped.push({ id, reason: "its summary.csv or config.json names another run" });
      continue;
    }
    if (!planned.has(id)) {
      const why = await foreignReason(plan, id, saved);
      if (why) {
        dropped.push({ id, reason: why });
        continue;
      }
    }
    rows.push({ row, labels, config: saved.experimentConfig });
  }
  return { table: summaryTable(rows), dropped };
}

/** Why a run of another sweep does not belong to this one; undefined when it does. */
async function foreignReason(
  plan: SweepPlan,
  id: string,
  saved: SavedRun,
): Promise<string | undefined> {
  const base = plan.base;
  const method = saved.run?.method as Method;
  if (!(METHODS as readonly unknown[]).includes(method)) {
    return `its config.json names no known method (${String(method)})`;
  }
  const labels = saved.run?.labels ?? {};
  let expected: CanonicalConfig;
  try {
    expected = resolveCanonical(applyPoint(base, labelPoint(method, labels)));
  } catch (e) {
    return `its labels do not fit this sweep's config (${(e as Error).message})`;
  }
  const { key } = await planRun(method, expected, { labels });
  if (id.endsWith(`__${key.slice(0, 8)}`)) return undefined;
  const mine = flattenConfig(expected);
  const theirs = flattenConfig(saved.experimentConfig ?? {});
  // Axes of this sweep vary between its own runs: they are not what sets the run apart.
  const skip = new Set([
    "methods",
    ...plan.axes.map((a) => a.path),
    ...Object.keys(labelPoint(method, labels)),
  ]);
  const diffs = Object.keys({ ...mine, ...theirs })
    .filter((k) => !skip.has(k) && JSON.stringify(mine[k]) !== JSON.stringify(theirs[k]))
    .sort()
    .map((k) =>
      `${k} ${JSON.stringify(theirs[k] ?? null)} (this sweep: ${JSON.stringify(mine[k] ?? null)})`
    );
  return diffs.length
    ? `its config differs from this sweep's: ${diffs.slice(0, 3).join(", ")}` +
      (diffs.length > 3 ? ` and ${diffs.length - 3} more` : "")
    : "another version of the kit made it (same config, another key)";
}

/** A run's labels as a grid point: `beta`/`n` is the method's knob, the rest are paths. */
function labelPoint(method: Method, labels: Record<string, unknown>): Record<string, unknown> {
  const point: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(labels)) {
    point[k === "beta" || k === "n" ? METHOD_SPECS[method].knob : k] = v;
  }
  return point;
}

/** A run's summary row with its labels and whole config (from its config.json). */
export interface LabelledRow {
  /** The run's summary.csv row. */
  row: Record<string, unknown>;
  /** Its labels (knob, seed, axes). */
  labels: Record<string, unknown>;
  /** Its experiment config. */
  config: unknown;
}

/**
 * Rows to one table: `run_id, method, beta, n, seed`, the axis columns, then the metrics,
 * ordered (see the module doc). A run that lacks an axis column which another run of its
 * method has gets its config's value there (the axis was pinned in its sweep); runs of
 * other methods get null.
 */
export function summaryTable(rows: readonly LabelledRow[]): aq.ColumnTable {
  const head = ["run_id", "method", "beta", "n", "seed"];
  const axes: string[] = [];
  for (const { labels } of rows) {
    for (const k of Object.keys(labels)) if (!head.includes(k) && !axes.includes(k)) axes.push(k);
  }
  const rest: string[] = [];
  for (const { row } of rows) {
    for (const k of Object.keys(row)) {
      if (!head.includes(k) && !axes.includes(k) && !rest.includes(k)) rest.push(k);
    }
  }
  const axesOf = new Map<unknown, Set<string>>();
  for (const { row, labels } of rows) {
    const s = axesOf.get(row.method) ?? new Set();
    for (const k of Object.keys(labels)) s.add(k);
    axesOf.set(row.method, s);
  }
  const full = rows.map(({ row, config }) => {
    const out: Record<string, unknown> = {};
    for (const c of [...head, ...axes, ...rest]) {
      let v = row[c];
      if (v === undefined && axes.includes(c) && axesOf.get(row.method)?.has(c)) {
        v = flattenConfig(config ?? {})[c];
      }
      out[c] = v ?? null;
    }
    return out;
  });
  full.sort((a, b) => compareRows(a, b, axes));
  return aq.from(full, [...head, ...axes, ...rest]);
}

/**
 * Order summary rows as {@link collectSummary} does (method, β or n, `axes`, seed, id).
 * @returns a new array.
 */
export function sortSummaryRows(
  rows: readonly Record<string, unknown>[],
  axes: readonly string[],
): Record<string, unknown>[] {
  return [...rows].sort((a, b) => compareRows(a, b, axes));
}

function compareRows(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  axes: readonly string[],
): number {
  const m = METHODS.indexOf(a.method as Method) - METHODS.indexOf(b.method as Method);
  if (m !== 0) return m;
  for (const c of ["beta", "n", ...axes, "seed", "run_id"]) {
    const d = compareValues(a[c], b[c]);
    if (d !== 0) return d;
  }
  return 0;
}

function compareValues(x: unknown, y: unknown): number {
  if (x === y) return 0;
  if (x === null || x === undefined) return -1;
  if (y === null || y === undefined) return 1;
  if (typeof x === "number" && typeof y === "number") return x - y;
  return String(x) < String(y) ? -1 : 1;
}
