/**
 * From a preset and the command line to the list of runs — the canonical experiment's
 * grid, planned before any work:
 *
 *   preset grid + command line → axes → for each method, the points of the axes that can
 *   change its runs (cartesian product; other methods' knobs left out) → one validated
 *   config per point → its run config and cache key → distinct runs, named.
 *
 * Every rule is checked for every point here, so a bad combination fails at once with the
 * fields the user typed. A run's key hashes its run config and the keys of the upstream
 * stages it reads, so an axis a method does not read (`dpo.beta` for PPO) never forks it,
 * and an upstream axis (`prefs.tau`) forks exactly the runs downstream of it. A run's id
 * is readable and carries its key: `ppo__beta0.05__seed1__3fa29c1e`.
 *
 * @module
 */
import type { CanonicalConfig, Method } from "./config.ts";
import { resolveCanonical } from "./config_rules.ts";
import type { ResolvedPreset } from "./presets.ts";
import { METHOD_SPECS, type MethodRunConfig } from "./methods/mod.ts";
import { STAGE_FORMAT } from "./stages/data.ts";
import { upstreamKeys, type UpstreamStage } from "./stages/upstream.ts";
import {
  applyPoint,
  checkDistinct,
  type GridAxis,
  type GridPoint,
  gridPoints,
  mergeAxes,
} from "../../lib/sweep/grid.ts";
import { stageKey } from "../../lib/sweep/stage_cache.ts";
import { ConfigError, show } from "../../lib/util/errors.ts";

/** One planned run. */
export interface PlannedRun {
  /** `<method>__<knob><value>__seed<seed>[__<axis><value>…]__<key8>`. */
  id: string;
  /** The method. */
  method: Method;
  /** The grid point's whole config. */
  config: CanonicalConfig;
  /** The grid point (axis values) the run was first planned at. */
  point: GridPoint;
  /** The method's run config: what the trainer takes, the key hashes, config.json records. */
  runConfig: MethodRunConfig;
  /** The run's cache key. */
  key: string;
  /** Keys of the upstream stages of its point. */
  upstream: Record<UpstreamStage, string>;
  /**
   * The values that tell this run apart, as summary columns: `beta` or `n` (the method's
   * knob), `seed`, and every other axis that changes this run (by dotted path).
   */
  labels: Record<string, unknown>;
}

/** A sweep, planned. */
export interface SweepPlan {
  /** The preset it starts from. */
  preset: string;
  /** The grid's axes after the command line. */
  axes: GridAxis[];
  /** The config without grid values applied (the preset plus single-valued overrides). */
  base: CanonicalConfig;
  /** Distinct runs, in a stable order: method, then grid point. */
  runs: PlannedRun[];
}

/**
 * The results directory name of an experiment's sweep at a preset: the experiment's name
 * for the `default` preset, `<experiment>_<preset>` otherwise, so a `tiny` smoke test never
 * lands among the default preset's results.
 */
export function resultsName(experiment: string, preset: string): string {
  return preset === "default" ? experiment : `${experiment}_${preset}`;
}

/** The stage name of a method's runs in the cache. */
export function runStageName(method: Method): string {
  return `run-${method}`;
}

/**
 * Plan a sweep: the preset's grid, the command line's overrides (nested, single values)
 * and its axes (several values) → every run, checked and named.
 * @param assigned every field the command line set, as axes (one value: pinned).
 * @throws ConfigError for a bad value or combination, naming the fields (and the grid point).
 */
export async function planSweep(
  preset: ResolvedPreset,
  overrides: Record<string, unknown>,
  assigned: readonly GridAxis[],
): Promise<SweepPlan> {
  const axes = mergeAxes(preset.grid, assigned);
  checkDistinct(axes);
  const base = resolveCanonical(preset.config, overrides);
  const keyCache = new Map<string, Promise<RunKey>>();
  const keyOf = (method: Method, c: CanonicalConfig) => {
    const id = `${method} ${JSON.stringify(c)}`;
    let k = keyCache.get(id);
    if (!k) keyCache.set(id, k = runKey(method, c));
    return k;
  };
  const runs: PlannedRun[] = [];
  const seen = new Set<string>();
  const configCache = new Map<string, CanonicalConfig>();
  for (const method of base.methods) {
    const own = methodAxes(method, axes);
    const points = gridPoints(own);
    // Every point is checked before any key or label reads a neighbouring one.
    const configs = points.map((p) => {
      const id = JSON.stringify(p);
      let c = configCache.get(id);
      if (!c) configCache.set(id, c = configAt(base, p, axes.length > 0));
      return c;
    });
    for (let i = 0; i < points.length; i++) {
      const c = configs[i]!;
      const { key, runConfig, upstream } = await keyOf(method, c);
      if (seen.has(key)) continue;
      seen.add(key);
      const labels = await runLabels(method, c, points[i]!, own, base, keyOf);
      runs.push({
        id: runId(method, labels, axes, key),
        method,
        config: c,
        point: points[i]!,
        runConfig,
        key,
        upstream,
        labels,
      });
    }
  }
  return { preset: preset.name, axes, base, runs };
}

/**
 * Plan one run of a method at a config outside any grid (a notebook's single run, a rerun):
 * its labels are the knob and the seed unless given, its id is built from them.
 * @throws ConfigError when the config breaks a rule, or `id` does not end in its key.
 */
export async function planRun(
  method: Method,
  config: CanonicalConfig,
  given: { id?: string; labels?: Record<string, unknown> } = {},
): Promise<PlannedRun> {
  const c = resolveCanonical(config);
  const { key, runConfig, upstream } = await runKey(method, c);
  const knob = METHOD_SPECS[method].knob;
  const labels = given.labels ??
    { [knob === "bon.n" ? "n" : "beta"]: valueAt(c, knob), seed: c.seed };
  const id = given.id ?? runId(method, labels, [], key);
  if (!id.endsWith(`__${key.slice(0, 8)}`)) {
    throw new ConfigError(
      `run id ${show(id)} does not end in its config's key ${key.slice(0, 8)}: the config ` +
        `does not describe that run`,
    );
  }
  return { id, method, config: c, point: {}, runConfig, key, upstream, labels };
}

/**
 * The axes that can change a method's runs: every axis but the other methods' knobs. A
 * knob (`dpo.beta`, `grpo.beta`, `bon.n`, …) is read by its own methods only, so crossing
 * it with another method's points would plan the same runs again; leaving it out keeps
 * the grid a sum over methods rather than a product (the `full` preset has seven knob
 * axes). The other fields an axis may set are still crossed: whether they change a run is
 * decided by its key.
 */
export function methodAxes(method: Method, axes: readonly GridAxis[]): GridAxis[] {
  const own = METHOD_SPECS[method].knob;
  const knobs = new Set(Object.values(METHOD_SPECS).map((s) => s.knob as string));
  return axes.filter((a) => a.path === own || !knobs.has(a.path));
}

/**
 * How a plan's runs add up, one entry per method: its run count and the axes with more
 * than one value that can change its runs, e.g. `ppo 8 (ppo.beta 4 × seed 2)`.
 */
export function describePlan(plan: SweepPlan): string {
  return plan.base.methods.map((m) => {
    const n = plan.runs.filter((r) => r.method === m).length;
    const axes = methodAxes(m, plan.axes).filter((a) => a.values.length > 1)
      .map((a) => `${a.path} ${a.values.length}`).join(" × ");
    return `${m} ${n}${axes ? ` (${axes})` : ""}`;
  }).join(", ");
}

/** The config of one grid point, checked; errors name the point when there is a grid. */
function configAt(base: CanonicalConfig, point: GridPoint, named: boolean): CanonicalConfig {
  try {
    return resolveCanonical(applyPoint(base, point));
  } catch (e) {
    if (!(e instanceof ConfigError) || !named) throw e;
    const where = Object.entries(point).map(([k, v]) => `--${k} ${show(v)}`).join(" ");
    throw new ConfigError(`at grid point ${where}: ${e.message}`);
  }
}

interface RunKey {
  key: string;
  runConfig: MethodRunConfig;
  upstream: Record<UpstreamStage, string>;
}

/** A method run's key at a config: its run config and the upstream keys it reads. */
async function runKey(method: Method, c: CanonicalConfig): Promise<RunKey> {
  const spec = METHOD_SPECS[method];
  const runConfig = spec.runConfig(c, method);
  const upstream = await upstreamKeys(c);
  const inputs = Object.fromEntries(spec.inputs.map((s) => [s, upstream[s]]));
  const key = await stageKey(runStageName(method), runStageConfig(runConfig), inputs);
  return { key, runConfig, upstream };
}

/** What a run's stage key hashes besides its inputs. */
export function runStageConfig(runConfig: MethodRunConfig): Record<string, unknown> {
  return { run: runConfig, format: STAGE_FORMAT };
}

/** The method's knob value, the seed, and every other axis whose value changes the run. */
async function runLabels(
  method: Method,
  c: CanonicalConfig,
  point: GridPoint,
  axes: readonly GridAxis[],
  base: CanonicalConfig,
  keyOf: (m: Method, c: CanonicalConfig) => Promise<RunKey>,
): Promise<Record<string, unknown>> {
  const knob = METHOD_SPECS[method].knob;
  const labels: Record<string, unknown> = {
    [knob === "bon.n" ? "n" : "beta"]: valueAt(c, knob),
    seed: c.seed,
  };
  const own = (await keyOf(method, c)).key;
  for (const axis of axes) {
    if (axis.path === knob || axis.path === "seed") continue;
    for (const v of axis.values) {
      if (JSON.stringify(v) === JSON.stringify(point[axis.path])) continue;
      const other = resolveCanonical(applyPoint(base, { ...point, [axis.path]: v }));
      if ((await keyOf(method, other)).key !== own) {
        labels[axis.path] = point[axis.path];
        break;
      }
    }
  }
  return labels;
}

/** The value at a dotted path of a config. */
export function valueAt(c: unknown, path: string): unknown {
  let cur: unknown = c;
  for (const part of path.split(".")) cur = (cur as Record<string, unknown>)[part];
  return cur;
}

/** A readable, filesystem-safe id ending in the key's first 8 hex digits. */
function runId(
  method: Method,
  labels: Record<string, unknown>,
  axes: readonly GridAxis[],
  key: string,
): string {
  const last = (p: string) => p.split(".").at(-1)!;
  const clash = (p: string) => axes.filter((a) => last(a.path) === last(p)).length > 1;
  const parts = Object.entries(labels).map(([k, v]) => {
    const name = clash(k) || k === "n" || k === "beta" || k === "seed" ? k : last(k);
    return `${name}${String(v).replace(/[^A-Za-z0-9.+-]/g, "-")}`;
  });
  return [method, ...parts, key.slice(0, 8)].join("__");
}

/**
 * A run's rough cost in token passes, for scheduling the longest runs first so the last
 * ones to finish are short (both cores stay busy to the end). Read off the run config by
 * the fields trainers share: PPO-style (`iterations × rolloutBatch × (epochs + 2)` sampled
 * tokens, each read by policy, reference and value), preference-style (`steps × batchSize × 2`
 * sequences) or best-of-n (the pool's draw for the run whose n is the pool's size, nothing
 * for the others, which read it); plus the final evaluation.
 */
export function runCost(r: PlannedRun): number {
  const rc = r.runConfig as unknown as {
    trainer?: Record<string, number>;
    n?: number;
    poolSize?: number;
    eval: { maxNewTokens: number };
  };
  const t = rc.trainer ?? {};
  const tokens = rc.eval.maxNewTokens;
  const prompts = r.config.data.evalPrompts;
  let cost = prompts * tokens; // the final evaluation
  if (t.iterations && t.rolloutBatch) {
    cost += t.iterations * t.rolloutBatch * ((t.epochs ?? 1) + 2) * (t.groupSize ?? 1) * tokens;
  } else if (t.steps && t.batchSize) {
    cost += t.steps * t.batchSize * 2 * tokens * 3; // forward and backward of both sequences
  }
  // Best-of-n: the run of the largest n draws the shared pool; the others read it.
  if (rc.n) cost += rc.n === rc.poolSize ? rc.n * prompts * tokens : 0;
  return cost;
}

/** Runs ordered by {@link runCost}, longest first (ties keep the plan's order). */
export function longestFirst(runs: readonly PlannedRun[]): PlannedRun[] {
  return runs.map((r, i) => ({ r, i, c: runCost(r) }))
    .sort((a, b) => b.c - a.c || a.i - b.i)
    .map((x) => x.r);
}
