/**
 * The headline plots: gold reward against KL per method (the reward–KL frontier), with the
 * exact oracle frontier where it is known, and gold and proxy reward against KL (reward
 * over-optimisation, Gao et al. 2023).
 *
 * Both take a table with one row per run or per (method, β) summary: columns may be raw
 * (`kl`) or seed means (`kl_mean`). Error bars, their caption and the marks for analytic
 * KL come from the columns described in `intervals.ts` (`<m>_ci_lo`/`<m>_ci_hi`,
 * `ci_kind`, `ci_level`, `n_seeds`, `n_prompts`, `kl_kind`). Every mark follows the
 * method's fixed style (`style.ts`).
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import { KitError } from "../util/errors.ts";
import type { Datum, Figure, Trace } from "./figure.ts";
import {
  ciColumns,
  columnValues,
  distinct,
  errorBars,
  pointLabel,
  resolveColumn,
  rowsWhere,
  sortedBy,
} from "./_columns.ts";
import { axisTitle, KL_TITLE, methodStyle, ORACLE_LABEL, type RewardUnits } from "./style.ts";
import {
  type CaptionRow,
  type KlKind,
  readKlKinds,
  readUncertainty,
  type RowUncertainty,
  uncertaintyCaption,
} from "./intervals.ts";

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
}

/** What every per-method trace builder needs from the table. */
interface Rows {
  methods: Datum[];
  xs: Datum[];
  unc: RowUncertainty[];
  kl: KlKind[];
}

/** Marker symbols per point: the method's, open where the point's KL is analytic. */
function symbols(symbol: string, kl: readonly KlKind[], rows: readonly number[]): string[] {
  return rows.map((i) => (kl[i] === "analytic" ? `${symbol}-open` : symbol));
}

/** Legend name: the method's label, noting an analytic KL when all its points have one. */
function legendName(label: string, kl: readonly KlKind[], rows: readonly number[]): string {
  return rows.length && rows.every((i) => kl[i] === "analytic")
    ? `${label}<br>(KL analytic)`
    : label;
}

/** Error bars for `col` on the picked rows (none for analytic KL on the x axis). */
function bars(
  table: ColumnTable,
  col: string,
  mid: Datum[],
  rows: readonly number[],
  keep: readonly boolean[],
  color: string,
) {
  const ci = ciColumns(table, col);
  if (!ci) return undefined;
  const lo = columnValues(table, ci[0]), hi = columnValues(table, ci[1]);
  return errorBars(
    mid,
    rows.map((i) => lo[i] ?? null),
    rows.map((i) => hi[i] ?? null),
    keep,
    color,
  );
}

function captionRows(r: Rows, withKl: boolean): CaptionRow[] {
  return r.methods.map((method, i) => ({
    method,
    u: r.unc[i]!,
    ...(withKl ? { kl: r.kl[i]! } : {}),
  }));
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
  const data: Trace[] = distinct(r.methods).map((m) => {
    const rows = sortedBy(rowsWhere(r.methods, m), xs);
    const pick = (col: readonly Datum[]) => rows.map((i) => col[i] ?? null);
    const style = methodStyle(String(m));
    const trace: Trace = {
      type: "scatter",
      mode: "lines+markers",
      name: legendName(style.label, r.kl, rows),
      x: pick(xs),
      y: pick(ys),
      line: { color: style.color, dash: style.dash, width: 1.5 },
      marker: {
        color: style.color,
        size: 8,
        symbol: symbols(style.symbol, r.kl, rows),
        line: { color: style.color, width: 1.5 },
      },
      legendgroup: String(m),
      meta: { method: String(m) },
    };
    const text = rows.map((i) => {
      const hit = labels.find(({ v }) => v[i] !== null && v[i] !== undefined);
      return hit ? pointLabel(hit.c, hit.v[i]!) : "";
    });
    if (labels.length) {
      trace.text = text;
      trace.meta = { method: String(m), placeLabels: true };
    }
    trace.hovertemplate = `${labels.length ? "%{text}<br>" : ""}KL=%{x:.3g} reward=%{y:.3g}` +
      `<extra>${style.label}</extra>`;
    const keep = rows.map((i) => r.unc[i]!.drawn);
    const ey = bars(table, y, trace.y, rows, keep, style.color);
    // An analytic KL is exact given n: no horizontal bar even if the columns hold one.
    const keepX = rows.map((i, k) => keep[k]! && r.kl[i] !== "analytic");
    const ex = x === y ? undefined : bars(table, x, trace.x, rows, keepX, style.color);
    if (ey) trace.error_y = ey;
    if (ex) trace.error_x = ex;
    return trace;
  });
  if (opts.oracle?.length) data.push(oracleTrace(opts.oracle));
  const caption = [
    uncertaintyCaption(captionRows(r, /kl/i.test(x))),
    opts.oracle?.length ? "Dashed: the exact optimum π* over β." : "",
    opts.note ?? "",
  ].filter(Boolean).join(" ");
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Gold reward vs KL to the reference policy" },
      xaxis: { title: { text: opts.xTitle ?? axisTitle(x, opts.units) }, zeroline: false },
      yaxis: { title: { text: opts.yTitle ?? axisTitle(y, opts.units) }, zeroline: false },
      hovermode: "closest",
      height: 560,
      meta: { caption },
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
}

/**
 * Gold and proxy reward vs KL, in two panels sharing the KL axis (the two rewards have
 * different units: the gold reward's and the reward model's logit scale): proxy on top,
 * gold below, one trace per method in its fixed style. Reward over-optimisation shows as a
 * proxy that keeps rising while gold flattens or falls (Gao et al. 2023). A method with no
 * proxy values (e.g. trained without a reward model) is drawn in the gold panel only.
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
  const data: Trace[] = [];
  const panel = (axis: "" | "2", col: string, values: Datum[], m: Datum, rows: number[]) => {
    const style = methodStyle(String(m));
    const pick = (c: readonly Datum[]) => rows.map((i) => c[i] ?? null);
    const yv = pick(values);
    if (!yv.some((v) => v !== null)) return false;
    const keep = rows.map((i) => r.unc[i]!.drawn);
    const trace: Trace = {
      type: "scatter",
      mode: "lines+markers",
      name: legendName(style.label, r.kl, rows),
      x: pick(xs),
      y: yv,
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
      line: { color: style.color, dash: style.dash, width: 1.5 },
      marker: {
        color: style.color,
        size: 7,
        symbol: symbols(style.symbol, r.kl, rows),
        line: { color: style.color, width: 1.5 },
      },
      legendgroup: String(m),
      showlegend: false,
      hovertemplate: `KL=%{x:.3g} ${col.startsWith("reward_proxy") ? "proxy" : "gold"}=%{y:.3g}` +
        `<extra>${style.label}</extra>`,
      meta: { method: String(m) },
    };
    const ey = bars(table, col, yv, rows, keep, style.color);
    if (ey) trace.error_y = ey;
    data.push(trace);
    return true;
  };
  for (const m of distinct(r.methods)) {
    const rows = sortedBy(rowsWhere(r.methods, m), xs);
    const drewProxy = panel("", proxy, proxies, m, rows);
    const drewGold = panel("2", gold, golds, m, rows);
    // One legend entry per method: on the first trace drawn for it.
    const first = data[data.length - (drewProxy && drewGold ? 2 : 1)];
    if ((drewProxy || drewGold) && first) first.showlegend = true;
  }
  if (!data.length) {
    throw new KitError(`overoptimisationFigure: the table has no rows with a ${methodCol}`);
  }
  const caption = [
    "Top: proxy (reward-model) reward; bottom: gold reward.",
    uncertaintyCaption(captionRows(r, /kl/i.test(x))),
  ].join(" ");
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
    },
  };
}
