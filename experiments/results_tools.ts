/**
 * `deno task merge <experiment dir> [--allow-partial]`, `deno task plots <dir>` and
 * `deno task compare <dirs...> [--out FILE]`: work on saved results only (no training).
 *
 * - merge joins the per-shard `summary.shard-i-of-n.csv` files of a sharded sweep into
 *   `summary.csv`, then writes `summary_by_method.csv` and the plots. It checks coverage
 *   first (lib/sweep/shard_check.ts `checkShards`): every shard of one grid, each file as its
 *   shard wrote it, no failed run. A missing, duplicated, stale or mismatched shard is
 *   refused with one line naming it, unless `--allow-partial`: then the rest is merged and
 *   the missing runs are listed (and recorded in `merge.json`);
 * - plots regenerates `summary_by_method.csv`, `gao_fits.csv`, `plots/` and `report.html`
 *   from `summary.csv` and the runs (`--single-file`: the report embeds plotly.js);
 * - compare overlays several experiments or runs in one HTML page: the frontier,
 *   over-optimisation and training curves of all of them — colours by method, line dash by
 *   sweep, every legend entry naming its sweep (its directory name, or `--label a,b`) — and
 *   a table of the config values that differ.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import * as aq from "arquero";
import { readCsvTable, writeCsvTable } from "../lib/sweep/results_table.ts";
import { checkShards } from "../lib/sweep/shard_check.ts";
import { checkRunId, checkUserPath } from "../lib/sweep/paths.ts";
import { sweepTempFiles } from "../lib/sweep/temp_files.ts";
import { writeJson } from "../lib/sweep/json_file.ts";
import { summariseAndPlot } from "./canonical/summarise.ts";
import { groupRuns, SUMMARY_METRICS } from "./canonical/analysis.ts";
import { sortSummaryRows } from "./canonical/collect.ts";
import { readJson } from "../lib/sweep/json_file.ts";
import { configDifferences, flattenConfig, stackTables } from "../lib/sweep/run_tables.ts";
import { reportFigures } from "../lib/plot/report.ts";
import { reportPage, type ReportSection } from "../lib/plot/report_page.ts";
import { PLOTLY_FILE, writePlotlyBundle } from "../lib/plot/html.ts";
import { tableToHtml } from "../lib/util/table_format.ts";
import { writeTextAtomic } from "../lib/util/atomic_write.ts";
import { ConfigError, FileFormatError, KitError } from "../lib/util/errors.ts";
import { runCli } from "./cli.ts";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** What {@link merge} did. */
export interface MergeResult {
  /** Runs merged into summary.csv. */
  rows: number;
  /** Runs of the grid. */
  gridRuns: number;
  /** Shards merged, of `count`. */
  shards: number[];
  /** Number of shards of the grid. */
  count: number;
  /** Runs of the grid not merged (only with `allowPartial`). */
  missing: string[];
  /** What `allowPartial` accepted, one line each. */
  problems: string[];
}

/**
 * Merge the shard summaries of `root` into `summary.csv` and redraw, after checking that
 * they cover the grid (see the module doc).
 * @throws FileFormatError naming what is missing, duplicated, stale or mismatched.
 */
export async function merge(
  root: string,
  opts: { allowPartial?: boolean } = {},
): Promise<MergeResult> {
  checkUserPath(root, "deno task merge");
  await sweepTempFiles(root, { tmpDir: null });
  const check = await checkShards(root, opts);
  const cols = [...new Set(check.rows.flatMap((r) => Object.keys(r)))];
  const head = ["run_id", "method", "beta", "n", "seed"];
  const axes = cols.filter((c) =>
    !head.includes(c) && !(SUMMARY_METRICS as readonly string[]).includes(c)
  );
  const rows = sortSummaryRows(check.rows, axes);
  await writeJson(join(root, "merge.json"), {
    grid: check.grid,
    count: check.count,
    merged: check.merged,
    missing: check.missing,
    problems: check.problems,
  });
  if (rows.length) {
    const table = aq.from(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null]))));
    await writeCsvTable(table, join(root, "summary.csv"));
    await summariseAndPlot(root, table);
  }
  return {
    rows: rows.length,
    gridRuns: rows.length + check.missing.length,
    shards: check.merged,
    count: check.count,
    missing: check.missing,
    problems: check.problems,
  };
}

/**
 * Regenerate an experiment's grouped summary, fits, plots and report from its saved results.
 * @param opts `singleFile`: the report embeds plotly.js instead of sharing the plots' copy.
 * @returns the report, then the plot pages and PNG images.
 */
export async function plots(root: string, opts: { singleFile?: boolean } = {}): Promise<string[]> {
  checkUserPath(root, "deno task plots");
  await sweepTempFiles(root, { tmpDir: null });
  const path = join(root, "summary.csv");
  if (!(await isFile(path))) {
    throw new FileFormatError(`${path} does not exist: run a sweep (or deno task merge) first`);
  }
  const { plots, report } = await summariseAndPlot(root, await readCsvTable(path), undefined, {
    inlinePlotly: opts.singleFile,
  });
  return [report, ...plots.html, ...plots.png];
}

/** One compared source: its name, summary rows, step metrics and flattened config. */
interface Source {
  name: string;
  dir: string;
  summary: aq.ColumnTable;
  metrics: aq.ColumnTable[];
  config: Record<string, unknown>;
}

async function loadSource(dir: string): Promise<Source> {
  const name = basename(dir.replace(/\/+$/, ""));
  const summaryPath = join(dir, "summary.csv");
  if (!(await isFile(summaryPath))) {
    throw new FileFormatError(
      `${dir} has no summary.csv: give a run or experiment results directory`,
    );
  }
  const summary = await readCsvTable(summaryPath);
  const runDirs = (await isFile(join(dir, "config.json")))
    ? [dir]
    : (summary.array("run_id") as unknown[]).map((id) =>
      join(dir, checkRunId(id, `${summaryPath}: run_id`))
    );
  const metrics: aq.ColumnTable[] = [];
  let config: Record<string, unknown> = {};
  for (const rd of runDirs) {
    if (await isFile(join(rd, "metrics.csv"))) {
      const m = await readCsvTable(join(rd, "metrics.csv"));
      if (m.numRows() > 1) metrics.push(m.derive({ run_id: aq.escape(() => basename(rd)) }));
    }
    if (!Object.keys(config).length && (await isFile(join(rd, "config.json")))) {
      const c = await readJson<Record<string, unknown>>(join(rd, "config.json"));
      config = flattenConfig(runDirs.length === 1 ? c.runConfig : c.experimentConfig);
    }
  }
  return { name, dir, summary, metrics, config };
}

/** Options of {@link compare}. */
export interface CompareOptions {
  /** Legend names of the sources, one per directory (default: their directory names). */
  labels?: readonly string[];
  /** Embed plotly.js in the page (default: `plotly.min.js` written beside it). */
  singleFile?: boolean;
}

/**
 * Write one HTML page comparing `dirs` (see the module doc).
 * @throws ConfigError for an `--out` that is a directory or labels that do not match the
 *   directories; FileFormatError for a directory without a summary; KitError for a
 *   directory given twice.
 */
export async function compare(
  dirs: readonly string[],
  out: string,
  opts: CompareOptions = {},
): Promise<string> {
  if (dirs.length < 1) throw new KitError("compare needs at least one results directory");
  checkUserPath(out, "--out");
  if (await Deno.stat(out).then((s) => s.isDirectory, () => false)) {
    throw new ConfigError(
      `--out ${out} is a directory; give the report's file name, e.g. ${join(out, "report.html")}`,
    );
  }
  const labels = opts.labels;
  if (labels) {
    if (labels.length !== dirs.length || labels.some((l) => !l.trim())) {
      throw new ConfigError(
        `--label ${labels.join(",")}: give one non-empty label per directory ` +
          `(${dirs.length} directories, ${labels.length} label${labels.length === 1 ? "" : "s"})`,
      );
    }
    if (new Set(labels).size !== labels.length) {
      throw new ConfigError(`--label ${labels.join(",")}: the labels must differ`);
    }
  }
  const sources = await Promise.all(dirs.map(loadSource));
  // Name each source by its last path component, with its parents where that is ambiguous.
  for (
    let depth = 2;
    new Set(sources.map((s) => s.name)).size < sources.length && depth < 6;
    depth++
  ) {
    sources.forEach((s, i) => {
      s.name = dirs[i]!.replace(/\/+$/, "").split("/").slice(-depth).join("/");
    });
  }
  if (new Set(sources.map((s) => s.name)).size !== sources.length) {
    throw new KitError("compare: a directory is given twice");
  }
  if (labels) sources.forEach((s, i) => (s.name = labels[i]!));
  const names = sources.map((s) => s.name);
  // Each source grouped over its seeds, then stacked with a sweep column: traces are per
  // method and sweep, coloured by method and dashed by sweep.
  const summary = stackTables(
    sources.map((s) => groupRuns(s.summary).derive({ sweep: aq.escape(() => s.name) })),
  );
  const metrics = sources.flatMap((s) => {
    const methodOf = new Map(
      (s.summary.objects() as Record<string, unknown>[]).map((r) => [r.run_id, r.method]),
    );
    return s.metrics.map((m) =>
      m.derive({
        method: aq.escape((d: { run_id: string }) => String(methodOf.get(d.run_id) ?? "")),
        sweep: aq.escape(() => s.name),
        run_id: aq.escape((d: { run_id: string }) => `${s.name}/${d.run_id}`),
      })
    );
  });
  const figs = reportFigures(summary, {
    title: `${names.join(" vs ")}`,
    metrics: metrics.length ? stackTables(metrics) : undefined,
    units: { gold: "VADER compound" },
    series: "sweep",
  });
  const diffs = configDifferences(sources);
  const sections: ReportSection[] = [
    ...(["frontier", "overoptimisation", "curves"] as const).filter((k) => figs[k]).map((k) => ({
      title: {
        frontier: "Reward–KL frontier",
        overoptimisation: "Over-optimisation",
        curves: "Training curves",
      }[k],
      id: k,
      blocks: [{ figure: figs[k]! }],
    })),
    {
      title: "Config differences",
      id: "config",
      blocks: diffs.length
        ? [{
          // values as the configs hold them (5e-4 stays 0.0005), not rounded
          html: tableToHtml(
            aq.from(
              diffs.map((d) =>
                Object.fromEntries(Object.entries(d).map(([k, v]) => [k, String(v)]))
              ),
            ),
          ),
        }]
        : [{ text: "None: the configs are identical." }],
    },
    {
      title: "Sources",
      id: "sources",
      blocks: [{
        html: tableToHtml(aq.from(sources.map((s) => ({ name: s.name, directory: s.dir })))),
      }],
    },
  ];
  if (!opts.singleFile) await writePlotlyBundle(dirname(out));
  const html = reportPage(sections, {
    title: `Comparison: ${names.join(" vs ")}`,
    subtitle: "Colours by method, line dash by sweep: " +
      names.map((n, i) => `${n} ${["solid", "dashed", "dotted", "dash-dot", "long-dashed"][i % 5]}`)
        .join(", ") +
      ".",
    plotly: opts.singleFile ? "inline" : { src: PLOTLY_FILE },
  });
  await writeTextAtomic(out, html);
  return out;
}

/** `--label a,b` and `--out FILE` and `--single-file` out of the arguments; the rest. */
function compareArgs(args: readonly string[]): {
  dirs: string[];
  out: string;
  labels?: string[];
  singleFile: boolean;
} {
  const dirs: string[] = [];
  let out = "results/compare/report.html", labels: string[] | undefined, singleFile = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--out" || a === "--label") {
      const v = args[++i];
      if (v === undefined) {
        throw new KitError(a === "--out" ? "--out needs a file name" : "--label needs a,b,…");
      }
      if (a === "--out") out = v;
      else labels = v.split(",");
    } else if (a === "--single-file") singleFile = true;
    else dirs.push(a);
  }
  return { dirs, out, ...(labels ? { labels } : {}), singleFile };
}

if (import.meta.main) {
  await runCli(async () => {
    const [command, ...rest] = Deno.args;
    switch (command) {
      case "merge": {
        const allowPartial = rest.includes("--allow-partial");
        const dirs = rest.filter((a) => a !== "--allow-partial");
        if (dirs.length !== 1 || dirs[0]!.startsWith("--")) {
          throw new KitError("usage: deno task merge <experiment results dir> [--allow-partial]");
        }
        const res = await merge(dirs[0]!, { allowPartial });
        const into = res.rows ? ` into ${join(dirs[0]!, "summary.csv")}` : "";
        console.log(
          `merged ${res.rows} of ${res.gridRuns} runs from ${res.shards.length} of ${res.count} ` +
            `shards${into}`,
        );
        if (res.missing.length) {
          console.log(`missing ${res.missing.length} run(s): ${res.missing.join(", ")}`);
          for (const p of res.problems) console.log(`  ${p}`);
        }
        return;
      }
      case "plots": {
        const singleFile = rest.includes("--single-file");
        const dirs = rest.filter((a) => a !== "--single-file");
        if (dirs.length !== 1) {
          throw new KitError("usage: deno task plots <results dir> [--single-file]");
        }
        const [report, ...files] = await plots(dirs[0]!, { singleFile });
        console.log(`report: ${report}`);
        for (const p of files) console.log(`plot: ${p}`);
        return;
      }
      case "compare": {
        const { dirs, out, labels, singleFile } = compareArgs(rest);
        if (!dirs.length) {
          throw new KitError(
            "usage: deno task compare <run-or-experiment dirs...> [--label a,b] [--out FILE] " +
              "[--single-file]",
          );
        }
        console.log(`report: ${await compare(dirs, out, { labels, singleFile })}`);
        return;
      }
      default:
        throw new KitError(
          `unknown command ${JSON.stringify(command)}; use merge, plots or compare`,
        );
    }
  });
}
