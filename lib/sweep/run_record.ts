/**
 * The record a method run leaves behind: a cached stage directory, published as
 * `<results>/<run-id>/` with
 *
 *   config.json    what the caller passes (the run's config and the experiment's)
 *   metrics.csv    one row per logged step (only what config, seed and backend determine)
 *   timings.csv    the wall-clock columns (`perf/*`) of those rows
 *   summary.csv    one row: the run's headline numbers
 *   samples.jsonl  example completions
 *   manifest.json  versions, backend, seed, config hash, timings, status — written last
 *
 * so a rerun of the same config and seed reproduces metrics.csv and summary.csv byte for
 * byte. A run that fails (a NaN loss, anything else) is published as a failure record
 * instead: manifest.json with `status: "failed"` and the error, config.json, the metric
 * rows logged so far and the last checkpoint known to be good ({@link CheckpointKeeper});
 * its cached stage is discarded so a rerun starts clean.
 *
 * Publishing ({@link publishRun}) never leaves a half-published run, and a failure never
 * replaces good results: it is recorded beside them ({@link FAILURE_DIR}).
 *
 * @module
 */
import { basename, join } from "node:path";
import * as aq from "arquero";
import type { BackendInfo } from "../backend/mod.ts";
import type { MetricRow } from "../train/metrics.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";
import { FileFormatError } from "../util/errors.ts";
import { CheckpointKeeper, POLICY_CHECKPOINT } from "./checkpoint_keeper.ts";
import { hashKey } from "./hash.ts";
import { writeJson } from "./json_file.ts";
import { buildManifest, type Manifest, writeManifest } from "./manifest.ts";
import { publishRun } from "./publish_run.ts";
import { readCsvTable, writeCsvTable, writeMetricRows } from "./results_table.ts";
import { FAILURE_DIR, readFailure } from "./run_failure.ts";
import { runStage, type StageInputs, type StageResult } from "./stage_cache.ts";

/** What a run's body hands back to be recorded. */
export interface RunOutput {
  /** Step metrics (`perf/*` columns go to timings.csv). */
  rows: readonly MetricRow[];
  /** The run's one summary row. */
  summary: Record<string, unknown>;
  /** Example completions, one JSON object per line of samples.jsonl. */
  samples: readonly Record<string, unknown>[];
}

/** What a run's body is given. */
export interface RunContext {
  /** The run's stage directory (renamed when it commits: do not record it). */
  dir: string;
  /** Push every logged row here as it comes, so a failure record keeps them. */
  rows: MetricRow[];
  /** The checkpoint keeper of this run (every `checkpointEvery` steps); set its `save`. */
  checkpoints: CheckpointKeeper;
}

/** Arguments of {@link recordRun}. */
export interface RecordedRunSpec {
  /** Cache root of the stages (e.g. `results/canonical/.cache`). */
  cacheRoot: string;
  /** Published run directory, `<results>/<run-id>`. */
  publishDir: string;
  /** Stage name of the cached run (e.g. `run-ppo`). */
  stage: string;
  /** The run's config: its cache key, with `inputs`. */
  config: unknown;
  /** Upstream stage keys. */
  inputs: StageInputs;
  /** Written as config.json (the run's config and whatever the reader needs beside it). */
  configFile: unknown;
  /** The run's seed, for the manifest. */
  seed: number | null;
  /** The active backend, for the manifest. */
  backend: () => Promise<BackendInfo>;
  /** Save the policy every this many steps while training (0: never). */
  checkpointEvery: number;
  /** Train and evaluate; throw to fail the run. */
  run: (ctx: RunContext) => Promise<RunOutput>;
  /** Progress messages (waiting for locks, failures and where they are recorded). */
  log?: (m: string) => void;
}

/**
 * Run (or reuse) one method run as a cached stage and publish its files to
 * `publishDir`; a failed run is published as a failure record and the error rethrown.
 * @returns the stage (its `cached` says whether it was reused).
 */
export async function recordRun(spec: RecordedRunSpec): Promise<StageResult> {
  const res = await runStage({
    root: spec.cacheRoot,
    name: spec.stage,
    config: spec.config,
    inputs: spec.inputs,
    log: spec.log,
    run: async (dir) => {
      const started = new Date();
      const backend = await spec.backend();
      const configHash = await hashKey(spec.config);
      await writeJson(join(dir, "config.json"), spec.configFile);
      const ctx: RunContext = {
        dir,
        rows: [],
        checkpoints: new CheckpointKeeper(dir, spec.checkpointEvery),
      };
      const manifest = (status: Manifest["status"], error?: unknown) =>
        buildManifest({
          backend,
          seed: spec.seed,
          configHash,
          startedAt: started,
          status,
          error,
          ...(ctx.checkpoints.keptStep !== undefined
            ? { checkpoint: { file: POLICY_CHECKPOINT, step: ctx.checkpoints.keptStep } }
            : {}),
        });
      try {
        const out = await spec.run(ctx);
        await writeRunMetrics(dir, out.rows);
        await writeCsvTable(aq.from([out.summary]), join(dir, "summary.csv"));
        await ctx.checkpoints.discard();
        await writeTextAtomic(
          join(dir, "samples.jsonl"),
          out.samples.map((s) => JSON.stringify(s)).join("\n") + "\n",
        );
        await writeManifest(join(dir, "manifest.json"), await manifest("ok"));
      } catch (e) {
        // Publish the failure record (config, rows so far, last good checkpoint, manifest
        // with the error), then fail the stage, which discards its partial dir. Good
        // results of the same id are never replaced by it.
        try {
          await writeRunMetrics(dir, ctx.rows);
          await Deno.remove(join(dir, "summary.csv")).catch(() => {});
          await Deno.remove(join(dir, "samples.jsonl")).catch(() => {});
          await writeManifest(join(dir, "manifest.json"), await manifest("failed", e));
          const good = await publishedStatus(spec.publishDir) === "ok";
          const target = good ? join(spec.publishDir, FAILURE_DIR) : spec.publishDir;
          await publishRun(dir, target);
          if (good) {
            spec.log?.(
              `${basename(spec.publishDir)} failed again; its published results are kept ` +
                `and the failure is recorded in ${target}`,
            );
          }
        } catch (pe) {
          spec.log?.(
            `could not record the failure of ${spec.publishDir}: ${(pe as Error).message}`,
          );
        }
        throw e;
      }
    },
  });
  await publishRun(res.dir, spec.publishDir, { verify: true });
  await Deno.remove(join(spec.publishDir, FAILURE_DIR), { recursive: true }).catch(() => {});
  return res;
}

/** The status in a published run's manifest.json, if it has a readable one. */
async function publishedStatus(dir: string): Promise<Manifest["status"] | undefined> {
  try {
    return (JSON.parse(await Deno.readTextFile(join(dir, "manifest.json"))) as Manifest).status;
  } catch {
    return undefined;
  }
}

/** Step metrics to metrics.csv and their wall-clock columns (`perf/*`) to timings.csv. */
async function writeRunMetrics(dir: string, rows: readonly MetricRow[]): Promise<void> {
  const metrics: MetricRow[] = [];
  const timings: MetricRow[] = [];
  for (const row of rows) {
    const m: MetricRow = { step: row.step };
    const t: MetricRow = { step: row.step };
    for (const [k, v] of Object.entries(row)) (k.startsWith("perf/") ? t : m)[k] = v;
    metrics.push(m);
    if (Object.keys(t).length > 1) timings.push(t);
  }
  await writeMetricRows(join(dir, "metrics.csv"), metrics.length ? metrics : [{ step: 0 }]);
  if (timings.length) await writeMetricRows(join(dir, "timings.csv"), timings);
  else await Deno.remove(join(dir, "timings.csv")).catch(() => {});
}

/**
 * Read a run's published summary row.
 * @throws FileFormatError naming the directory when it is not a finished run (missing,
 *   failed, not committed by a manifest, or its summary.csv is corrupt).
 */
export async function readRunSummary(dir: string): Promise<Record<string, unknown>> {
  if (!(await Deno.stat(dir).then((s) => s.isDirectory, () => false))) {
    throw new FileFormatError(`run directory ${dir} does not exist`);
  }
  const failure = await readFailure(dir);
  if (failure) {
    throw new FileFormatError(`run ${dir} failed (${failure.message}); it has no summary`);
  }
  const row = (await readCsvTable(join(dir, "summary.csv"))).objects()[0];
  if (!row) throw new FileFormatError(`${join(dir, "summary.csv")} has no rows`);
  if (await publishedStatus(dir) !== "ok") {
    throw new FileFormatError(
      `run ${dir} is not a finished run: it has no valid manifest.json (interrupted while ` +
        `it was being published?)`,
    );
  }
  return row as Record<string, unknown>;
}
