/**
 * The headline plot: gold reward against KL per method (the reward–KL frontier), with each
 * method's checkpoint envelope where the sweep logged checkpoint evaluations, and the exact
 * oracle frontier where it is known. (Gold and proxy reward against KL, the
 * over-optimisation figure, is in `overoptimisation.ts`.)
 *
 * It takes a table with one row per run or per (method, β) summary: columns may be raw
 * (`kl`) or seed means (`kl_mean`). Error bars, their caption and the marks for analytic
 * KL come from the columns described in `intervals.ts` (`<m>_ci_lo`/`<m>_ci_hi`,
 * `ci_kind`, `ci_level`, `n_seeds`, `n_prompts`, `kl_kind`). Every mark follows the
 * method's fixed style (`style.ts`).
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import type { Datum, Figure, Trace } from "./figure.ts";
import { ciColumns, columnValues, pointLabel, resolveColumn, sortedBy } from "./_columns.ts";
import { axisTitle, methodStyle, ORACLE_LABEL, type RewardUnits } from "./style.ts";
import { readKlKinds, readUncertainty, uncertaintyCaption } from "./intervals.ts";
import {
  bars,
  captionRows,
  legendName,
  type Rows,
  seriesValues,
  symbols,
  traceGroups,
} from "./_method_traces.ts";
import { type CurvePoint, envelopeCaption, envelopeTraces } from "./overlays.ts";
import { klFrame } from "./_kl_frame.ts";

/** One point of the exact frontier π*_β (from the enumerable bandit). */
export interface OraclePoint {
  /** KL(π*_β ‖ π_ref). */
  kl: number;
  /** Expected gold reward under π*_β. */
  reward: number;
  /** The β that produced it, shown on hover. */
  beta?: number;
}

/** Options of {@link frontierFigure}. */
export interface FrontierOptions {
  /** x column (default `kl`; `kl_mean` is found automatically). */
  x?: string;
  /** y column (default `reward_gold`). */
  y?: string;
  /** Column naming the method; one trace per value (default `method`). */
  method?: string;
  /**
   * Column(s) for point labels, e.g. `"beta"` (`β=0.1`) or `"n"` (`n=4`). With a list, each
   * point uses the first one that has a value, so `["beta", "n"]` labels PPO/DPO points by
   * β and best-of-n points by n in one table. Labels are drawn where they fit without
   * overlapping at each output size and are always on hover.
   */
  label?: string | readonly string[];
  /** The exact frontier, drawn as a dashed black line. */
  oracle?: readonly OraclePoint[];
  /** Figure title. */
  title?: string;
  /** x-axis title (default: a readable name of the x column, with its unit). */
  xTitle?: string;
  /** y-axis title (default: a readable name of the y column, with its unit). */
  yTitle?: string;
  /** Units of the reward axes. */
  units?: RewardUnits;
  /** Draw t-intervals computed from 2 seeds too (default false; see `intervals.ts`). */
  smallSampleIntervals?: boolean;
  /** A sentence added to the caption. */
  note?: string;
  /**
   * Column naming a series (the sweep, in a comparison): one trace per method and series,
   * in the method's colour and marker and the series' dash, named `<method> · <series>`.
   */
  series?: string;
  /** Checkpoint evaluations, drawn as small faint points in their method's colour. */
  checkpoints?: readonly CurvePoint[];
  /**
   * Each method's checkpoint envelope: its vertices in order of KL, drawn as a pale band
   * in the method's colour (computed by the analysis; see `overlays.ts`).
   */
  envelope?: readonly CurvePoint[];
}

/**
 * Gold reward vs KL: per method, markers in its fixed style joined in order of x, labelled
 * by β or n, with error bars where the table has intervals; open markers where KL is
 * analytic; the oracle frontier as a dashed black line. The caption (`layout.meta.caption`)
 * states the interval, its level and the seed/prompt counts.
 * @param table one row per run or per summary group.
 * @throws KitError when a named column is missing or an interval column has a bad value.
 * @example
 * ```ts
 * import * as aq from "arquero";
 * import { frontierFigure } from "./frontier.ts";
 * const t = aq.table({ method: ["ppo", "ppo"], beta: [0.1, 0.5], kl: [2, 0.5], reward_gold: [0.6, 0.3] });
 * const fig = frontierFigure(t, { label: "beta", oracle: [{ kl: 0, reward: 0 }, { kl: 3, reward: 0.8 }] });
 * if (fig.data[0]?.text?.[0] !== "β=0.5" || fig.data[1]?.line?.dash !== "dash") throw new Error();
 * ```
 */
export function frontierFigure(table: ColumnTable, opts: FrontierOptions = {}): Figure {
  const x = resolveColumn(table, opts.x ?? "kl", "x column");
  const y = resolveColumn(table, opts.y ?? "reward_gold", "y column");
  const methodCol = resolveColumn(table, opts.method ?? "method", "method column");
  const labelCols = opts.label === undefined
    ? []
    : (typeof opts.label === "string" ? [opts.label] : [...opts.label]).map((c) =>
      resolveColumn(table, c, "label column")
    );
  const xs = columnValues(table, x), ys = columnValues(table, y);
  const hasIntervals = ciColumns(table, x) !== undefined || ciColumns(table, y) !== undefined;
  const r: Rows = {
    methods: columnValues(table, methodCol),
    xs,
    unc: readUncertainty(table, { hasIntervals, smallSampleIntervals: opts.smallSampleIntervals }),
    kl: readKlKinds(table),
  };
  const labels = labelCols.map((c) => ({ c, v: columnValues(table, c) }));
  const series = seriesValues(
    table,
    opts.series === undefined ? undefined : resolveColumn(table, opts.series, "series column"),
  );
  const data: Trace[] = envelopeTraces(opts.checkpoints ?? [], opts.envelope ?? []);
  for (const g of traceGroups(r.methods, series)) {
    const rows = sortedBy(g.rows, xs);
    const pick = (col: readonly Datum[]) => rows.map((i) => col[i] ?? null);
    const trace: Trace = {
      type: "scatter",
      mode: "lines+markers",
      name: legendName(g.label, r.kl, rows),
      x: pick(xs),
      y: pick(ys),
      line: { color: g.color, dash: g.dash, width: 1.5 },
      marker: {
        color: g.color,
        size: 8,
        symbol: symbols(g.symbol, r.kl, rows),
        line: { color: g.color, width: 1.5 },
      },
      legendgroup: g.group,
      meta: { method: g.method, ...(g.series !== undefined ? { series: g.series } : {}) },
    };
    const text = rows.map((i) => {
      const hit = labels.find(({ v }) => v[i] !== null && v[i] !== undefined);
      return hit ? pointLabel(hit.c, hit.v[i]!) : "";
    });
    if (labels.length) {
      trace.text = text;
      trace.meta = { ...trace.meta, placeLabels: true };
    }
    trace.hovertemplate = `${labels.length ? "%{text}<br>" : ""}KL=%{x:.3g} reward=%{y:.3g}` +
      `<extra>${g.label}</extra>`;
    const keep = rows.map((i) => r.unc[i]!.drawn);
    const ey = bars(table, y, trace.y, rows, keep, g.color);
    // An analytic KL is exact given n: no horizontal bar even if the columns hold one.
    const keepX = rows.map((i, k) => keep[k]! && r.kl[i] !== "analytic");
    const ex = x === y ? undefined : bars(table, x, trace.x, rows, keepX, g.color);
    if (ey) trace.error_y = ey;
    if (ex) trace.error_x = ex;
    data.push(trace);
  }
  if (opts.oracle?.length) data.push(oracleTrace(opts.oracle));
  const frame = /kl/i.test(x) ? klFrame(data) : { note: "" };
  const caption = [
    uncertaintyCaption(captionRows(r, /kl/i.test(x))),
    envelopeCaption(opts.checkpoints ?? [], opts.envelope ?? []),
    opts.oracle?.length ? "Dashed: the exact optimum π* over β." : "",
    frame.note,
    opts.note ?? "",
  ].filter(Boolean).join(" ");
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Gold reward vs KL to the reference policy" },
      xaxis: {
        title: { text: opts.xTitle ?? axisTitle(x, opts.units) },
        zeroline: false,
        ...(frame.range ? { range: frame.range } : {}),
      },
      yaxis: { title: { text: opts.yTitle ?? axisTitle(y, opts.units) }, zeroline: false },
      hovermode: "closest",
      height: 560,
      meta: { caption },
      // wide legend items, so each series' dash shows beside its marker
      ...(series ? { legend: { itemwidth: 60 } } : {}),
    },
  };
}

/** The exact frontier as a dashed black line, sorted by KL. */
function oracleTrace(points: readonly OraclePoint[]): Trace {
  const pts = [...points].sort((a, b) => a.kl - b.kl);
  const style = methodStyle("oracle");
  return {
    type: "scatter",
    mode: "lines",
    name: ORACLE_LABEL,
    x: pts.map((p) => p.kl),
    y: pts.map((p) => p.reward),
    text: pts.map((p) => (p.beta === undefined ? "" : pointLabel("beta", p.beta))),
    hovertemplate: "%{text} KL=%{x:.3g} reward=%{y:.3g}<extra>π*</extra>",
    line: { color: style.color, dash: style.dash, width: 1.5 },
    legendgroup: "oracle",
    meta: { method: "oracle" },
  };
}
