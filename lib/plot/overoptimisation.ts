/**
 * Reward over-optimisation (Gao, Schulman & Hilton 2023): gold and proxy reward against KL
 * per method, in two panels sharing the KL axis, with the fitted curves of Gao et al.'s
 * functional forms on the gold panel where the analysis fitted them.
 *
 * It takes the table the frontier takes (one row per run or per (method, β) summary;
 * interval and provenance columns as in `intervals.ts`), and every mark follows the
 * method's fixed style (`style.ts`).
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import { KitError } from "../util/errors.ts";
import type { Datum, Figure, Trace } from "./figure.ts";
import { ciColumns, columnValues, resolveColumn, sortedBy } from "./_columns.ts";
import { axisTitle, KL_TITLE, type RewardUnits } from "./style.ts";
import { readKlKinds, readUncertainty, uncertaintyCaption } from "./intervals.ts";
import {
  bars,
  captionRows,
  legendName,
  type Rows,
  seriesValues,
  symbols,
  type TraceGroup,
  traceGroups,
} from "./_method_traces.ts";
import {
  type CurvePoint,
  envelopeCaption,
  envelopeTraces,
  fitCaption,
  type FittedCurve,
  fittedTraces,
} from "./overlays.ts";

/** Options of {@link overoptimisationFigure}. */
export interface OveroptimisationOptions {
  /** x column (default `kl`). */
  x?: string;
  /** Gold reward column (default `reward_gold`). */
  gold?: string;
  /** Proxy (reward-model) reward column (default `reward_proxy`). */
  proxy?: string;
  /** Method column (default `method`). */
  method?: string;
  /** Figure title. */
  title?: string;
  /** Units of the reward axes. */
  units?: RewardUnits;
  /** Draw t-intervals computed from 2 seeds too (default false; see `intervals.ts`). */
  smallSampleIntervals?: boolean;
  /**
   * Column naming a series (the sweep, in a comparison): one trace per method and series,
   * in the method's colour and the series' dash.
   */
  series?: string;
  /**
   * Fitted over-optimisation curves (gold reward against KL, computed by the analysis),
   * drawn on the gold panel as dash-dot lines in the method's colour.
   */
  fits?: readonly FittedCurve[];
  /** Checkpoint evaluations (the RL fits' points), drawn faintly on the gold panel. */
  checkpoints?: readonly CurvePoint[];
}

/**
 * Gold and proxy reward vs KL, in two panels sharing the KL axis (the two rewards have
 * different units: the gold reward's and the reward model's logit scale): proxy on top,
 * gold below, one trace per method in its fixed style. Reward over-optimisation shows as a
 * proxy that keeps rising while gold flattens or falls (Gao et al. 2023). A method with no
 * proxy values (e.g. trained without a reward model) is drawn in the gold panel only.
 * `fits` and `checkpoints` are drawn on the gold panel; the caption says what they are.
 * @throws KitError when a named column is missing.
 */
export function overoptimisationFigure(
  table: ColumnTable,
  opts: OveroptimisationOptions = {},
): Figure {
  const x = resolveColumn(table, opts.x ?? "kl", "x column");
  const gold = resolveColumn(table, opts.gold ?? "reward_gold", "gold reward column");
  const proxy = resolveColumn(table, opts.proxy ?? "reward_proxy", "proxy reward column");
  const methodCol = resolveColumn(table, opts.method ?? "method", "method column");
  const xs = columnValues(table, x);
  const golds = columnValues(table, gold), proxies = columnValues(table, proxy);
  const hasIntervals = [x, gold, proxy].some((c) => ciColumns(table, c) !== undefined);
  const r: Rows = {
    methods: columnValues(table, methodCol),
    xs,
    unc: readUncertainty(table, { hasIntervals, smallSampleIntervals: opts.smallSampleIntervals }),
    kl: readKlKinds(table),
  };
  const series = seriesValues(
    table,
    opts.series === undefined ? undefined : resolveColumn(table, opts.series, "series column"),
  );
  const data: Trace[] = [];
  const panel = (axis: "" | "2", col: string, values: Datum[], g: TraceGroup, rows: number[]) => {
    const pick = (c: readonly Datum[]) => rows.map((i) => c[i] ?? null);
    const yv = pick(values);
    if (!yv.some((v) => v !== null)) return false;
    const keep = rows.map((i) => r.unc[i]!.drawn);
    const trace: Trace = {
      type: "scatter",
      mode: "lines+markers",
      name: legendName(g.label, r.kl, rows),
      x: pick(xs),
      y: yv,
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
      line: { color: g.color, dash: g.dash, width: 1.5 },
      marker: {
        color: g.color,
        size: 7,
        symbol: symbols(g.symbol, r.kl, rows),
        line: { color: g.color, width: 1.5 },
      },
      legendgroup: g.group,
      showlegend: false,
      hovertemplate: `KL=%{x:.3g} ${col.startsWith("reward_proxy") ? "proxy" : "gold"}=%{y:.3g}` +
        `<extra>${g.label}</extra>`,
      meta: { method: g.method, ...(g.series !== undefined ? { series: g.series } : {}) },
    };
    const ey = bars(table, col, yv, rows, keep, g.color);
    if (ey) trace.error_y = ey;
    data.push(trace);
    return true;
  };
  for (const g of traceGroups(r.methods, series)) {
    const rows = sortedBy(g.rows, xs);
    const drewProxy = panel("", proxy, proxies, g, rows);
    const drewGold = panel("2", gold, golds, g, rows);
    // One legend entry per method: on the first trace drawn for it.
    const first = data[data.length - (drewProxy && drewGold ? 2 : 1)];
    if ((drewProxy || drewGold) && first) first.showlegend = true;
  }
  if (!data.length) {
    throw new KitError(`overoptimisationFigure: the table has no rows with a ${methodCol}`);
  }
  const fits = opts.fits ?? [], checkpoints = opts.checkpoints ?? [];
  data.unshift(...envelopeTraces(checkpoints, [], { x: "x2", y: "y2" }));
  data.push(...fittedTraces(fits, { x: "x2", y: "y2" }));
  const caption = [
    "Top: proxy (reward-model) reward; bottom: gold reward.",
    uncertaintyCaption(captionRows(r, /kl/i.test(x))),
    envelopeCaption(checkpoints, []),
    fitCaption(fits),
  ].filter(Boolean).join(" ");
  return {
    data,
    layout: {
      title: {
        text: opts.title ?? "Reward over-optimisation: proxy and gold reward vs KL",
      },
      grid: { rows: 2, columns: 1, pattern: "independent" },
      xaxis: { title: { text: "" }, zeroline: false, matches: "x2", showticklabels: false },
      yaxis: { title: { text: axisTitle(proxy, opts.units) }, zeroline: false },
      xaxis2: { title: { text: x.startsWith("kl") ? KL_TITLE : axisTitle(x) }, zeroline: false },
      yaxis2: { title: { text: axisTitle(gold, opts.units) }, zeroline: false },
      hovermode: "closest",
      height: 640,
      meta: { caption },
      // wide legend items, so each series' dash shows beside its marker
      ...(series ? { legend: { itemwidth: 60 } } : {}),
    },
  };
}
