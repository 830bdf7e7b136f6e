/**
 * Results tables on disk (CSV, readable by pandas) and their summaries over seeds.
 *
 * In memory a table is an arquero `ColumnTable`. On disk it is CSV written atomically, so a
 * sweep killed mid-write leaves the old table. Reading checks the file's shape first
 * (arquero would silently pad a truncated last row) and fails with a `FileFormatError`
 * that names the file and the problem.
 *
 * @module
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { FileFormatError, KitError, show } from "../util/errors.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";
import { tableToCsv } from "../util/table_format.ts";

/**
 * Read a CSV file with a header row into a table (numbers and booleans typed).
 * @throws FileFormatError when the file is missing, empty, binary, or has rows whose
 *   field count differs from the header's (a truncated or corrupt file).
 */
export async function readCsvTable(path: string): Promise<ColumnTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new FileFormatError(`cannot read table ${path}: the file does not exist`);
    }
    throw new FileFormatError(`cannot read table ${path}: ${(e as Error).message}`);
  }
  checkCsvShape(path, text);
  try {
    return aq.fromCSV(text);
  } catch (e) {
    throw new FileFormatError(`cannot parse table ${path}: ${(e as Error).message}`);
  }
}

/**
 * Write a table as CSV, atomically: header row, RFC 4180 quoting, numbers at full precision
 * (they read back to the same doubles), missing values (null, NaN) as empty cells.
 */
export async function writeCsvTable(table: ColumnTable, path: string): Promise<void> {
  await writeTextAtomic(path, tableToCsv(table));
}

/**
 * Metric rows (one per logged step) as a CSV file, with the union of the rows' columns in
 * order of first appearance; a row that lacks a column gets NaN there (written empty).
 * @param path the CSV file, written atomically.
 * @param rows e.g. a trainer's metric rows.
 */
export async function writeMetricRows(
  path: string,
  rows: readonly Readonly<Record<string, number>>[],
): Promise<void> {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const table = aq.table(Object.fromEntries(cols.map((c) => [c, rows.map((r) => r[c] ?? NaN)])));
  await writeCsvTable(table, path);
}

/** Count fields per record (quote-aware) and compare with the header. */
function checkCsvShape(path: string, text: string): void {
  if (text.includes("\0")) {
    throw new FileFormatError(`table ${path} is not a CSV text file (it contains NUL bytes)`);
  }
  if (text.trim() === "") {
    throw new FileFormatError(`table ${path} is empty: expected a CSV header row`);
  }
  let fields = 1;
  let line = 1;
  let recordLine = 1;
  let header = -1;
  let inQuotes = false;
  const endRecord = (blank: boolean) => {
    if (header < 0) header = fields;
    else if (fields !== header && !blank) {
      throw new FileFormatError(
        `table ${path} line ${recordLine} has ${fields} fields but the header has ${header} ` +
          `(a truncated or corrupt file?)`,
      );
    }
    fields = 1;
  };
  let recordStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else inQuotes = false;
      } else if (c === "\n") line++;
    } else if (c === '"') inQuotes = true;
    else if (c === ",") fields++;
    else if (c === "\n") {
      endRecord(text.slice(recordStart, i).trim() === "");
      line++;
      recordLine = line;
      recordStart = i + 1;
    }
  }
  if (inQuotes) {
    throw new FileFormatError(
      `table ${path} ends inside a quoted field opened on line ${recordLine} (truncated?)`,
    );
  }
  if (text.slice(recordStart).trim() !== "") endRecord(false);
}

/** Two-sided 95% Student t quantiles t_{0.975, df} for df = 1..30. */
// deno-fmt-ignore
const T975 = [
  12.706204736, 4.30265273, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252,
  2.306004135, 2.262157163, 2.228138852, 2.20098516, 2.17881283, 2.160368656, 2.144786688,
  2.131449546, 2.119905299, 2.109815578, 2.10092204, 2.093024054, 2.085963447, 2.079613845,
  2.073873068, 2.06865761, 2.063898562, 2.059538553, 2.055529439, 2.051830516, 2.048407142,
  2.045229642, 2.042272456,
];
const Z975 = 1.959963984540054;

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom: tabulated for df ≤ 30;
 * beyond, the normal quantile with its first two Cornish–Fisher corrections (error < 1e-3
 * at df = 31 and shrinking as 1/df³).
 * @returns NaN for df < 1.
 */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30) return T975[Math.floor(df) - 1]!;
  const z = Z975;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** Options of {@link summariseOverSeeds}. */
export interface SummaryOptions {
  /** Columns that identify a group (everything except the seed), e.g. `["method", "beta"]`. */
  groupBy: readonly string[];
  /** Numeric columns to summarise, e.g. `["reward_gold", "kl"]`. */
  metrics: readonly string[];
}

/**
 * One row per group: `n_runs` (rows in the group; not `n`, which best-of-n uses) and, per metric, `<m>_mean`, `<m>_std`
 * (sample standard deviation), and a 95% confidence interval for the mean,
 * `<m>_ci_lo`/`<m>_ci_hi` = mean ∓ t_{0.975, k−1} · std / √k, where k counts the metric's
 * valid (non-null, non-NaN) values. With k < 2 the std and interval are empty (null).
 * Rows are ordered by the group columns.
 * @throws KitError naming a column that the table lacks.
 * @example
 * ```ts
 * import * as aq from "arquero";
 * import { summariseOverSeeds } from "./results_table.ts";
 * const runs = aq.table({ method: ["dpo", "dpo"], seed: [1, 2], reward_gold: [1, 3] });
 * const s = summariseOverSeeds(runs, { groupBy: ["method"], metrics: ["reward_gold"] });
 * // mean 2, s = √2, half-width t(1) · √2/√2 = 12.706
 * if (Math.abs(s.get("reward_gold_ci_hi", 0) - 14.706) > 1e-3) throw new Error();
 * ```
 */
export function summariseOverSeeds(table: ColumnTable, opts: SummaryOptions): ColumnTable {
  const columns = table.columnNames();
  for (const c of [...opts.groupBy, ...opts.metrics]) {
    if (!columns.includes(c)) {
      throw new KitError(
        `summariseOverSeeds: the table has no column ${show(c)}; columns: ${columns.join(", ")}`,
      );
    }
  }
  const rollup: Record<string, unknown> = { n_runs: aq.op.count() };
  for (const m of opts.metrics) {
    rollup[`${m}_mean`] = aq.op.mean(m);
    rollup[`${m}_std`] = aq.op.stdev(m);
    rollup[`${m}__k`] = aq.op.valid(m);
  }
  // deno-lint-ignore no-explicit-any
  let out = table.groupby(...opts.groupBy).rollup(rollup as any);
  for (const m of opts.metrics) {
    const half = (d: Record<string, number | undefined>) => {
      const k = d[`${m}__k`] ?? 0;
      const s = d[`${m}_std`];
      return k >= 2 && s !== undefined && s !== null && Number.isFinite(s)
        ? tQuantile975(k - 1) * s / Math.sqrt(k)
        : undefined;
    };
    const bound = (sign: number) =>
      aq.escape((d: Record<string, number | undefined>) => {
        const h = half(d);
        return h === undefined ? null : d[`${m}_mean`]! + sign * h;
      });
    out = out.derive({
      [`${m}_std`]: aq.escape((d: Record<string, number | undefined>) =>
        (d[`${m}__k`] ?? 0) >= 2 ? d[`${m}_std`] : null
      ),
      [`${m}_ci_lo`]: bound(-1),
      [`${m}_ci_hi`]: bound(+1),
    });
  }
  const order = [
    ...opts.groupBy,
    "n_runs",
    ...opts.metrics.flatMap((m) => [`${m}_mean`, `${m}_std`, `${m}_ci_lo`, `${m}_ci_hi`]),
  ];
  return out.ungroup().select(order).orderby(...opts.groupBy);
}

/** Options of {@link mergeSummaries}. */
export interface MergeOptions {
  /** The column that identifies a run; rows with a repeated id keep the first. */
  idColumn?: string;
}

/**
 * Concatenate per-shard summary tables (one row per run), keeping the first row of each
 * run id, for `deno task merge`. Columns are the union over files, in first-seen order;
 * a column missing from a file is empty there.
 * @param paths CSV files, e.g. one `summary.csv` per shard.
 * @throws FileFormatError when a file is unreadable, corrupt or lacks the id column.
 */
export async function mergeSummaries(
  paths: readonly string[],
  opts: MergeOptions = {},
): Promise<ColumnTable> {
  const id = opts.idColumn ?? "run_id";
  const names: string[] = [];
  const rows: Record<string, unknown>[] = [];
  const seen = new Set<unknown>();
  for (const path of paths) {
    const t = await readCsvTable(path);
    if (!t.columnNames().includes(id)) {
      throw new FileFormatError(
        `summary ${path} has no ${show(id)} column to identify runs; columns: ${
          t.columnNames().join(", ")
        }`,
      );
    }
    for (const c of t.columnNames()) if (!names.includes(c)) names.push(c);
    for (const row of t.objects() as Record<string, unknown>[]) {
      if (seen.has(row[id])) continue;
      seen.add(row[id]);
      rows.push(row);
    }
  }
  return aq.from(rows.map((r) => Object.fromEntries(names.map((c) => [c, r[c] ?? null]))), names);
}
