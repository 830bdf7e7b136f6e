/**
 * A sweep's report, `<results>/<experiment>/report.html`: one offline page with the
 * frontier (and checkpoint envelopes), over-optimisation (and Gao et al.'s fits, with
 * their table), training curves, the summary with its intervals, each method's best,
 * median and worst held-out completions by gold reward, the config and what the preset and
 * the command line changed, the manifest with its time table, and links to the files.
 *
 * The page loads plotly.js from `plots/plotly.min.js` (written once per results directory
 * by the plots), or embeds it (`plotly: "inline"`, one self-contained file). Every link is
 * relative, to a file of the directory that exists when the page is written.
 *
 * @module
 */
import { join, relative } from "node:path";
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type { Figure } from "../../lib/plot/figure.ts";
import type { WrittenPlots } from "../../lib/plot/report.ts";
import { type ReportSection, writeReportPage } from "../../lib/plot/report_page.ts";
import { PLOTLY_FILE } from "../../lib/plot/html.ts";
import { readRunSamples } from "../../lib/sweep/run_tables.ts";
import { escapeHtml } from "../../lib/util/html_escape.ts";
import { formatValue, tableToHtml } from "../../lib/util/table_format.ts";
import { formatSeconds } from "../../lib/util/progress.ts";
import { type EvalCompletion, exampleCompletions } from "./analysis.ts";
import type { GaoFits } from "./gao_fits.ts";
import { configSections } from "./report_config.ts";
import {
  runTimeLine,
  runTimeTable,
  stageTimeTable,
  SWEEP_MANIFEST,
  type SweepManifest,
} from "./sweep_manifest.ts";

/** File name of the report in a results directory. */
export const REPORT_FILE = "report.html";

/** What {@link writeSweepReport} draws from. */
export interface SweepReportInput {
  /** The experiment's results directory. */
  root: string;
  /** One row per run (`summary.csv`). */
  summary: ColumnTable;
  /** Grouped over seeds (`summary_by_method.csv`). */
  grouped: ColumnTable;
  /** The figures of `plots/`. */
  figs: Record<string, Figure>;
  /** Where they were written. */
  plots: WrittenPlots;
  /** The over-optimisation fits. */
  fits: GaoFits;
  /** Gold reward at matched KL, per method (`matched_kl.csv`). */
  matched?: ColumnTable;
  /** The sweep's manifest. */
  manifest: SweepManifest;
  /** Embed plotly.js (`inline`) or load the plots' shared copy (`beside`, default). */
  plotly?: "beside" | "inline";
}

/** Columns of the summary that are not labels of a group. */
const NOT_LABELS =
  /_(mean|std|ci_lo|ci_hi)$|^(method|beta|n|n_seeds|n_prompts|ci_kind|ci_level|kl_kind|gate_pass_rate)$/;

/** `[lo, hi]` at 3 significant digits; blank when either end is missing. */
function interval(lo: unknown, hi: unknown): string {
  const l = formatValue(lo, { digits: 3 }), h = formatValue(hi, { digits: 3 });
  return l && h ? `[${l}, ${h}]` : "";
}

/** The grouped summary as the report shows it: each headline number with its interval. */
export function summaryDisplay(grouped: ColumnTable): ColumnTable {
  const cols = grouped.columnNames();
  const axes = cols.filter((c) => !NOT_LABELS.test(c));
  const rows = (grouped.objects() as Record<string, unknown>[]).map((g) => {
    const out: Record<string, unknown> = { method: g.method, "β": g.beta ?? null, n: g.n ?? null };
    for (const a of axes) out[a] = g[a] ?? null;
    out.seeds = g.n_seeds ?? null;
    out.prompts = g.n_prompts ?? null;
    for (const [name, m] of [["gold", "reward_gold"], ["proxy", "reward_proxy"], ["KL", "kl"]]) {
      out[name!] = g[`${m}_mean`] ?? null;
      out[`${name} 95%`] = interval(g[`${m}_ci_lo`], g[`${m}_ci_hi`]);
    }
    out["KL kind"] = g.kl_kind ?? null;
    out.interval = g.ci_kind ?? null;
    out.entropy = g.entropy_mean ?? null;
    out["distinct-2"] = g.distinct_2_mean ?? null;
    if (cols.includes("gate_pass_rate")) out["gate passed"] = g.gate_pass_rate ?? null;
    return out;
  });
  return aq.from(rows);
}

/** Every run's held-out completions (runs without readable samples are skipped). */
async function evalCompletions(root: string, summary: ColumnTable): Promise<EvalCompletion[]> {
  const out: EvalCompletion[] = [];
  for (const r of summary.objects() as Record<string, unknown>[]) {
    const id = String(r.run_id);
    let t: ColumnTable;
    try {
      t = await readRunSamples(join(root, id), "eval");
    } catch {
      continue; // a summary built elsewhere (tests, an older kit): no samples to show
    }
    const knob = r.n !== null && r.n !== undefined ? `n=${r.n}` : `β=${r.beta}`;
    for (const s of t.objects() as Record<string, unknown>[]) {
      if (typeof s.gold !== "number") continue;
      out.push({
        run_id: id,
        method: String(r.method),
        label: `${knob}, seed ${r.seed}`,
        prompt: String(s.prompt ?? ""),
        completion: String(s.completion ?? ""),
        gold: s.gold,
        proxy: typeof s.proxy === "number" ? s.proxy : null,
      });
    }
  }
  return out;
}

/** Relative links to the files that exist, as `a · b · c`. */
function links(root: string, paths: readonly string[]): string {
  return paths.map((p) => {
    const rel = relative(root, p);
    return `<a href="${escapeHtml(rel)}">${escapeHtml(rel.split("/").pop() ?? rel)}</a>`;
  }).join(" · ");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** A figure section: the figure, then links to its page and images. */
function figureSection(
  root: string,
  id: string,
  title: string,
  fig: Figure | undefined,
  plots: WrittenPlots,
  extra: ReportSection["blocks"] = [],
): ReportSection | undefined {
  if (!fig) return undefined;
  const mine = (paths: readonly string[]) =>
    paths.filter((p) => p.split("/").pop()!.split(".")[0] === id);
  const files = [...mine(plots.html), ...mine(plots.svg), ...mine(plots.png), ...mine(plots.pdf)];
  return {
    title,
    id,
    blocks: [
      { figure: fig },
      { html: `<p>Files: ${links(root, files)}</p>` },
      ...extra,
    ],
  };
}

/** Key–value rows as a two-column table. */
function keyValues(rows: readonly [string, unknown][]): string {
  return tableToHtml(
    aq.from(rows.map(([k, v]) => ({ field: k, value: v === null ? "" : String(v) }))),
  );
}

/** The manifest section: provenance, machine, wall time, and where the time went. */
function manifestSection(m: SweepManifest): ReportSection {
  const commit = m.kit.commit
    ? `${m.kit.commit.slice(0, 12)}${m.kit.dirty ? " (uncommitted changes)" : ""}`
    : "unknown (not a git checkout)";
  const machine = m.machine;
  return {
    title: "Manifest",
    id: "manifest",
    blocks: [
      {
        html: keyValues([
          ["kit", `${m.kit.version}, commit ${commit}`],
          ["Deno / tfjs", `${m.deno} / ${m.tfjs}`],
          ["backend", `${m.backend} (${m.device})`],
          [
            "machine",
            `${machine.hostname ?? "unknown host"}, ${machine.os}, ${machine.cpus} cores` +
            (machine.memoryGiB === null ? "" : `, ${machine.memoryGiB} GiB`),
          ],
          ["command", m.command.join(" ")],
          ["started / finished", `${m.startedAt ?? "?"} / ${m.finishedAt ?? "?"}`],
          [
            "wall time",
            m.seconds === null
              ? ""
              : `${formatSeconds(m.seconds)} (stages and runs, before the plots)`,
          ],
          ["runs at a time", m.jobs],
        ]),
      },
      ...(m.rebuilt
        ? [{ text: "Rebuilt from the runs' own manifests (the sweep wrote none here)." }]
        : []),
      { html: `<h3>Upstream stages</h3>\n${tableToHtml(stageTimeTable(m))}` },
      { html: `<h3>Runs</h3>\n<p>${escapeHtml(runTimeLine(m))}</p>\n` },
      { html: tableToHtml(runTimeTable(m)) },
    ],
  };
}

/**
 * Write `report.html` into `root` (see the module doc).
 * @returns its path.
 */
export async function writeSweepReport(i: SweepReportInput): Promise<string> {
  const { root, plots } = i;
  const examples = exampleCompletions(await evalCompletions(root, i.summary));
  const fitsNote = i.fits.baseline === undefined
    ? "No fits: the sweep has no best-of-n run with n = 1, which gives the SFT policy's " +
      "gold reward that the gains are measured from."
    : `Gains are measured from the SFT policy's gold reward, ${
      formatValue(i.fits.baseline, { digits: 3 })
    } (best-of-n with n = 1). α is the initial slope, β the bend; R² on the fitted points.`;
  const sections: (ReportSection | undefined)[] = [
    figureSection(
      root,
      "frontier",
      "Reward–KL frontier",
      i.figs.frontier,
      plots,
      i.matched
        ? [
          { html: `<h3>Gold reward at matched KL</h3>\n${tableToHtml(i.matched)}` },
          {
            text: "Each method's checkpoint envelope (its runs' final points for best-of-n) " +
              "read at the same KL; empty where the method did not reach that KL. The " +
              "envelope takes the best checkpoint over every β and seed, so read it as the " +
              "best each method reached, compared at equal cost.",
          },
        ]
        : undefined,
    ),
    figureSection(root, "overoptimisation", "Over-optimisation", i.figs.overoptimisation, plots, [
      { html: `<h3>Gao et al. (2023) fits</h3>\n${tableToHtml(i.fits.table)}` },
      { text: fitsNote },
    ]),
    {
      title: "Summary",
      id: "summary",
      blocks: [
        {
          text: "One row per method and β or n, over seeds. 95% intervals: a t-interval over " +
            "seeds where a row has several (interval t), else the run's bootstrap interval " +
            "over its evaluation prompts (interval bootstrap). Best-of-n's KL is analytic " +
            "(log n − (n−1)/n); the others' is estimated from samples.",
        },
        { html: tableToHtml(summaryDisplay(i.grouped)) },
      ],
    },
    figureSection(root, "curves", "Training curves", i.figs.curves, plots),
    {
      title: "Example completions",
      id: "samples",
      blocks: examples.length
        ? [
          {
            text: "Each method's best, median and worst held-out completion by gold reward, " +
              "over all its runs.",
          },
          {
            html: tableToHtml(
              aq.from(examples.map((e) => ({
                method: e.method,
                which: e.which,
                run: e.label,
                prompt: e.prompt,
                completion: e.completion,
                gold: e.gold,
                proxy: e.proxy,
              }))),
            ),
          },
        ]
        : [{ text: "No held-out completions found beside the summary." }],
    },
    ...(await configSections(root, i.summary, i.manifest)),
    manifestSection(i.manifest),
  ];
  const files = [
    "summary.csv",
    "summary_by_method.csv",
    "gao_fits.csv",
    SWEEP_MANIFEST,
    "sweep.json",
  ].map((f) => join(root, f));
  const present = [];
  for (const f of files) if (await exists(f)) present.push(f);
  sections.push({
    title: "Files",
    id: "files",
    blocks: [{
      html: `<p>${links(root, present)}</p>\n<p>Run directories hold config.json, ` +
        `manifest.json, metrics.csv, summary.csv and samples.jsonl.</p>`,
    }],
  });
  const name = root.split("/").filter(Boolean).pop() ?? "sweep";
  const m = i.manifest;
  const path = join(root, REPORT_FILE);
  await writeReportPage(path, sections.filter((s): s is ReportSection => s !== undefined), {
    title: `${name}: sweep report`,
    subtitle: `preset ${m.preset} · ${i.summary.numRows()} runs · backend ${m.backend}` +
      (m.seconds === null ? "" : ` · wall time ${formatSeconds(m.seconds)}`),
    plotly: i.plotly === "inline"
      ? "inline"
      : { src: relative(root, plots.plotly ?? join(root, "plots", PLOTLY_FILE)) },
  });
  return path;
}
