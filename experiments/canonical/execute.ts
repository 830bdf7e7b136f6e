/**
 * Execute a planned sweep (plan.ts): the upstream stages of every distinct chain in this
 * process, then the runs of this shard — in this process (`jobs` 1) or in worker processes
 * (worker.ts) — then the summary tables and plots. Failed runs are reported at the end,
 * with their error and kept checkpoint; the others still finish.
 *
 * Two sweeps may share a results directory: each stage and each run is computed by one
 * process while the other waits for its lock and then reuses the result
 * (lib/sweep/lock.ts). PNG plots take seconds each (a headless Chromium); `RLHF_PNG=0`
 * skips them.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import type { PlannedRun, SweepPlan } from "./plan.ts";
import { executeRun, faultFromEnv } from "./run.ts";
import { runUpstream, type Upstream } from "./stages/upstream.ts";
import { writeJson } from "../../lib/sweep/json_file.ts";
import { readFailure } from "../../lib/sweep/run_record.ts";
import { readRunCurves } from "../../lib/sweep/run_tables.ts";
import { runPool, spawnDeno } from "../../lib/sweep/pool.ts";
import { type Shard, shardItems } from "../../lib/sweep/shard.ts";
import { readCsvTable, writeCsvTable } from "../../lib/sweep/results_table.ts";
import { groupRuns } from "./analysis.ts";
import { reportFigures, writePlots, type WrittenPlots } from "../../lib/plot/report.ts";
import { ConfigError, KitError } from "../../lib/util/errors.ts";

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
  /** One row per finished run of this shard. */
  summary: aq.ColumnTable;
  /** Where `summary` was written. */
  summaryPath: string;
  /** Means and 95% intervals over seeds (unsharded sweeps). */
  grouped?: aq.ColumnTable;
  /** The plots written (unsharded sweeps). */
  plots?: WrittenPlots;
}

/**
 * Checks that need no work, so a sweep fails at once rather than after its upstream stages:
 * the results directory must be writable by this process, and `RLHF_FAULT`, when set, must
 * name a method or run of this sweep.
 * @throws ConfigError naming the problem.
 */
export function checkSweep(o: Pick<ExecuteOptions, "experiment" | "plan" | "results">): void {
  const root = join(o.results, o.experiment);
  const write = Deno.permissions.querySync({ name: "write", path: root }).state;
  if (write !== "granted") {
    throw new ConfigError(
      `--results ${o.results}: this process may not write to ${root} ` +
        `(deno task sweep and reproduce write only under results/ and /tmp)`,
    );
  }
  const fault = faultFromEnv();
  if (fault && !o.plan.runs.some((r) => r.method === fault.target || r.id === fault.target)) {
    throw new ConfigError(
      `RLHF_FAULT targets ${JSON.stringify(fault.target)}, which is not a method or run of ` +
        `this sweep (methods: ${o.plan.base.methods.join(", ")})`,
    );
  }
}

/** Run (or resume) the sweep. */
export async function executeSweep(o: ExecuteOptions): Promise<SweepResult> {
  const log = o.log ?? ((m: string) => console.error(m));
  checkSweep(o);
  const root = join(o.results, o.experiment);
  const cache = join(root, ".cache");
  await Deno.mkdir(cache, { recursive: true });
  log(`results: ${root}`);
  const runs = o.shard ? shardItems(o.plan.runs, o.shard.index, o.shard.count) : o.plan.runs;
  // One upstream chain per distinct reward-model key (its key covers every stage before it).
  const chains = new Map<string, Promise<Upstream>>();
  const upstreamOf = async (r: PlannedRun): Promise<Upstream> => {
    let u = chains.get(r.upstream.rm);
    if (!u) chains.set(r.upstream.rm, u = runUpstream(cache, r.config, log));
    return await u;
  };
  for (const r of runs) await upstreamOf(r);
  log(`${runs.length} of ${o.plan.runs.length} runs in this shard, ${o.jobs} at a time`);

  const jobDir = join(cache, "jobs");
  await Deno.mkdir(jobDir, { recursive: true });
  const runOne = async (r: PlannedRun): Promise<void> => {
    const upstream = await upstreamOf(r);
    if (o.jobs === 1) {
      await executeRun(cache, root, r, upstream, log);
      return;
    }
    const job = join(jobDir, `${r.id}.json`);
    await writeJson(job, { cache, root, run: r, upstream });
    const code = await spawnDeno([new URL("./worker.ts", import.meta.url).pathname, job], {
      // The worker writes only under this experiment's results (and temp files).
      permissions: [
        "--allow-read",
        `--allow-write=${root},/tmp`,
        "--allow-env",
        "--allow-run",
        "--allow-sys",
      ],
      prefix: r.id.slice(0, r.id.lastIndexOf("__")),
    });
    if (code !== 0) throw new KitError(`worker exited with code ${code}`);
  };

  const report = await runPool(runs, {
    jobs: o.jobs,
    run: async (r) => {
      const since = new Date().toISOString();
      try {
        await runOne(r);
      } catch (e) {
        // Report the run's own error (a worker only says its exit code) and what it kept.
        const failure = await readFailure(join(root, r.id));
        if (!failure || failure.startedAt < since) throw e;
        throw new KitError(
          failure.message +
            (failure.checkpoint ? `; last good checkpoint: ${failure.checkpoint}` : ""),
        );
      }
    },
    onSettled: (r, _i, e) => log(`${e ? "FAILED" : "done"} ${r.id}${e ? `: ${e.message}` : ""}`),
  });

  const done = runs.filter((r) => !report.failed.some((f) => f.task === r));
  const rows: Record<string, unknown>[] = [];
  for (const r of done) {
    const t = await readCsvTable(join(root, r.id, "summary.csv"));
    rows.push(...(t.objects() as Record<string, unknown>[]));
  }
  const summary = aq.from(rows);
  const suffix = o.shard ? `.shard-${o.shard.index}-of-${o.shard.count}` : "";
  const summaryPath = join(root, `summary${suffix}.csv`);
  const out: SweepResult = {
    root,
    runs,
    failed: report.failed.map((f) => ({ run: f.task, error: f.error.message })),
    summary,
    summaryPath,
  };
  if (summary.numRows() === 0) return out;
  await writeCsvTable(summary, summaryPath);
  if (!o.shard) Object.assign(out, await summariseAndPlot(root, summary, o.png));
  return out;
}

/** Group over seeds, write `summary_by_method.csv`, and draw the plots of an experiment. */
export async function summariseAndPlot(
  root: string,
  summary: aq.ColumnTable,
  png = Deno.env.get("RLHF_PNG") !== "0",
  title = root.split("/").filter(Boolean).pop() ?? "experiment",
): Promise<{ grouped: aq.ColumnTable; plots: WrittenPlots }> {
  const grouped = groupRuns(summary);
  await writeCsvTable(grouped, join(root, "summary_by_method.csv"));
  const curves = await readRunCurves(root, summary.array("run_id") as string[]);
  const ids = summary.array("run_id") as string[];
  const methods = summary.array("method") as string[];
  const methodOf = new Map(ids.map((id, i) => [id, methods[i]!]));
  const figs = reportFigures(grouped, {
    title,
    metrics: curves?.derive({
      method: aq.escape((d: { run_id: string }) => methodOf.get(d.run_id) ?? ""),
    }),
    units: { gold: "VADER compound" },
  });
  const plots = await writePlots(join(root, "plots"), figs, { images: png });
  return { grouped, plots };
}
