/**
 * Private helpers of the per-method figures (frontier, over-optimisation): which rows each
 * trace draws (one per method, or per method and series in a comparison), its legend name
 * and style, its error bars and the caption rows. Not re-exported.
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import type { Dash, Datum, ErrorBars } from "./figure.ts";
import { ciColumns, columnValues, distinct, errorBars, rowsWhere } from "./_columns.ts";
import { methodStyle, seriesDash } from "./style.ts";
import type { CaptionRow, KlKind, RowUncertainty } from "./intervals.ts";

/** What every per-method trace builder reads from the table. */
export interface Rows {
  /** The method of each row. */
  methods: Datum[];
  /** The x value of each row. */
  xs: Datum[];
  /** What is known of each row's uncertainty. */
  unc: RowUncertainty[];
  /** How each row's KL was obtained. */
  kl: KlKind[];
}

/** The rows one trace draws and how it looks. */
export interface TraceGroup {
  /** Method key. */
  method: string;
  /** Series value (a sweep's name in a comparison), when the figure has series. */
  series?: string;
  /** Row indices, unsorted. */
  rows: number[];
  /** Legend name before the analytic-KL note: the method's label, and the series. */
  label: string;
  /** Line and marker colour: the method's. */
  color: string;
  /** Marker symbol: the method's. */
  symbol: string;
  /** Line dash: the method's, or the series' when there are series. */
  dash: Dash;
  /** Legend group: the method, or method and series. */
  group: string;
}

/**
 * One group per method (in order of first appearance), or per method and series value when
 * `series` is given: the method's colour and marker, the series' dash.
 */
export function traceGroups(methods: readonly Datum[], series?: readonly Datum[]): TraceGroup[] {
  const seriesOrder = series ? distinct(series).map(String) : [];
  const out: TraceGroup[] = [];
  for (const m of distinct(methods)) {
    const style = methodStyle(String(m));
    const mine = rowsWhere(methods, m);
    const parts = series
      ? seriesOrder.map((s) => ({ s, rows: mine.filter((i) => String(series[i]) === s) }))
        .filter((p) => p.rows.length)
      : [{ s: undefined, rows: mine }];
    for (const { s, rows } of parts) {
      out.push({
        method: String(m),
        ...(s !== undefined ? { series: s } : {}),
        rows,
        label: s === undefined ? style.label : `${style.label} · ${s}`,
        color: style.color,
        symbol: style.symbol,
        dash: s === undefined ? style.dash : seriesDash(seriesOrder.indexOf(s)),
        group: s === undefined ? String(m) : `${m} · ${s}`,
      });
    }
  }
  return out;
}

/** Marker symbols per point: the method's, open where the point's KL is analytic. */
export function symbols(symbol: string, kl: readonly KlKind[], rows: readonly number[]): string[] {
  return rows.map((i) => (kl[i] === "analytic" ? `${symbol}-open` : symbol));
}

/** Legend name: the label, noting an analytic KL when all its points have one. */
export function legendName(label: string, kl: readonly KlKind[], rows: readonly number[]): string {
  return rows.length && rows.every((i) => kl[i] === "analytic")
    ? `${label}<br>(KL analytic)`
    : label;
}

/** Error bars for `col` on the picked rows (undefined when the table has no interval). */
export function bars(
  table: ColumnTable,
  col: string,
  mid: Datum[],
  rows: readonly number[],
  keep: readonly boolean[],
  color: string,
): ErrorBars | undefined {
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

/** The caption rows of every plotted row (with its KL kind when the x axis is KL). */
export function captionRows(r: Rows, withKl: boolean): CaptionRow[] {
  return r.methods.map((method, i) => ({
    method,
    u: r.unc[i]!,
    ...(withKl ? { kl: r.kl[i]! } : {}),
  }));
}

/** The values of an optional series column (undefined without one). */
export function seriesValues(table: ColumnTable, column?: string): Datum[] | undefined {
  return column === undefined ? undefined : columnValues(table, column);
}
