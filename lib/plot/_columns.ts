/**
 * Private helpers shared by the figure builders: reading columns out of arquero tables,
 * naming axes and points, colouring series. Not re-exported.
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import { KitError, show } from "../util/errors.ts";
import type { Datum, ErrorBars } from "./figure.ts";

/**
 * The column to read for `name`: `name` itself, else `<name>_mean` (so builders take raw
 * per-run tables and seed summaries alike).
 * @throws KitError listing the table's columns when neither exists.
 */
export function resolveColumn(table: ColumnTable, name: string, what = "column"): string {
  const names = table.columnNames();
  if (names.includes(name)) return name;
  if (names.includes(`${name}_mean`)) return `${name}_mean`;
  throw new KitError(
    `the table has no ${what} ${show(name)} (nor ${show(`${name}_mean`)}); columns: ${
      names.join(", ")
    }`,
  );
}

/** A column's values as plain JS, with null/undefined/NaN/±Inf turned into `null`. */
export function columnValues(table: ColumnTable, name: string): Datum[] {
  return Array.from(table.array(name) as ArrayLike<unknown>, toDatum);
}

function toDatum(v: unknown): Datum {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  return null;
}

/** The CI columns `<base>_ci_lo`/`<base>_ci_hi` for a plotted column, if both exist. */
export function ciColumns(table: ColumnTable, column: string): [string, string] | undefined {
  const base = column.endsWith("_mean") ? column.slice(0, -"_mean".length) : column;
  const names = table.columnNames();
  const lo = `${base}_ci_lo`, hi = `${base}_ci_hi`;
  return names.includes(lo) && names.includes(hi) ? [lo, hi] : undefined;
}

/**
 * Error bars from the interval `[lo, hi]` around `mid`, drawn where `keep[i]` holds; no bar
 * (null) where a value is missing or the interval has zero width (a cap on the point
 * would suggest an interval that is not there).
 */
export function errorBars(
  mid: Datum[],
  lo: Datum[],
  hi: Datum[],
  keep: readonly boolean[],
  color: string,
): ErrorBars | undefined {
  const bar = (i: number): [number, number] | undefined => {
    const m = mid[i], l = lo[i], h = hi[i];
    if (!keep[i] || typeof m !== "number" || typeof l !== "number" || typeof h !== "number") {
      return undefined;
    }
    return h - l > 0 ? [h - m, m - l] : undefined;
  };
  const bars = mid.map((_, i) => bar(i));
  if (!bars.some((b) => b !== undefined)) return undefined;
  return {
    type: "data",
    symmetric: false,
    array: bars.map((b) => b?.[0] ?? null),
    arrayminus: bars.map((b) => b?.[1] ?? null),
    visible: true,
    thickness: 1.2,
    width: 3,
    color,
  };
}

/** Short names for label columns: `β=0.1`, `n=4`. */
const LABEL_SYMBOLS: Record<string, string> = { beta: "β", n: "n" };

/** A point label such as `β=0.1` or `n=4` (or `col=value` for other columns). */
export function pointLabel(column: string, value: Datum): string {
  return `${LABEL_SYMBOLS[column] ?? column}=${value}`;
}

/** Distinct values of a column in order of first appearance (nulls dropped). */
export function distinct(values: readonly Datum[]): Datum[] {
  const out: Datum[] = [];
  for (const v of values) if (v !== null && !out.includes(v)) out.push(v);
  return out;
}

/** Row indices in `rows` sorted by the numeric value in `key` (nulls last, stable). */
export function sortedBy(rows: number[], key: readonly Datum[]): number[] {
  const num = (i: number) => {
    const v = key[i];
    return typeof v === "number" ? v : Infinity;
  };
  return [...rows].sort((a, b) => num(a) - num(b) || a - b);
}

/** Indices of the rows whose value equals `v`. */
export function rowsWhere(values: readonly Datum[], v: Datum): number[] {
  const out: number[] = [];
  values.forEach((u, i) => {
    if (u === v) out.push(i);
  });
  return out;
}
