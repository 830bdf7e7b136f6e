/**
 * Run the canonical experiment: upstream stages in this process, then every method run
 * of this shard — in this process (`jobs` 1) or in parallel worker processes — then the
 * experiment's summary tables and plots. Failed runs are reported at the end; the others
 * still finish.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import type { CanonicalConfig } from "./config.ts";
import { runUpstream, type Upstream, writeJson } from "./stages.ts";
import { enumerateRuns, executeRun, type RunSpec } from "./runs.ts";
import { runPool, spawnDeno } from "../../lib/sweep/pool.ts";
import { shardItems } from "../../lib/sweep/shard.ts";
import type { Shard } from "../../lib/sweep/shard.ts";
import { readCsvTable, summariseOverSeeds, writeCsvTable } from "../../lib/sweep/results_table.ts";
import { reportFigures, writePlots, type WrittenPlots } from "../../lib/plot/report.ts";
import { KitError } from "../../lib/util/errors.ts";

/** How to run a sweep. */
export interface SweepOptions {
  /** Experiment name: results go to `<results>/<experiment>/`. */
  experiment: string;
  config: CanonicalConfig;
  /** Results root (default `results`). */
  results: string;
  /** Parallel worker processes for the method runs (1: in this process). */
  jobs: number;
  shard?: Shard;
  /** Write PNGs beside the HTML plots when a Chromium exists. */
  png?: boolean;
  log?: (m: string) => void;
}

/** What a sweep leaves behind. */
export interface SweepResult {
  root: string;
  upstream: Upstream;
  runs: RunSpec[];
  failed: { run: RunSpec; error: string }[];
  /** One row per run of this shard. */
  summary: aq.ColumnTable;
  summaryPath: string;
  /** Means and 95% intervals over seeds. */
  grouped?: aq.ColumnTable;
  plots?: WrittenPlots;
}

/** Run (or resume) the sweep. */
export async function sweep(o: SweepOptions): Promise<SweepResult> {
  const log = o.log ?? ((m: string) => console.error(m));
  const root = join(o.results, o.experiment);
  const cache = join(root, ".cache");
  await Deno.mkdir(cache, { recursive: true });
  log(`results: ${root}`);
  const upstream = await runUpstream(cache, o.config, log);
  const all = enumerateRuns(o.experiment, o.config);
  const runs = o.shard ? shardItems(all, o.shard.index, o.shard.count) : all;
  log(`${runs.length} of ${all.length} runs in this shard, ${o.jobs} at a time`);

  const jobDir = join(cache, "jobs");
  await Deno.mkdir(jobDir, { recursive: true });
  const report = await runPool(runs, {
    jobs: o.jobs,
    run: async (r) => {
      if (o.jobs === 1) {
        await executeRun(cache, root, o.config, upstream, r, log);
        return;
      }
      const job = join(jobDir, `${r.id}.json`);
      await writeJson(job, { cache, root, config: o.config, upstream, run: r });
      const code = await spawnDeno([new URL("./worker.ts", import.meta.url).pathname, job], {
        // The worker writes only under this experiment's results (and temp files).
        permissions: [
          "--allow-read",
          `--allow-write=${root},/tmp`,
          "--allow-env",
          "--allow-run",
          "--allow-sys",
        ],
        prefix: `${r.method} ${r.beta ?? `n${r.n}`} s${r.seed}`,
      });
      if (code !== 0) throw new KitError(`worker exited with code ${code}`);
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
    upstream,
    runs,
    failed: report.failed.map((f) => ({ run: f.task, error: f.error.message })),
    summary,
    summaryPath,
  };
  if (summary.numRows() === 0) return out;
  await writeCsvTable(summary, summaryPath);
  if (!o.shard) {
    Object.assign(out, await summariseAndPlot(root, summary, o.png));
  }
  return out;
}

/** Group over seeds, write `summary_by_method.csv`, and draw the plots of an experiment. */
export async function summariseAndPlot(
  root: string,
  summary: aq.ColumnTable,
  png = true,
  title = root.split("/").filter(Boolean).pop() ?? "experiment",
): Promise<{ grouped: aq.ColumnTable; plots: WrittenPlots }> {
  const metrics = ["reward_gold", "reward_proxy", "kl", "entropy", "distinct_2", "length"]
    .filter((m) => summary.columnNames().includes(m));
  const withKeys = summary.derive({
    beta: (d: { beta: number | null }) => d.beta,
    n: (d: { n: number | null }) => d.n,
  });
  const grouped = summariseOverSeeds(withKeys, { groupBy: ["method", "beta", "n"], metrics });
  await writeCsvTable(grouped, join(root, "summary_by_method.csv"));
  const curves = await runCurves(root, summary.array("run_id") as string[]);
  const figs = reportFigures(grouped, { title, metrics: curves });
  const plots = await writePlots(join(root, "plots"), figs, { png });
  return { grouped, plots };
}

/** Step metrics of the given runs, stacked with a `run_id` column. */
async function runCurves(
  root: string,
  ids: readonly string[],
): Promise<aq.ColumnTable | undefined> {
  const tables: aq.ColumnTable[] = [];
  for (const id of ids) {
    try {
      const t = await readCsvTable(join(root, id, "metrics.csv"));
      if (t.numRows() > 1) tables.push(t.derive({ run_id: aq.escape(() => id) }));
    } catch {
      // a run without step metrics (best-of-n) has nothing to draw
    }
  }
  if (!tables.length) return undefined;
  return tables.reduce((a, b) => a.concat(b));
}
