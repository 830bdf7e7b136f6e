/**
 * The standard plots of a results directory: the reward–KL frontier, gold vs proxy
 * reward against KL (over-optimisation), and training curves per method. Each is written
 * as a standalone HTML file (plotly.js inline, opens offline) and, where a Chromium is
 * found, as a PNG beside it.
 *
 * @module
 */
import { join } from "node:path";
import type { ColumnTable } from "arquero";
import type { Figure } from "./figure.ts";
import { frontierFigure, type OraclePoint, overoptimisationFigure } from "./frontier.ts";
import { curvesFigure } from "./curves.ts";
import { writeFigureHtml } from "./html.ts";
import { renderPng } from "./png.ts";

/** Training-curve metrics shown when present, in this order. */
export const CURVE_METRICS = [
  "reward/gold",
  "reward/proxy",
  "kl/ref",
  "kl/beta",
  "loss/policy",
  "loss/value",
  "loss/dpo",
  "rewards/margin",
  "rewards/accuracy",
  "ppo/clipfrac",
  "ppo/approx_kl",
] as const;

/** Figures from a summary table (one row per run or group) and optional step metrics. */
export function reportFigures(
  summary: ColumnTable,
  opts: { title: string; oracle?: readonly OraclePoint[]; metrics?: ColumnTable },
): Record<string, Figure> {
  const label = ["beta", "n"].filter((c) => summary.columnNames().includes(c));
  const figs: Record<string, Figure> = {
    frontier: frontierFigure(summary, {
      label,
      oracle: opts.oracle,
      title: `${opts.title}: gold reward vs KL(π‖π_ref)`,
    }),
  };
  if (summary.columnNames().some((c) => c.startsWith("reward_proxy"))) {
    figs.overoptimisation = overoptimisationFigure(summary, {
      title: `${opts.title}: gold and proxy reward vs KL (over-optimisation)`,
    });
  }
  if (opts.metrics && opts.metrics.numRows() > 0) {
    const ys = CURVE_METRICS.filter((m) => opts.metrics!.columnNames().includes(m));
    if (ys.length) {
      figs.curves = curvesFigure(opts.metrics, {
        ys,
        run: opts.metrics.columnNames().includes("run_id") ? "run_id" : undefined,
        title: `${opts.title}: training curves`,
      });
    }
  }
  return figs;
}

/** Where each written plot is, and why PNGs are missing if they are. */
export interface WrittenPlots {
  /** Paths of the written HTML files. */
  html: string[];
  /** Paths of the written PNG files. */
  png: string[];
  /** Why no PNGs were written (no Chromium found, or rendering failed), if none were. */
  pngSkipped?: string;
}

/** Write every figure as `<dir>/<name>.html` (+ `.png` when a Chromium renders it). */
export async function writePlots(
  dir: string,
  figs: Record<string, Figure>,
  opts: { png?: boolean } = {},
): Promise<WrittenPlots> {
  await Deno.mkdir(dir, { recursive: true });
  const out: WrittenPlots = { html: [], png: [] };
  for (const [name, fig] of Object.entries(figs)) {
    const html = join(dir, `${name}.html`);
    await writeFigureHtml(html, fig, fig.layout.title?.text ?? name);
    out.html.push(html);
    if (opts.png === false || out.pngSkipped) continue;
    // The screenshot is the window: make it as tall as the figure plus the page heading.
    const height = (typeof fig.layout.height === "number" ? fig.layout.height : 500) + 150;
    const res = await renderPng(html, join(dir, `${name}.png`), { height });
    if (res.ok) out.png.push(res.path);
    else out.pngSkipped = res.reason;
  }
  return out;
}
