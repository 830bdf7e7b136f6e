/**
 * Training curves: one subplot per metric (metric names keep their prefixes, e.g.
 * `reward/gold`, `kl/ref`, `loss/policy`), sharing nothing but the x column, in a two-column
 * grid. With a `method` column each run is drawn in its method's fixed colour and dash
 * with one legend entry per method; with only a `run` column each run gets its own colour,
 * picked by a hash of its name (stable across figures). Metrics logged only every few steps
 * (evaluations) are drawn through their logged points: rows where a metric is empty are
 * skipped for that metric, and a run that never logs a metric has no trace in its subplot.
 *
 * Metrics of several runs are stacked with {@link stackTables}, which keeps every run's
 * columns (arquero's `concat` keeps only the first table's).
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import type { Datum, Figure, Layout, Trace } from "./figure.ts";
import { columnValues, distinct, resolveColumn, rowsWhere, sortedBy } from "./_columns.ts";
import { axisTitle, methodStyle, type RewardUnits, seriesDash } from "./style.ts";
import { stackTables } from "../sweep/run_tables.ts";

/** Options of {@link curvesFigure}. */
export interface CurvesOptions {
  /** x column (default `step`). */
  x?: string;
  /** Metric columns, one subplot each, in this order. */
  ys: readonly string[];
  /** Column naming the run, for one trace per run (default: all rows are one run). */
  run?: string;
  /**
   * Column naming each run's method (default `method` when the table has it): runs are
   * drawn in the method's style, with one legend entry per method.
   */
  method?: string;
  /** Figure title. */
  title?: string;
  /** Subplot columns (default 2, or 1 for a single metric). */
  columns?: number;
  /** Units of the reward axes. */
  units?: RewardUnits;
  /**
   * Column naming each run's series (the sweep, in a comparison): with a method column,
   * runs keep their method's colour and take the series' dash ({@link seriesDash}), with
   * one legend entry per method and series (`PPO · sweep-a`).
   */
  series?: string;
}

/**
 * Metric curves against steps, one subplot per metric.
 * @param metrics one row per logged step (e.g. a run's `metrics.csv`), possibly of many
 *   runs; a list of tables is stacked with the union of their columns.
 * @throws KitError when a named column is missing.
 */
export function curvesFigure(
  metrics: ColumnTable | readonly ColumnTable[],
  opts: CurvesOptions,
): Figure {
  const table = Array.isArray(metrics)
    ? stackTables(metrics as readonly ColumnTable[])
    : metrics as ColumnTable;
  const x = resolveColumn(table, opts.x ?? "step", "x column");
  const ys = opts.ys.map((y) => resolveColumn(table, y, "metric column"));
  const xs = columnValues(table, x);
  const runCol = opts.run === undefined ? undefined : resolveColumn(table, opts.run, "run column");
  const methodCol = opts.method !== undefined
    ? resolveColumn(table, opts.method, "method column")
    : table.columnNames().includes("method")
    ? "method"
    : undefined;
  const runs: Datum[] = runCol ? columnValues(table, runCol) : xs.map(() => "");
  const methods: Datum[] | undefined = methodCol ? columnValues(table, methodCol) : undefined;
  const seriesCol = opts.series === undefined
    ? undefined
    : resolveColumn(table, opts.series, "series column");
  const series = seriesCol ? columnValues(table, seriesCol).map((v) => String(v ?? "")) : [];
  const seriesOrder = distinct(series);
  const runNames = distinct(runs.map((r) => r ?? ""));
  const columns = Math.max(1, Math.min(opts.columns ?? 2, ys.length));
  const rows = Math.max(1, Math.ceil(ys.length / columns));
  const data: Trace[] = [];
  const legendShown = new Set<string>();
  const layout: Layout = {
    title: { text: opts.title ?? "Training curves" },
    grid: { rows, columns, pattern: "independent" },
    height: 240 * rows + 120,
    hovermode: "closest",
    showlegend: runCol !== undefined || methodCol !== undefined,
    // wide legend items, so each series' dash shows
    ...(seriesCol ? { legend: { itemwidth: 60 } } : {}),
  };
  const annotations: Record<string, unknown>[] = [];
  ys.forEach((y, k) => {
    const suffix = k === 0 ? "" : String(k + 1);
    const values = columnValues(table, y);
    for (const r of runNames) {
      const mine = rowsWhere(runs.map((v) => v ?? ""), r);
      const logged = mine.filter((i) => values[i] !== null);
      if (!logged.length && (runCol || methodCol)) continue;
      const order = sortedBy(logged, xs);
      const method = methods ? String(methods[mine[0] ?? -1] ?? "") : undefined;
      const s = seriesCol ? series[mine[0] ?? -1] : undefined;
      const style = methodStyle(method ?? (runCol ? String(r) : y));
      const label = method !== undefined ? style.label : runCol ? String(r) : y;
      const group = s === undefined ? method ?? String(r) : `${method ?? r} · ${s}`;
      const show = (runCol !== undefined || methodCol !== undefined) && !legendShown.has(group);
      legendShown.add(group);
      data.push({
        type: "scatter",
        mode: "lines",
        name: s === undefined || method === undefined ? label : `${label} · ${s}`,
        x: order.map((i) => xs[i] ?? null),
        y: order.map((i) => values[i] ?? null),
        xaxis: `x${suffix}`,
        yaxis: `y${suffix}`,
        line: {
          color: style.color,
          dash: s === undefined ? style.dash : seriesDash(seriesOrder.indexOf(s)),
          width: 1.5,
        },
        legendgroup: group,
        showlegend: show,
        hovertemplate: `${runCol ? `${r}<br>` : ""}${x}=%{x} ${y}=%{y:.4g}<extra></extra>`,
        ...(method !== undefined
          ? { meta: { method, ...(s !== undefined ? { series: s } : {}) } }
          : {}),
      });
    }
    // The metric names its subplot from above; only the bottom subplot of each column
    // names the shared x quantity, so rows sit closer together.
    annotations.push({
      text: axisTitle(y, opts.units),
      xref: `x${suffix} domain`,
      yref: `y${suffix} domain`,
      x: 0,
      y: 1,
      xanchor: "left",
      yanchor: "bottom",
      yshift: 4,
      showarrow: false,
    });
    const bottom = k + columns >= ys.length;
    layout[`xaxis${suffix}`] = { title: { text: bottom ? axisTitle(x) : "" }, zeroline: false };
    layout[`yaxis${suffix}`] = { title: { text: "" }, zeroline: false };
  });
  layout.annotations = annotations;
  const nRuns = runCol ? runNames.length : 1;
  layout.meta = {
    subplotTitles: true,
    caption: methodCol
      ? `One line per run (${nRuns} runs), coloured by method` +
        (seriesCol ? `, dashed by ${seriesCol}` : "") +
        `; a metric a method does not log has no line.`
      : runCol
      ? `One line per run (${nRuns} runs).`
      : "",
  };
  return { data, layout };
}
