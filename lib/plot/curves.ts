/**
 * Training curves: one subplot per metric (metric names keep their prefixes, e.g.
 * `reward/gold`, `kl/ref`, `loss/policy`), sharing nothing but the x column, in a two-column
 * grid. With a `run` column, each run is one colour across all subplots and one legend
 * entry. Metrics logged only every few steps (evaluations) are drawn through their logged
 * points: rows where a metric is empty are skipped for that metric.
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import type { Datum, Figure, Layout, Trace } from "./figure.ts";
import { colour, columnValues, distinct, resolveColumn, rowsWhere, sortedBy } from "./_columns.ts";

/** Options of {@link curvesFigure}. */
export interface CurvesOptions {
  /** x column (default `step`). */
  x?: string;
  /** Metric columns, one subplot each, in this order. */
  ys: readonly string[];
  /** Column naming the run, for one trace per run (default: all rows are one run). */
  run?: string;
  /** Figure title. */
  title?: string;
  /** Subplot columns (default 2, or 1 for a single metric). */
  columns?: number;
}

/**
 * Metric curves against steps, one subplot per metric.
 * @param metrics one row per logged step (e.g. a run's `metrics.csv`), possibly of many runs.
 * @throws KitError when a named column is missing.
 */
export function curvesFigure(metrics: ColumnTable, opts: CurvesOptions): Figure {
  const x = resolveColumn(metrics, opts.x ?? "step", "x column");
  const ys = opts.ys.map((y) => resolveColumn(metrics, y, "metric column"));
  const xs = columnValues(metrics, x);
  const runCol = opts.run === undefined
    ? undefined
    : resolveColumn(metrics, opts.run, "run column");
  const runs: Datum[] = runCol ? columnValues(metrics, runCol) : xs.map(() => "");
  const runNames = distinct(runs.map((r) => r ?? ""));
  const columns = Math.max(1, Math.min(opts.columns ?? 2, ys.length));
  const rows = Math.max(1, Math.ceil(ys.length / columns));
  const data: Trace[] = [];
  const layout: Layout = {
    title: { text: opts.title ?? "Training curves" },
    grid: { rows, columns, pattern: "independent" },
    height: 300 * rows + 100,
    hovermode: "closest",
    showlegend: runCol !== undefined,
  };
  ys.forEach((y, k) => {
    const suffix = k === 0 ? "" : String(k + 1);
    const values = columnValues(metrics, y);
    runNames.forEach((r, j) => {
      const logged = rowsWhere(runs.map((v) => v ?? ""), r).filter((i) => values[i] !== null);
      const order = sortedBy(logged, xs);
      data.push({
        type: "scatter",
        mode: "lines",
        name: runCol ? String(r) : y,
        x: order.map((i) => xs[i] ?? null),
        y: order.map((i) => values[i] ?? null),
        xaxis: `x${suffix}`,
        yaxis: `y${suffix}`,
        line: { color: colour(j), width: 1.5 },
        legendgroup: String(r),
        showlegend: runCol !== undefined && k === 0,
      });
    });
    layout[`xaxis${suffix}`] = { title: { text: x }, zeroline: false };
    layout[`yaxis${suffix}`] = { title: { text: y }, zeroline: false };
  });
  return { data, layout };
}
