/**
 * Execute a planned sweep (plan.ts): check what can be checked before any work, then the
 * upstream stages of every distinct chain in this process, then the runs of this shard —
 * in this process (`jobs` 1) or in worker processes (worker.ts) — then the summary tables,
 * the sweep's `manifest.json`, the plots and `report.html`. Each run's end is one line
 * (trained or cached, its wall time, its gold, proxy and KL) followed by the sweep's tally
 * with an ETA. Failed runs are reported at the end, with their error and kept checkpoint;
 * the others still finish. A machine error (a full disk, a read-only file system) stops
 * the sweep at once with one line naming the path.
 *
 * Before any work ({@link checkSweep}): the results path, that it is writable, the
 * preset its directory records (`sweep.json`), the memory each model config needs to
 * train against the machine's, and `RLHF_FAULT`. Right after each data stage (seconds,
 * before any model trains): that the prompts asked for exist and that the vocabulary holds
 * words the gold reward scores.
 *
 * Two sweeps may share a results directory: each stage and each run is computed by one
 * process while the other waits for its lock and then reuses the result
 * (lib/sweep/lock.ts), and the summary is rebuilt under a lock from every published run
 * that belongs to the sweep (collect.ts), so both sweeps' runs end up in it. PNG plots take
 * seconds each (a headless Chromium); `RLHF_PNG=0` skips them.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import { collectSummary, summaryTable } from "./collect.ts";
import { longestFirst, type PlannedRun, type SweepPlan } from "./plan.ts";
import { executeRun } from "./run.ts";
import { dataStage } from "./stages/data.ts";
import { runUpstream, type Upstream } from "./stages/upstream.ts";
import { readJson, writeJson } from "../../lib/sweep/json_file.ts";
import { withLock } from "../../lib/sweep/lock.ts";
import { readFailure } from "../../lib/sweep/run_failure.ts";
import { readRunSummary } from "../../lib/sweep/run_record.ts";
import { runPool, spawnDeno } from "../../lib/sweep/pool.ts";
import { KIT_ENV_VARS, KIT_PROGRAMS, SWEEP_SYS_KINDS } from "../../lib/sweep/permissions.ts";
import { type Shard, shardItems } from "../../lib/sweep/shard_assignment.ts";
import { writeShardSummary } from "../../lib/sweep/shard_record.ts";
import { writeCsvTable } from "../../lib/sweep/results_table.ts";
import { sweepTempFiles } from "../../lib/sweep/temp_files.ts";
import {
  readRunManifest,
  type RunTime,
  type StageTime,
  SWEEP_MANIFEST,
  type SweepManifest,
} from "./sweep_manifest.ts";
import type { WrittenPlots } from "../../lib/plot/report.ts";
import { RunTally } from "../../lib/util/progress.ts";
import { ConfigError, KitError, ResourceError, resourceError } from "../../lib/util/errors.ts";
import { checkData, checkSweep, SWEEP_RECORD, type SweepRecord } from "./preflight.ts";
import { summariseAndPlot } from "./summarise.ts";
import { reportStages, runEnd, sweepManifest } from "./sweep_log.ts";

/** How to run a planned sweep. */
export interface ExecuteOptions {
  /** Experiment name: results go to `<results>/<experiment>/`. */
  experiment: string;
  /** The planned runs. */
  plan: SweepPlan;
  /** Results root (default `results`). */
  results: string;
  /** Parallel worker processes for the runs (1: in this process). */
  jobs: number;
  /** Run only this shard of the runs. */
  shard?: Shard;
  /** Write PNGs beside the HTML plots when a Chromium exists. */
  png?: boolean;
  /** Progress messages (default: stderr). */
  log?: (m: string) => void;
}

/** What a sweep leaves behind. */
export interface SweepResult {
  /** `<results>/<experiment>`. */
  root: string;
  /** The runs of this shard. */
  runs: PlannedRun[];
  /** Runs that failed, with their error. */
  failed: { run: PlannedRun; error: string }[];
  /**
   * One row per finished run: of the directory's runs that belong to this sweep
   * (unsharded), or of this shard's runs (sharded).
   */
  summary: aq.ColumnTable;
  /** Where `summary` was written. */
  summaryPath: string;
  /** Run directories of `root` left out of the summary, with why (unsharded sweeps). */
  dropped: { id: string; reason: string }[];
  /** Means and 95% intervals over seeds (unsharded sweeps). */
  grouped?: aq.ColumnTable;
  /** The plots written (unsharded sweeps). */
  plots?: WrittenPlots;
  /** The report page (unsharded sweeps). */
  report?: string;
  /** Where the time went: stages, runs, wall time (written as `manifest.json` unsharded). */
  manifest: SweepManifest;
}

/** Run (or resume) the sweep. */
export async function executeSweep(o: ExecuteOptions): Promise<SweepResult> {
  const log = o.log ?? ((m: string) => console.error(m));
  const startedAt = new Date();
  await checkSweep(o);
  const root = join(o.results, o.experiment);
  const cache = join(root, ".cache");
  await sweepTempFiles(root, { log });
  await Deno.mkdir(cache, { recursive: true });
  const record: SweepRecord = { experiment: o.experiment.split("_")[0]!, preset: o.plan.preset };
  if (!(await Deno.stat(join(root, SWEEP_RECORD)).then(() => true, () => false))) {
    await writeJson(join(root, SWEEP_RECORD), record);
  }
  log(`results: ${root}`);
  const runs = o.shard ? shardItems(o.plan.runs, o.shard.index, o.shard.count) : o.plan.runs;
  // The data stages first (seconds), so what only the corpus can tell fails before any
  // model trains; then one upstream chain per distinct reward-model key (its key covers
  // every stage before it).
  const data = new Map<string, Promise<void>>();
  const computed = new Set<string>(); // data stages this sweep computed (not from the cache)
  for (const r of runs) {
    if (data.has(r.upstream.data)) continue;
    const p = (async () => {
      let d;
      try {
        d = await dataStage(cache, r.config, log);
      } catch (e) {
        if (!(e instanceof ConfigError) || !/makePrompts/.test(e.message)) throw e;
        throw new ConfigError(
          `--data.trainPrompts ${r.config.data.trainPrompts} / --data.evalPrompts ` +
            `${r.config.data.evalPrompts}: ${e.message}`,
        );
      }
      if (!d.cached) computed.add(d.key);
      await checkData(r.config, d.dir);
    })();
    data.set(r.upstream.data, p);
    await p;
  }
  const chains = new Map<string, Promise<Upstream>>();
  const upstreamOf = async (r: PlannedRun): Promise<Upstream> => {
    let u = chains.get(r.upstream.rm);
    if (!u) chains.set(r.upstream.rm, u = runUpstream(cache, r.config, log));
    return await u;
  };
  const stages: StageTime[] = [];
  for (const r of runs) {
    const fresh = !chains.has(r.upstream.rm);
    const u = await upstreamOf(r);
    if (fresh) stages.push(...await reportStages(u, stages, computed, log));
  }
  log(`${runs.length} of ${o.plan.runs.length} runs in this shard, ${o.jobs} at a time`);

  const jobDir = join(cache, "jobs");
  await Deno.mkdir(jobDir, { recursive: true });
  /** Runs one run; returns whether it was taken from the cache. */
  const runOne = async (r: PlannedRun, since: string): Promise<boolean> => {
    const upstream = await upstreamOf(r);
    if (o.jobs === 1) return (await executeRun(cache, root, r, upstream, log)).cached;
    const job = join(jobDir, `${r.id}.json`);
    await Deno.remove(`${job}.error.json`).catch(() => {});
    await writeJson(job, { cache, root, run: r, upstream });
    const code = await spawnDeno([new URL("./worker.ts", import.meta.url).pathname, job], {
      // The worker writes only under this experiment's results (and temp files); every
      // other permission it gets is narrowed to this process's own.
      permissions: [
        "--allow-read",
        `--allow-write=${root},/tmp`,
        ...workerPermissions(),
      ],
      prefix: r.id.slice(0, r.id.lastIndexOf("__")),
    });
    if (code !== 0) {
      const err = await readJson<WorkerError>(`${job}.error.json`).catch(() => undefined);
      if (err?.name === "ResourceError" && err.path && err.code) {
        throw new ResourceError(err.path, err.code, err.message);
      }
      throw new KitError(err?.message ?? `worker exited with code ${code}`);
    }
    // A run the worker took from the cache was published by an earlier sweep.
    const m = await readRunManifest(join(root, r.id));
    return m !== undefined && m.startedAt < since;
  };

  // A full disk or a read-only file system stops the sweep: every other run would fail too.
  const abort = new AbortController();
  const tally = new RunTally(runs.length, o.jobs);
  const ended = new Map<string, { line: string; time: RunTime }>();
  const runsStart = performance.now();
  // Longest first, so the last runs to finish are short ones and both workers stay busy.
  const report = await runPool(longestFirst(runs), {
    jobs: o.jobs,
    signal: abort.signal,
    run: async (r) => {
      const since = new Date().toISOString();
      const t0 = performance.now();
      try {
        const cached = await runOne(r, since);
        const seconds = (performance.now() - t0) / 1000;
        ended.set(r.id, await runEnd(root, r, cached, seconds));
      } catch (e) {
        const machine = resourceError(e);
        if (machine) {
          abort.abort();
          throw machine;
        }
        // Report the run's own error (a worker only says its exit code) and what it kept.
        const failure = await readFailure(join(root, r.id), { kept: true });
        if (!failure || failure.startedAt < since) throw e;
        throw new KitError(
          failure.message +
            (failure.checkpoint ? `; last good checkpoint: ${failure.checkpoint}` : "") +
            (failure.kept ? `; its earlier results are kept, this failure is in failure/` : ""),
        );
      }
    },
    onSettled: (r, _i, e) => {
      const end = ended.get(r.id);
      if (e || !end) {
        log(`FAILED ${r.id}: ${e?.message ?? "no result"}`);
        tally.add("failed", 0);
        ended.set(r.id, { line: "", time: { run_id: r.id, status: "failed", seconds: null } });
      } else {
        log(end.line);
        tally.add(end.time.status, end.time.seconds ?? 0);
      }
      log(tally.line());
    },
  });
  const runsWall = (performance.now() - runsStart) / 1000;
  const fatal = report.failed.find((f) => f.error instanceof ResourceError);
  if (fatal) throw fatal.error;
  const failed = report.failed.map((f) => ({ run: f.task, error: f.error.message }));
  const manifest = () =>
    sweepManifest(o, root, startedAt, stages, runs.map((r) => ended.get(r.id)!.time), runsWall);

  if (o.shard) {
    const done = runs.filter((r) => !report.failed.some((f) => f.task === r));
    const rows = await Promise.all(done.map(async (r) => ({
      row: await readRunSummary(join(root, r.id)),
      labels: r.labels,
      config: r.config,
    })));
    const summary = rows.length ? summaryTable(rows) : aq.table({});
    await writeShardSummary(root, summary, {
      gridRuns: o.plan.runs.map((r) => r.id),
      index: o.shard.index,
      count: o.shard.count,
      failed: report.failed.map((f) => f.task.id),
    });
    const summaryPath = join(root, `summary.shard-${o.shard.index}-of-${o.shard.count}.csv`);
    return { root, runs, failed, summary, summaryPath, dropped: [], manifest: await manifest() };
  }
  const summaryPath = join(root, "summary.csv");
  // Under a lock, so two sweeps into one directory take turns and the later one sees
  // every run both published.
  return await withLock(join(root, ".summary.lock"), async () => {
    const { table: summary, dropped } = await collectSummary(root, o.plan);
    const m = await manifest();
    const out: SweepResult = { root, runs, failed, summary, summaryPath, dropped, manifest: m };
    if (dropped.length) {
      log(`summary: left out ${dropped.length} run director(ies) of ${root}:`);
      for (const d of dropped.slice(0, 10)) log(`  ${d.id}: ${d.reason}`);
      if (dropped.length > 10) log(`  … and ${dropped.length - 10} more`);
    }
    try {
      await writeJson(join(root, SWEEP_MANIFEST), m);
    } catch (e) {
      throw resourceError(e) ?? e;
    }
    if (summary.numRows() === 0) return out;
    await writeCsvTable(summary, summaryPath);
    return Object.assign(out, await summariseAndPlot(root, summary, o.png, { manifest: m }));
  }, { purpose: "summary", log });
}

/** What a worker leaves beside its job file when it fails (`<job>.error.json`). */
export interface WorkerError {
  /** Error class name. */
  name: string;
  /** Its message. */
  message: string;
  /** For a ResourceError: the path. */
  path?: string;
  /** For a ResourceError: the OS error code. */
  code?: string;
}

/** The env, sys and run permissions of a worker: the kit's (narrowed at spawn). */
function workerPermissions(): string[] {
  return [
    `--allow-env=${KIT_ENV_VARS.join(",")}`,
    `--allow-sys=${SWEEP_SYS_KINDS.join(",")}`,
    `--allow-run=${KIT_PROGRAMS.join(",")}`,
  ];
}
