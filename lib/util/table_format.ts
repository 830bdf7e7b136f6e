/**
 * One formatter for tables everywhere: aligned GitHub Markdown for the terminal (readable
 * as text, renders as a table when pasted), CSV at full precision for files, and HTML for
 * notebooks. All three use {@link formatValue}: a missing value (null, undefined, NaN,
 * empty) is a blank cell, never `null` or `NaN`.
 *
 * @module
 */
import type { ColumnTable } from "arquero";
import { escapeHtml } from "./html_escape.ts";

/** Options of {@link formatValue}. */
export interface ValueFormat {
  /** Significant digits of non-integer numbers; undefined: full precision (round-trips). */
  digits?: number;
}

/** Strip trailing zeros of a fixed-point mantissa: `0.500` → `0.5`, `2.00` → `2`. */
function trimZeros(text: string): string {
  const [mantissa, exponent] = text.split("e") as [string, string | undefined];
  const m = mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
  return exponent === undefined ? m : `${m}e${exponent}`;
}

/**
 * One cell as text. Integers are shown exactly; other numbers with `digits` significant
 * digits (fixed point for 0.001 ≤ |v| < 10^digits, rounded to an integer up to 10^6,
 * exponent form outside), trailing zeros dropped, ±∞ as `inf`/`-inf`; without `digits`,
 * the shortest text that reads back to the same number (`Infinity` for ∞). Missing values
 * (null, undefined, NaN, "") are "".
 * @example
 * ```ts
 * import { formatValue } from "./table_format.ts";
 * const f = (v: unknown) => formatValue(v, { digits: 3 });
 * if ([f(0.123456), f(1234.5), f(0.00012345), f(0.5), f(null), f(NaN), f(7)].join() !==
 *     "0.123,1235,1.23e-4,0.5,,,7") throw new Error();
 * ```
 */
export function formatValue(value: unknown, opts: ValueFormat = {}): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "";
    if (!Number.isFinite(value)) {
      // CSV keeps JavaScript's spelling, which arquero and pandas both read as a number
      if (opts.digits === undefined) return String(value);
      return value > 0 ? "inf" : "-inf";
    }
    if (Object.is(value, -0)) return "0";
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
    const d = opts.digits;
    if (d === undefined) return String(value);
    const a = Math.abs(value);
    if (a >= 1e-3 && a < 10 ** d) return trimZeros(value.toPrecision(d));
    if (a >= 10 ** d && a < 1e6) return String(Math.round(value));
    return trimZeros(value.toExponential(d - 1));
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "" : value.toISOString();
  return String(value);
}

/** Whether every present value of a column is a number (such columns align right). */
function numericColumn(values: readonly unknown[]): boolean {
  let any = false;
  for (const v of values) {
    if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) continue;
    if (typeof v !== "number" && typeof v !== "bigint") return false;
    any = true;
  }
  return any;
}

/** Options of {@link formatTable} and {@link tableToHtml}. */
export interface TableFormat {
  /** Significant digits (default 3). */
  digits?: number;
  /** Columns to show, in this order (default all). */
  columns?: readonly string[];
  /** Most rows shown (default all); a note says how many there are. */
  limit?: number;
}

interface Cells {
  names: string[];
  rows: string[][];
  numeric: boolean[];
  total: number;
}

function cells(table: ColumnTable, opts: TableFormat): Cells {
  const names = [...(opts.columns ?? table.columnNames())];
  const total = table.numRows();
  const n = Math.min(total, opts.limit ?? total);
  const digits = opts.digits ?? 3;
  const columns = names.map((c) => Array.from(table.array(c) as ArrayLike<unknown>).slice(0, n));
  return {
    names,
    rows: Array.from(
      { length: n },
      (_, i) => columns.map((col) => formatValue(col[i], { digits })),
    ),
    numeric: columns.map(numericColumn),
    total,
  };
}

function moreNote(shown: number, total: number): string {
  return shown < total ? `(${shown} of ${total} rows)` : "";
}

/**
 * The table as aligned GitHub Markdown: a header, a separator that right-aligns numeric
 * columns, one padded line per row; 3 significant digits by default; blanks for missing
 * values.
 * @example
 * ```ts
 * import * as aq from "arquero";
 * import { formatTable } from "./table_format.ts";
 * const t = aq.table({ method: ["ppo", "dpo"], kl: [1.23456, null] });
 * if (formatTable(t) !== "| method |   kl |\n| ------ | ---: |\n| ppo    | 1.23 |\n| dpo    |      |") {
 *   throw new Error();
 * }
 * ```
 */
export function formatTable(table: ColumnTable, opts: TableFormat = {}): string {
  const c = cells(table, opts);
  const esc = (s: string) => s.replaceAll("|", "\\|").replace(/\r?\n/g, " ");
  const head = c.names.map(esc);
  const body = c.rows.map((r) => r.map(esc));
  const widths = head.map((h, j) => Math.max(3, h.length, ...body.map((r) => r[j]!.length)));
  const pad = (s: string, j: number) =>
    c.numeric[j] ? s.padStart(widths[j]!) : s.padEnd(widths[j]!);
  const line = (r: string[]) => `| ${r.map(pad).join(" | ")} |`;
  const sep = `| ${
    widths.map((w, j) => (c.numeric[j] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")
  } |`;
  const note = moreNote(c.rows.length, c.total);
  return [line(head), sep, ...body.map(line), ...(note ? [note] : [])].join("\n");
}

/**
 * The table as an HTML `<table>` for notebooks: numeric columns right-aligned, 3
 * significant digits by default, blanks for missing values, text escaped.
 */
export function tableToHtml(table: ColumnTable, opts: TableFormat = {}): string {
  const c = cells(table, opts);
  const align = (j: number) => (c.numeric[j] ? ' style="text-align:right"' : "");
  const head = c.names.map((h, j) => `<th${align(j)}>${escapeHtml(h)}</th>`).join("");
  const body = c.rows.map((r) =>
    `<tr>${r.map((v, j) => `<td${align(j)}>${escapeHtml(v)}</td>`).join("")}</tr>`
  ).join("\n");
  const note = moreNote(c.rows.length, c.total);
  return `<table class="kit-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n` +
    `</tbody>\n</table>${note ? `\n<p>${note}</p>` : ""}`;
}

/** A CSV field: quoted when it holds a comma, quote, line break or edge space. */
function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The table as CSV (RFC 4180, header row, `\n` line ends): numbers at full precision
 * (they read back to the same value), missing values as empty fields.
 * @example
 * ```ts
 * import * as aq from "arquero";
 * import { tableToCsv } from "./table_format.ts";
 * const t = aq.table({ a: [0.1 + 0.2, NaN], b: ["x,y", null] });
 * if (tableToCsv(t) !== 'a,b\n0.30000000000000004,"x,y"\n,\n') throw new Error();
 * ```
 */
export function tableToCsv(table: ColumnTable): string {
  const names = table.columnNames();
  const columns = names.map((c) => table.array(c) as ArrayLike<unknown>);
  const lines = [names.map(csvField).join(",")];
  for (let i = 0; i < table.numRows(); i++) {
    lines.push(columns.map((col) => csvField(formatValue(col[i]))).join(","));
  }
  return lines.join("\n") + "\n";
}
