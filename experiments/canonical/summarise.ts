/**
 * From a sweep's per-run summary to its tables, fits, figures and report: grouped over
 * seeds (`summary_by_method.csv`), Gao et al.'s fits (`gao_fits.csv`), the plots and
 * `report.html`. Also what `deno task merge` and `deno task plots` run.
 *
 * @module
 */
import { join } from "node:path";
import * as aq from "arquero";
import { readJson } from "../../lib/sweep/json_file.ts";
import { readRunCurves } from "../../lib/sweep/run_tables.ts";
import { writeCsvTable } from "../../lib/sweep/results_table.ts";
import { groupRuns } from "./analysis.ts";
import { checkpointEnvelopes, checkpointPoints, matchedKl } from "./envelope.ts";
import { type GaoFits, gaoFits } from "./gao_fits.ts";
import { writeSweepReport } from "./report.ts";
import { rebuildSweepManifest, type SweepManifest } from "./sweep_manifest.ts";
import { reportFigures, writePlots, type WrittenPlots } from "../../lib/plot/report.ts";
import type { CurvePoint } from "../../lib/plot/overlays.ts";
import type { Figure } from "../../lib/plot/figure.ts";
import { resourceError } from "../../lib/util/errors.ts";
import { SWEEP_RECORD, type SweepRecord } from "./preflight.ts";

/** The KL values (nats) at which methods' envelopes are compared (`matched_kl.csv`). */
export const MATCHED_KL: readonly number[] = [1, 2, 4, 8, 16];

/** Options of {@link summariseAndPlot}. */
export interface SummariseOptions {
  /** Title of the figures (default: the directory's name). */
  title?: string;
  /**
   * The sweep's manifest (default: the directory's `manifest.json`, else one rebuilt from
   * its runs' manifests and written there).
   */
  manifest?: SweepManifest;
  /** The report embeds plotly.js (one self-contained file) instead of sharing the plots'. */
  inlinePlotly?: boolean;
}

/** What {@link summariseAndPlot} wrote. */
export interface Summarised {
  /** Means and intervals over seeds (`summary_by_method.csv`). */
  grouped: aq.ColumnTable;
  /** The plots. */
  plots: WrittenPlots;
  /** The figures the plots were written from (for a notebook to show). */
  figs: Record<string, Figure>;
  /** Gao et al.'s fits (`gao_fits.csv`). */
  fits: GaoFits;
  /** The report page. */
  report: string;
}

/**
 * Group over seeds, write `summary_by_method.csv`, fit Gao et al.'s forms (`gao_fits.csv`),
 * draw the plots (frontier with checkpoint envelopes, over-optimisation with the fits,
 * training curves) and write the report (`report.html`).
 * @throws ResourceError naming the path when the disk is full or read-only (every file is
 *   written atomically: what exists is whole).
 */
export async function summariseAndPlot(
  root: string,
  summary: aq.ColumnTable,
  png = Deno.env.get("RLHF_PNG") !== "0",
  opts: SummariseOptions = {},
): Promise<Summarised> {
  const title = opts.title ?? root.split("/").filter(Boolean).pop() ?? "experiment";
  const grouped = groupRuns(summary);
  try {
    await writeCsvTable(grouped, join(root, "summary_by_method.csv"));
    const ids = summary.array("run_id") as string[];
    const curves = await readRunCurves(root, ids);
    const methods = summary.array("method") as string[];
    const methodOf = new Map(ids.map((id, i) => [id, methods[i]!]));
    const checkpoints = curves ? checkpointPoints(curves, summary) : [];
    const fits = gaoFits(summary, checkpoints);
    await writeCsvTable(fits.table, join(root, "gao_fits.csv"));
    const finals = (summary.objects() as Record<string, unknown>[]).map((r) => ({
      method: String(r.method),
      kl: Number(r.kl),
      reward_gold: Number(r.reward_gold),
    }));
    const matched = matchedKl(checkpoints, finals, MATCHED_KL);
    await writeCsvTable(matched, join(root, "matched_kl.csv"));
    const envelope = checkpointEnvelopes(checkpoints).objects() as {
      method: string;
      kl: number;
      reward_gold: number;
    }[];
    const figs = reportFigures(grouped, {
      title,
      metrics: curves?.derive({
        method: aq.escape((d: { run_id: string }) => methodOf.get(d.run_id) ?? ""),
      }),
      units: { gold: "VADER compound" },
      checkpoints: checkpoints.map((c): CurvePoint => ({
        method: c.method,
        kl: c.kl,
        reward: c.reward_gold,
        text: `${c.beta === null ? "" : `β=${c.beta}, `}step ${c.step}, seed ${c.seed}`,
      })),
      envelope: envelope.map((e) => ({ method: e.method, kl: e.kl, reward: e.reward_gold })),
      fits: fits.curves,
    });
    const plots = await writePlots(join(root, "plots"), figs, { images: png });
    const record = await readJson<SweepRecord>(join(root, SWEEP_RECORD)).catch(() => undefined);
    const manifest = opts.manifest ?? await rebuildSweepManifest(root, ids, {
      experiment: record?.experiment ?? title.split("_")[0]!,
      preset: record?.preset ?? "unknown",
    });
    const report = await writeSweepReport({
      root,
      summary,
      grouped,
      figs,
      plots,
      fits,
      matched,
      manifest,
      plotly: opts.inlinePlotly ? "inline" : "beside",
    });
    return { grouped, plots, figs, fits, report };
  } catch (e) {
    throw resourceError(e) ?? e; // a full disk while plotting: one line naming the path
  }
}
