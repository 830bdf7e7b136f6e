/**
 * Preference data as an arquero table, and its CSV / JSON / JSONL files. The columns, and
 * how rows without the optional ones are read, are in preference_columns.ts
 * ({@link PreferenceRow}).
 *
 * Files are what pandas reads (`pd.read_csv`, `pd.read_json(lines=True)`,
 * `pd.read_json`); writes are atomic (temp file + rename). Loading checks every row and
 * reports all bad rows at once, with their line numbers, in one FileFormatError. The CSV
 * reader is an RFC 4180 parser of its own (_preference_records.ts), which knows the line
 * each record starts on and keeps every text field a string.
 *
 * @module
 */
import * as aq from "arquero";
import { writeTextAtomic } from "../util/atomic_write.ts";
import { ConfigError, FileFormatError, show } from "../util/errors.ts";
import {
  BOOLEAN_COLUMNS,
  ID_COLUMNS,
  OPTIONAL_COLUMNS,
  type PreferenceRow,
  REQUIRED_COLUMNS,
} from "./preference_columns.ts";
import { csvRecords, jsonRecords } from "./_preference_records.ts";
import { BOOLEAN_NAMES, checkRow, joinProblems } from "./_preference_rows.ts";

/** File extensions {@link savePreferences} and {@link loadPreferences} understand. */
export const PREFERENCE_EXTENSIONS = [".csv", ".json", ".jsonl"] as const;

/**
 * Build a preference table from rows. Optional columns appear when any row has them
 * (missing numbers become NaN, missing booleans their {@link BOOLEAN_COLUMNS} default).
 * @throws ConfigError listing rows (0-based) whose prompt/chosen/rejected are missing,
 *   not strings or empty.
 * @example
 * ```ts
 * import { preferenceTable } from "./preference_table.ts";
 * const t = preferenceTable([{ prompt: "the film", chosen: "was good", rejected: "was bad" }]);
 * if (t.numRows() !== 1) throw new Error();
 * ```
 */
export function preferenceTable(rows: readonly PreferenceRow[]): aq.ColumnTable {
  const problems: string[] = [];
  rows.forEach((row, i) =>
    checkRow(row as unknown as Record<string, unknown>, `row ${i}`, problems)
  );
  if (problems.length) throw new ConfigError(`preferenceTable: ${joinProblems(problems)}`);
  const columns: Record<string, unknown[]> = {};
  for (const c of REQUIRED_COLUMNS) columns[c] = rows.map((r) => r[c]);
  for (const c of OPTIONAL_COLUMNS) {
    if (rows.some((r) => r[c] !== undefined)) columns[c] = rows.map((r) => r[c] ?? NaN);
  }
  for (const c of BOOLEAN_NAMES) {
    if (rows.some((r) => r[c] !== undefined)) {
      columns[c] = rows.map((r) => r[c] ?? BOOLEAN_COLUMNS[c]);
    }
  }
  for (const c of ID_COLUMNS) {
    if (rows.some((r) => r[c] !== undefined)) columns[c] = rows.map((r) => r[c] ?? null);
  }
  return aq.table(columns);
}

/**
 * Write a preference table to `path`, atomically: `.csv` (RFC 4180 quoting), `.json`
 * (an array of row objects; NaN is written as null) or `.jsonl` (one object per line).
 * @throws FileFormatError for another extension; ConfigError when a required column is
 *   missing from the table.
 */
export async function savePreferences(table: aq.ColumnTable, path: string): Promise<void> {
  const ext = extensionOf(path);
  const missing = REQUIRED_COLUMNS.filter((c) => !table.columnNames().includes(c));
  if (missing.length) {
    throw new ConfigError(
      `savePreferences(${path}): table lacks required column(s) ${missing.map(show).join(", ")}`,
    );
  }
  let text: string;
  if (ext === ".csv") text = aq.toCSV(table);
  else if (ext === ".json") text = JSON.stringify(table.objects()) + "\n";
  else text = table.objects().map((o) => JSON.stringify(o) + "\n").join("");
  await writeTextAtomic(path, text);
}

/**
 * Read a preference file written by {@link savePreferences} or by hand (`.csv`, `.json`,
 * `.jsonl`). Columns prompt, chosen and rejected are required and must be non-empty in
 * every row, and chosen must differ from rejected; gold_chosen, gold_rejected and
 * p_correct are optional finite numbers (empty, `NaN` or null → NaN, unknown), written as
 * decimals (not hex, not Infinity, not blank), p_correct a probability in [0, 1]; tie,
 * chosen_finished and rejected_finished are optional booleans (empty or null → their
 * default); other columns are kept as they are (CSV: strings). A file with a NUL byte, or
 * a CSV row with fewer fields than the header (a truncated file), is refused.
 * @throws FileFormatError naming the file and, for bad rows, every line number at once,
 *   e.g. `prefs.csv: line 4: empty "chosen"; line 7: missing "rejected"`. Also for a
 *   missing file, an unknown extension, bad JSON (with its line), a missing required
 *   column (named) and a file with no rows. JSON arrays report `row N` (1-based).
 */
export async function loadPreferences(path: string): Promise<aq.ColumnTable> {
  const ext = extensionOf(path);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new FileFormatError(`${path}: file not found`);
    throw new FileFormatError(`${path}: cannot read (${(e as Error).message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte-order mark from Excel
  const nul = text.indexOf("\0");
  if (nul >= 0) {
    const line = text.slice(0, nul).split("\n").length;
    throw new FileFormatError(
      `${path}: line ${line}: contains a NUL byte (a binary or corrupt file, not text)`,
    );
  }
  const records = ext === ".csv" ? csvRecords(text, path) : jsonRecords(text, path, ext);
  if (records.length === 0) throw new FileFormatError(`${path}: no rows`);

  const names: string[] = [];
  for (const r of records) {
    for (const k of Object.keys(r.row)) if (!names.includes(k)) names.push(k);
  }
  const absent = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
  if (absent.length) {
    throw new FileFormatError(
      `${path}: missing required column${absent.length > 1 ? "s" : ""} ` +
        `${absent.map(show).join(", ")}; found ${names.map(show).join(", ") || "none"}`,
    );
  }
  const problems: string[] = [];
  for (const r of records) {
    if (r.problem) problems.push(`${r.where}: ${r.problem}`);
    else checkRow(r.row, r.where, problems, true);
  }
  if (problems.length) throw new FileFormatError(`${path}: ${joinProblems(problems)}`);

  const known: readonly string[] = [
    ...REQUIRED_COLUMNS,
    ...OPTIONAL_COLUMNS,
    ...BOOLEAN_NAMES,
    ...ID_COLUMNS,
  ];
  const order = [
    ...known.filter((c) => names.includes(c)),
    ...names.filter((c) => !known.includes(c)),
  ];
  const columns: Record<string, unknown[]> = {};
  for (const c of order) {
    const optional = (OPTIONAL_COLUMNS as readonly string[]).includes(c);
    const fallback = c in BOOLEAN_COLUMNS
      ? BOOLEAN_COLUMNS[c as keyof typeof BOOLEAN_COLUMNS]
      : optional
      ? NaN
      : null;
    columns[c] = records.map((r) => r.row[c] ?? fallback);
  }
  return aq.table(columns);
}

function extensionOf(path: string): (typeof PREFERENCE_EXTENSIONS)[number] {
  const m = path.toLowerCase().match(/\.[^./\\]+$/);
  const ext = m ? m[0] : "";
  if ((PREFERENCE_EXTENSIONS as readonly string[]).includes(ext)) {
    return ext as (typeof PREFERENCE_EXTENSIONS)[number];
  }
  throw new FileFormatError(
    `${path}: unknown extension ${show(ext || "(none)")}; allowed: ${
      PREFERENCE_EXTENSIONS.join(", ")
    }`,
  );
}
