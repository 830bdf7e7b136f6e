/**
 * `deno task merge <experiment dir> [--allow-partial]`, `deno task plots <dir>` and
 * `deno task compare <dirs...> [--out FILE]`: work on saved results only (no training).
 *
 * - merge joins the per-shard `summary.shard-i-of-n.csv` files of a sharded sweep into
 *   `summary.csv`, then writes `summary_by_method.csv` and the plots. It checks coverage
 *   first (lib/sweep/shard.ts `checkShards`): every shard of one grid, each file as its
 *   shard wrote it, no failed run. A missing, duplicated, stale or mismatched shard is
 *   refused with one line naming it, unless `--allow-partial`: then the rest is merged and
 *   the missing runs are listed (and recorded in `merge.json`);
 * - plots regenerates `summary_by_method.csv` and `plots/` from `summary.csv` and the runs;
 * - compare overlays several experiments or runs in one HTML report: the frontier and the
 *   training curves of all of them, and a table of the config values that differ.
 *
 * @module
 */
import { basename, join } from "node:path";
import * as aq from "arquero";
import { readCsvTable, writeCsvTable } from "../lib/sweep/results_table.ts";
import { checkShards } from "../lib/sweep/shard.ts";
import { checkRunId, checkUserPath } from "../lib/sweep/paths.ts";
import { sweepTempFiles } from "../lib/sweep/temp_files.ts";
import { writeJson } from "../lib/sweep/json_file.ts";
import { summariseAndPlot } from "./canonical/execute.ts";
import { SUMMARY_METRICS } from "./canonical/analysis.ts";
import { sortSummaryRows } from "./canonical/collect.ts";
import { readJson } from "../lib/sweep/json_file.ts";
import { configDifferences, flattenConfig, stackTables } from "../lib/sweep/run_tables.ts";
import { reportFigures } from "../lib/plot/report.ts";
import { figureHtml } from "../lib/plot/html.ts";
import { escapeHtml } from "../lib/util/html_escape.ts";
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

/** Regenerate an experiment's grouped summary and plots from its saved results. */
export async function plots(root: string): Promise<string[]> {
  checkUserPath(root, "deno task plots");
  await sweepTempFiles(root, { tmpDir: null });
  const path = join(root, "summary.csv");
  if (!(await isFile(path))) {
    throw new FileFormatError(`${path} does not exist: run a sweep (or deno task merge) first`);
  }
  const { plots } = await summariseAndPlot(root, await readCsvTable(path));
  return [...plots.html, ...plots.png];
}

/** One compared source: its summary rows, step metrics and flattened config. */
interface Source {
  name: string;
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
      if (m.numRows() > 1) {
        metrics.push(m.derive({ run_id: aq.escape(() => `${name}/${basename(rd)}`) }));
      }
    }
    if (!Object.keys(config).length && (await isFile(join(rd, "config.json")))) {
      const c = await readJson<Record<string, unknown>>(join(rd, "config.json"));
      config = flattenConfig(runDirs.length === 1 ? c.runConfig : c.experimentConfig);
    }
  }
  return { name, summary, metrics, config };
}

/** Write one HTML report comparing `dirs`. */
export async function compare(dirs: readonly string[], out: string): Promise<string> {
  if (dirs.length < 1) throw new KitError("compare needs at least one results directory");
  checkUserPath(out, "--out");
  if (await Deno.stat(out).then((s) => s.isDirectory, () => false)) {
    throw new ConfigError(
      `--out ${out} is a directory; give the report's file name, e.g. ${join(out, "report.html")}`,
    );
  }
  const sources = await Promise.all(dirs.map(loadSource));
  // Name each source by its last path component, with its parents where that is ambiguous.
  for (
    let depth = 2;
    new Set(sources.map((s) => s.name)).size < sources.length && depth < 6;
    depth++
  ) {
    sources.forEach((
      s,
      i,
    ) => (s.name = dirs[i]!.replace(/\/+$/, "").split("/").slice(-depth).join("/")));
  }
  const names = sources.map((s) => s.name);
  if (new Set(names).size !== names.length) {
    throw new KitError("compare: a directory is given twice");
  }
  const rows = sources.flatMap((s) =>
    (s.summary.objects() as Record<string, unknown>[]).map((r) => ({
      ...r,
      method: `${s.name}: ${r.method}`,
    }))
  );
  const summary = aq.from(rows);
  const metrics = sources.flatMap((s) => s.metrics);
  const figs = reportFigures(summary, {
    title: "comparison",
    metrics: metrics.length ? stackTables(metrics) : undefined,
  });
  const diffs = configDifferences(sources);
  const table = diffs.length
    ? `<h2>Config differences</h2>\n<table border="1" cellpadding="4"><tr><th>key</th>${
      names.map((n) => `<th>${escapeHtml(n)}</th>`).join("")
    }</tr>\n${
      diffs.map((d) =>
        `<tr><td>${escapeHtml(String(d.key))}</td>${
          names.map((n) => `<td>${escapeHtml(String(d[n]))}</td>`).join("")
        }</tr>`
      ).join("\n")
    }</table>`
    : "<h2>Config differences</h2><p>none: the configs are identical</p>";
  const html = figureHtml(Object.values(figs), { title: `Comparison: ${names.join(" vs ")}` })
    .replace("</body>", `${table}\n</body>`);
  await writeTextAtomic(out, html);
  return out;
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
        if (rest.length !== 1) throw new KitError("usage: deno task plots <results dir>");
        for (const p of await plots(rest[0]!)) console.log(`plot: ${p}`);
        return;
      }
      case "compare": {
        const outAt = rest.indexOf("--out");
        const out = outAt >= 0 ? rest[outAt + 1] : "results/compare/report.html";
        if (!out) throw new KitError("--out needs a file name");
        const dirs = rest.filter((_, i) => i !== outAt && i !== outAt + 1);
        if (!dirs.length) {
          throw new KitError("usage: deno task compare <run-or-experiment dirs...> [--out FILE]");
        }
        console.log(`report: ${await compare(dirs, out)}`);
        return;
      }
      default:
        throw new KitError(
          `unknown command ${JSON.stringify(command)}; use merge, plots or compare`,
        );
    }
  });
}
