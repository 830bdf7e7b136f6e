/**
 * The standard plots of a results directory: the reward–KL frontier, gold and proxy
 * reward against KL (over-optimisation), and training curves per method. Each is written
 * as an HTML page that loads the one `plotly.min.js` of its directory (or embeds it), and,
 * where a Chromium is found, as SVG, PNG and PDF at paper-column and slide sizes.
 *
 * @module
 */
import { join } from "node:path";
import type { ColumnTable } from "arquero";
import type { Figure } from "./figure.ts";
import { frontierFigure, type OraclePoint } from "./frontier.ts";
import { overoptimisationFigure } from "./overoptimisation.ts";
import type { CurvePoint, FittedCurve } from "./overlays.ts";
import { curvesFigure } from "./curves.ts";
import { type PlotlySource, writeFigureHtml, writePlotlyBundle } from "./html.ts";
import { exportImages, type ImageFormat } from "./image.ts";
import type { SizeName } from "./size_figure.ts";
import { plainText, type RewardUnits } from "./style.ts";
import { stackTables } from "../sweep/run_tables.ts";

/** Training-curve metrics shown when present, in this order. */
export const CURVE_METRICS = [
  "reward/gold",
  "reward/proxy",
  "kl/ref",
  "kl/beta",
  "loss/policy",
  "loss/value",
  "loss/dpo",
  "rewards/chosen",
  "rewards/rejected",
  "rewards/margin",
  "rewards/accuracy",
  "ppo/clipfrac",
  "ppo/approx_kl",
] as const;

/** Options of {@link reportFigures}. */
export interface ReportOptions {
  /** Experiment name, the start of every title. */
  title: string;
  /** The exact frontier, where known. */
  oracle?: readonly OraclePoint[];
  /**
   * Step metrics with a `run_id` (and ideally `method`) column: one table, or one per run
   * (stacked keeping every run's columns).
   */
  metrics?: ColumnTable | readonly ColumnTable[];
  /** Units of the reward axes (e.g. `{gold: "VADER compound"}`). */
  units?: RewardUnits;
  /** Draw t-intervals from 2 seeds too (default false). */
  smallSampleIntervals?: boolean;
  /** Checkpoint evaluations, drawn faintly on the frontier and the over-optimisation gold panel. */
  checkpoints?: readonly CurvePoint[];
  /** Each method's checkpoint envelope (its vertices in KL order), drawn on the frontier. */
  envelope?: readonly CurvePoint[];
  /** Fitted over-optimisation curves, drawn on the over-optimisation figure's gold panel. */
  fits?: readonly FittedCurve[];
  /**
   * Column naming a series in the summary and the metrics (the sweep, in a comparison):
   * traces are per method and series, coloured by method and dashed by series.
   */
  series?: string;
}

/**
 * Figures from a summary table (one row per run or group; columns as in `intervals.ts`)
 * and optional step metrics: `frontier`, `overoptimisation` (with a proxy column) and
 * `curves` (with metrics).
 */
export function reportFigures(summary: ColumnTable, opts: ReportOptions): Record<string, Figure> {
  const label = ["beta", "n"].filter((c) => summary.columnNames().includes(c));
  const common = {
    units: opts.units,
    smallSampleIntervals: opts.smallSampleIntervals,
    series: opts.series,
  };
  const figs: Record<string, Figure> = {
    frontier: frontierFigure(summary, {
      ...common,
      label,
      oracle: opts.oracle,
      checkpoints: opts.checkpoints,
      envelope: opts.envelope,
      title: `${opts.title}: gold reward vs KL(π ‖ π<sub>ref</sub>)`,
    }),
  };
  if (summary.columnNames().some((c) => c.startsWith("reward_proxy"))) {
    figs.overoptimisation = overoptimisationFigure(summary, {
      ...common,
      fits: opts.fits,
      checkpoints: opts.checkpoints,
      title: `${opts.title}: proxy and gold reward vs KL (over-optimisation)`,
    });
  }
  const metrics = opts.metrics === undefined
    ? undefined
    : Array.isArray(opts.metrics)
    ? stackTables(opts.metrics as readonly ColumnTable[])
    : opts.metrics as ColumnTable;
  if (metrics && metrics.numRows() > 0) {
    const names = metrics.columnNames();
    const ys = CURVE_METRICS.filter((m) => names.includes(m));
    if (ys.length) {
      figs.curves = curvesFigure(metrics, {
        ys,
        run: names.includes("run_id") ? "run_id" : undefined,
        units: opts.units,
        series: opts.series !== undefined && names.includes(opts.series) ? opts.series : undefined,
        title: `${opts.title}: training curves`,
      });
    }
  }
  return figs;
}

/** Where each written plot is, and why images are missing if they are. */
export interface WrittenPlots {
  /** HTML pages. */
  html: string[];
  /** PNG images (`<name>.<size>.png`). */
  png: string[];
  /** SVG images. */
  svg: string[];
  /** PDF images. */
  pdf: string[];
  /** The shared plotly.js, when the pages load it from beside them. */
  plotly?: string;
  /** Why images are missing (no Chromium, images turned off, a browser failure). */
  imagesSkipped?: string;
  /** Same as `imagesSkipped` (its older name). */
  pngSkipped?: string;
}

/** Options of {@link writePlots}. */
export interface WritePlotsOptions {
  /** Write images beside the HTML (default true). */
  images?: boolean;
  /** Same as `images` (its older name). */
  png?: boolean;
  /** Image sizes (default `paper` and `slide`). */
  sizes?: readonly SizeName[];
  /** Image formats (default svg and png, plus pdf at the paper size). */
  formats?: readonly ImageFormat[];
  /**
   * Where the pages get plotly.js (default `beside`: one `<dir>/plotly.min.js` shared by
   * every page; `inline` makes each page self-contained, 4.6 MB each).
   */
  plotly?: PlotlySource;
}

/**
 * Write every figure as `<dir>/<name>.html`, and as `<dir>/<name>.<size>.{svg,png,pdf}`
 * where a Chromium renders them.
 */
export async function writePlots(
  dir: string,
  figs: Record<string, Figure>,
  opts: WritePlotsOptions = {},
): Promise<WrittenPlots> {
  await Deno.mkdir(dir, { recursive: true });
  const out: WrittenPlots = { html: [], png: [], svg: [], pdf: [] };
  const plotly = opts.plotly ?? "beside";
  if (plotly === "beside") out.plotly = await writePlotlyBundle(dir);
  for (const [name, fig] of Object.entries(figs)) {
    const html = join(dir, `${name}.html`);
    const title = plainText(fig.layout.title?.text ?? name);
    await writeFigureHtml(html, fig, { title, plotly: plotly === "beside" ? "beside" : plotly });
    out.html.push(html);
  }
  if ((opts.images ?? opts.png) === false) {
    out.imagesSkipped = out.pngSkipped = "images turned off";
    return out;
  }
  const images = await exportImages(
    Object.entries(figs).map(([name, fig]) => ({ fig, base: join(dir, name) })),
    { sizes: opts.sizes, formats: opts.formats },
  );
  out.png = images.png;
  out.svg = images.svg;
  out.pdf = images.pdf;
  if (images.skipped) out.imagesSkipped = out.pngSkipped = images.skipped;
  return out;
}
